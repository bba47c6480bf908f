//go:build amd64 && !purego

package sha256x

import "unsafe"

//go:generate sh -c "go run ./_gen > sha256x_amd64.s"

// haveAsm reports whether this build contains the SHA-NI assembly.
const haveAsm = true

// useSHANI reports whether the CPU has the SHA extensions and the SSSE3 and
// SSE4.1 instructions the assembly also uses. It is computed once when the
// package is initialised and never changes.
var useSHANI = detectSHANI()

func detectSHANI() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	_, ebx7, _, _ := cpuid(7, 0)
	const (
		ssse3  = 1 << 9  // CPUID.1:ECX
		sse41  = 1 << 19 // CPUID.1:ECX
		shaExt = 1 << 29 // CPUID.(EAX=7,ECX=0):EBX
	)
	return ecx1&ssse3 != 0 && ecx1&sse41 != 0 && ebx7&shaExt != 0
}

// cpuid executes the CPUID instruction.
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// nodeSHANI sets *out = Node(left, right).
//
//go:noescape
func nodeSHANI(out, left, right *[32]byte)

// nodesSHANI hashes n >= 1 nodes: the hashes at src (2n of them, contiguous)
// into the n hashes at dst, two at a time.
//
//go:noescape
func nodesSHANI(dst, src *[32]byte, n int)

// leafSHANI sets *out to the leaf hash whose message is nfull blocks read
// from p (see leafTail) followed by ntail >= 1 blocks at tail.
//
//go:noescape
func leafSHANI(out *[32]byte, p *byte, nfull int, tail *[2 * BlockSize]byte, ntail int)

// leaf2SHANI is leafSHANI for two leaves of the same shape (equal nfull and
// ntail), interleaved.
//
//go:noescape
func leaf2SHANI(out1 *[32]byte, p1 *byte, tail1 *[2 * BlockSize]byte, out2 *[32]byte, p2 *byte, tail2 *[2 * BlockSize]byte, nfull, ntail int)

// leafSHANIGo is Leaf with SHA-NI.
func leafSHANIGo(data []byte) (out [32]byte) {
	var tail [2 * BlockSize]byte
	nfull, ntail := leafTail(data, &tail)
	leafSHANI(&out, unsafe.SliceData(data), nfull, &tail, ntail)
	return out
}

// leavesSHANI computes the leaf hashes two at a time: two records with the
// same number of blocks (the usual case in a batch of similar records) are
// hashed interleaved, others one after the other.
func leavesSHANI(dst [][32]byte, data [][]byte) {
	var tailA, tailB [2 * BlockSize]byte
	i := 0
	for ; i+1 < len(dst); i += 2 {
		a, b := data[i], data[i+1]
		fullA, nA := leafTail(a, &tailA)
		fullB, nB := leafTail(b, &tailB)
		if fullA == fullB && nA == nB {
			leaf2SHANI(&dst[i], unsafe.SliceData(a), &tailA, &dst[i+1], unsafe.SliceData(b), &tailB, fullA, nA)
		} else {
			leafSHANI(&dst[i], unsafe.SliceData(a), fullA, &tailA, nA)
			leafSHANI(&dst[i+1], unsafe.SliceData(b), fullB, &tailB, nB)
		}
	}
	if i < len(dst) {
		dst[i] = leafSHANIGo(data[i])
	}
}
