//go:build amd64 && !purego

package sha256x

import "encoding/binary"

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

// blocksSHANI compresses every 64-byte block of p (len(p) % 64 == 0) into h.
//
//go:noescape
func blocksSHANI(h *[8]uint32, p []byte)

// blocks2SHANI compresses n blocks at p1 into h1 and n blocks at p2 into h2,
// with the two streams interleaved.
//
//go:noescape
func blocks2SHANI(h1 *[8]uint32, p1 *byte, h2 *[8]uint32, p2 *byte, n int)

// nodeSHANI sets *out = Node(left, right).
//
//go:noescape
func nodeSHANI(out, left, right *[32]byte)

// nodesSHANI hashes n >= 1 nodes: the hashes at src (2n of them, contiguous)
// into the n hashes at dst, two at a time.
//
//go:noescape
func nodesSHANI(dst, src *[32]byte, n int)

// leafJob is one leaf hash being computed in segments: the message
// 0x00 || data is a head block (the prefix and data[:63], in head), the
// full blocks that follow it (read in place from data), and the padded
// tail (one or two blocks in tail). A record shorter than 63 bytes has
// only the tail.
type leafJob struct {
	h       [8]uint32
	head    [BlockSize]byte
	tail    [2 * BlockSize]byte
	mid     []byte
	hasHead bool
	tailLen int
	seg     int // current segment: 0 head, 1 mid, 2 tail, 3 done
	off     int // bytes of the current segment already hashed
}

func (j *leafJob) init(data []byte) {
	j.h = iv
	j.seg, j.off = 0, 0
	total := uint64(len(data)) + 1
	var n int
	if len(data) >= BlockSize-1 {
		j.hasHead = true
		j.head[0] = 0x00
		copy(j.head[1:], data)
		data = data[BlockSize-1:]
		full := len(data) &^ (BlockSize - 1)
		j.mid = data[:full]
		n = copy(j.tail[:], data[full:])
	} else {
		j.hasHead = false
		j.mid = nil
		j.tail[0] = 0x00
		n = 1 + copy(j.tail[1:], data)
	}
	j.tail[n] = 0x80
	end := BlockSize
	if n >= BlockSize-8 {
		end = 2 * BlockSize
	}
	clear(j.tail[n+1 : end-8])
	binary.BigEndian.PutUint64(j.tail[end-8:end], total*8)
	j.tailLen = end
	j.skipEmpty()
}

// cur returns the unhashed rest of the current segment.
func (j *leafJob) cur() []byte {
	switch j.seg {
	case 0:
		if !j.hasHead {
			return nil
		}
		return j.head[j.off:]
	case 1:
		return j.mid[j.off:]
	case 2:
		return j.tail[j.off:j.tailLen]
	}
	return nil
}

// advance records that n more bytes of the current segment are hashed.
func (j *leafJob) advance(n int) {
	j.off += n
	if len(j.cur()) == 0 {
		j.seg++
		j.off = 0
		j.skipEmpty()
	}
}

func (j *leafJob) skipEmpty() {
	for j.seg < 3 && len(j.cur()) == 0 {
		j.seg++
		j.off = 0
	}
}

// leavesSHANI computes the leaf hashes two at a time, interleaving the
// blocks of both records while both have blocks left.
func leavesSHANI(dst [][32]byte, data [][]byte) {
	var a, b leafJob
	i := 0
	for ; i+1 < len(dst); i += 2 {
		a.init(data[i])
		b.init(data[i+1])
		for a.seg < 3 && b.seg < 3 {
			pa, pb := a.cur(), b.cur()
			n := min(len(pa), len(pb))
			blocks2SHANI(&a.h, &pa[0], &b.h, &pb[0], n/BlockSize)
			a.advance(n)
			b.advance(n)
		}
		for _, j := range [2]*leafJob{&a, &b} {
			for j.seg < 3 {
				p := j.cur()
				blocksSHANI(&j.h, p)
				j.advance(len(p))
			}
		}
		dst[i] = digest(&a.h)
		dst[i+1] = digest(&b.h)
	}
	if i < len(dst) {
		dst[i] = leaf(data[i], true)
	}
}
