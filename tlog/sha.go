package tlog

import (
	"crypto/sha256"
	"unsafe"
)

// leafHash, nodeHash, leafHashes and nodeHashes are the only places where
// SHA-256 is called, so a faster implementation plugs in here.

func leafHash(data []byte) Hash {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

func nodeHash(left, right *Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = 1
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return sha256.Sum256(buf[:])
}

// leafHashes sets dst[i] = leafHash(data[i]) for i < len(dst).
func leafHashes(dst []Hash, data [][]byte) {
	for i := range dst {
		dst[i] = leafHash(data[i])
	}
}

// nodeHashes sets dst[i] = nodeHash(&src[2i], &src[2i+1]) for i < len(dst).
// dst may be src[:len(dst)].
func nodeHashes(dst, src []Hash) {
	for i := range dst {
		dst[i] = nodeHash(&src[2*i], &src[2*i+1])
	}
}

// raw views a []Hash as the [][32]byte that internal/sha256x works on,
// without copying. Hash's underlying type is [32]byte, so the memory layout
// is identical.
func raw(h []Hash) [][32]byte {
	return unsafe.Slice((*[32]byte)(unsafe.SliceData(h)), len(h))
}

var _ = raw
