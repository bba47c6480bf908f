//go:build (amd64 || arm64) && !purego

package sha256x

import "unsafe"

//go:generate sh -c "go run ./_gen amd64 > sha256x_amd64.s"
//go:generate sh -c "go run ./_gen arm64 > sha256x_arm64.s"

// haveAsm reports whether this build contains assembly (which is used when
// useAsm, the CPU check, says so).
const haveAsm = true

// nodeAsm sets *out = Node(left, right).
//
//go:noescape
func nodeAsm(out, left, right *[32]byte)

// nodesAsm hashes n >= 1 nodes: the hashes at src (2n of them, contiguous)
// into the n hashes at dst, two at a time.
//
//go:noescape
func nodesAsm(dst, src *[32]byte, n int)

// leafAsm sets *out to the leaf hash whose message is nfull blocks read
// from p (see leafTail) followed by ntail >= 1 blocks at tail.
//
//go:noescape
func leafAsm(out *[32]byte, p *byte, nfull int, tail *[2 * blockSize]byte, ntail int)

// leaf2Asm is leafAsm for two leaves of the same shape (equal nfull and
// ntail), interleaved.
//
//go:noescape
func leaf2Asm(out1 *[32]byte, p1 *byte, tail1 *[2 * blockSize]byte, out2 *[32]byte, p2 *byte, tail2 *[2 * blockSize]byte, nfull, ntail int)

// leafAsmGo is Leaf with the assembly.
func leafAsmGo(data []byte) (out [32]byte) {
	var tail [2 * blockSize]byte
	nfull, ntail := leafTail(data, &tail)
	leafAsm(&out, unsafe.SliceData(data), nfull, &tail, ntail)
	return out
}

// leavesAsm computes the leaf hashes two at a time: two records with the
// same number of blocks (the usual case in a batch of similar records) are
// hashed interleaved, others one after the other.
func leavesAsm(dst [][32]byte, data [][]byte) {
	var tailA, tailB [2 * blockSize]byte
	i := 0
	for ; i+1 < len(dst); i += 2 {
		a, b := data[i], data[i+1]
		fullA, nA := leafTail(a, &tailA)
		fullB, nB := leafTail(b, &tailB)
		if fullA == fullB && nA == nB {
			leaf2Asm(&dst[i], unsafe.SliceData(a), &tailA, &dst[i+1], unsafe.SliceData(b), &tailB, fullA, nA)
		} else {
			leafAsm(&dst[i], unsafe.SliceData(a), fullA, &tailA, nA)
			leafAsm(&dst[i+1], unsafe.SliceData(b), fullB, &tailB, nB)
		}
	}
	if i < len(dst) {
		dst[i] = leafAsmGo(data[i])
	}
}
