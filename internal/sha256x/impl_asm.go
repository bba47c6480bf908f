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

// pendingShapes is the number of record shapes (see leafShape) for which
// leavesAsm holds a record back to pair it with a later one of the same
// shape: records of up to 7 full blocks, that is about 470 bytes. Longer
// records are hashed one at a time.
const pendingShapes = 16

// leavesAsm computes the leaf hashes two at a time: records are paired by
// shape (the same numbers of full and tail blocks), not by position, so a
// batch of records of varied lengths still runs almost entirely
// interleaved. At most one record per shape waits for a partner; the
// ones left at the end are hashed alone.
func leavesAsm(dst [][32]byte, data [][]byte) {
	var (
		tails   [pendingShapes + 1][2 * blockSize]byte // the last one is scratch
		pending [pendingShapes]int                     // 1 + index of the waiting record, or 0
	)
	data = data[:len(dst)]
	for i, d := range data {
		nfull, ntail := leafShape(len(d))
		shape := 2*nfull + ntail - 1
		if shape >= pendingShapes {
			tail := &tails[pendingShapes]
			leafTail(d, tail)
			leafAsm(&dst[i], unsafe.SliceData(d), nfull, tail, ntail)
			continue
		}
		if pending[shape] == 0 {
			leafTail(d, &tails[shape])
			pending[shape] = i + 1
			continue
		}
		j := pending[shape] - 1
		pending[shape] = 0
		tail := &tails[pendingShapes]
		leafTail(d, tail)
		leaf2Asm(&dst[j], unsafe.SliceData(data[j]), &tails[shape], &dst[i], unsafe.SliceData(d), tail, nfull, ntail)
	}
	for shape, p := range pending {
		if p != 0 {
			j := p - 1
			leafAsm(&dst[j], unsafe.SliceData(data[j]), shape/2, &tails[shape], shape%2+1)
		}
	}
}
