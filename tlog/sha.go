package tlog

import (
	"unsafe"

	"github.com/tlogkit/tlogkit/internal/sha256x"
)

// leafHash, nodeHash, leafHashes and nodeHashes are the only places where
// SHA-256 is computed. They call internal/sha256x, which specialises
// SHA-256 for the two message shapes of the tree (SHA-NI assembly on amd64
// CPUs that have it, portable Go elsewhere) and keeps two independent
// hashes in flight in the batch forms. None of them allocates.

func leafHash(data []byte) Hash {
	return sha256x.Leaf(data)
}

func nodeHash(left, right *Hash) Hash {
	return sha256x.Node((*[32]byte)(left), (*[32]byte)(right))
}

// leafHashes sets dst[i] = leafHash(data[i]) for i < len(dst);
// len(data) >= len(dst).
func leafHashes(dst []Hash, data [][]byte) {
	sha256x.Leaves(raw(dst), data)
}

// nodeHashes sets dst[i] = nodeHash(&src[2i], &src[2i+1]) for i < len(dst);
// len(src) >= 2*len(dst). dst may be src[:len(dst)].
func nodeHashes(dst, src []Hash) {
	sha256x.Nodes(raw(dst), raw(src))
}

// raw views a []Hash as the [][32]byte that internal/sha256x works on,
// without copying: Hash's underlying type is [32]byte, so the memory
// layout is identical.
func raw(h []Hash) [][32]byte {
	return unsafe.Slice((*[32]byte)(unsafe.SliceData(h)), len(h))
}
