package sha256x

import (
	"encoding/binary"
	"math/bits"
)

// blockSize is the SHA-256 block size in bytes.
const blockSize = 64

// Node returns SHA-256(0x01 || left || right), the RFC 6962 hash of an
// interior node whose children hash to left and right. The message is always
// 65 bytes long, so the result costs exactly two compressions.
func Node(left, right *[32]byte) [32]byte {
	if useAsm {
		var out [32]byte
		nodeAsm(&out, left, right)
		return out
	}
	return nodeGeneric(left, right)
}

// Leaf returns SHA-256(0x00 || data), the RFC 6962 hash of the leaf whose
// record is data.
func Leaf(data []byte) [32]byte {
	if useAsm {
		return leafAsmGo(data)
	}
	return leafGeneric(data)
}

// Nodes sets dst[i] = Node(&src[2*i], &src[2*i+1]) for every i < len(dst):
// it hashes one level of a tree into the level above. Elements of src past
// 2*len(dst) are ignored.
//
// It panics if len(src) < 2*len(dst): callers size dst from src, so a short
// src is a bug in the caller, not bad input.
//
// dst may share memory with src only in the form dst = src[:len(dst)], which
// reduces a level in place; any other overlap gives undefined results.
//
// Where the CPU allows, independent hashes are interleaved so that one
// hash's rounds fill the latency of another's, which makes Nodes faster per
// node than calling Node in a loop.
func Nodes(dst, src [][32]byte) {
	if len(src) < 2*len(dst) {
		panic("sha256x: Nodes: len(src) < 2*len(dst)")
	}
	if len(dst) == 0 {
		return
	}
	if useAsm {
		nodesAsm(&dst[0], &src[0], len(dst))
		return
	}
	nodesGeneric(dst, src)
}

// Leaves sets dst[i] = Leaf(data[i]) for every i < len(dst).
// Elements of data past len(dst) are ignored.
//
// It panics if len(data) < len(dst), an invariant the caller establishes.
func Leaves(dst [][32]byte, data [][]byte) {
	if len(data) < len(dst) {
		panic("sha256x: Leaves: len(data) < len(dst)")
	}
	if useAsm {
		leavesAsm(dst, data[:len(dst)])
		return
	}
	leavesGeneric(dst, data[:len(dst)])
}

// iv is the SHA-256 initial hash value (FIPS 180-4, section 5.3.3).
var iv = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// k holds the SHA-256 round constants (FIPS 180-4, section 4.2.2).
var k = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// blocksGeneric runs the SHA-256 compression function over every 64-byte
// block of p (len(p) must be a multiple of 64), updating h.
func blocksGeneric(h *[8]uint32, p []byte) {
	var w [64]uint32
	a0, b0, c0, d0, e0, f0, g0, h0 := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
	for len(p) >= blockSize {
		for i := 0; i < 16; i++ {
			w[i] = binary.BigEndian.Uint32(p[4*i:])
		}
		for i := 16; i < 64; i++ {
			x, y := w[i-15], w[i-2]
			s0 := bits.RotateLeft32(x, -7) ^ bits.RotateLeft32(x, -18) ^ (x >> 3)
			s1 := bits.RotateLeft32(y, -17) ^ bits.RotateLeft32(y, -19) ^ (y >> 10)
			w[i] = w[i-16] + s0 + w[i-7] + s1
		}
		a, b, c, d, e, f, g, hh := a0, b0, c0, d0, e0, f0, g0, h0
		for i := 0; i < 64; i++ {
			s1 := bits.RotateLeft32(e, -6) ^ bits.RotateLeft32(e, -11) ^ bits.RotateLeft32(e, -25)
			ch := (e & f) ^ (^e & g)
			t1 := hh + s1 + ch + k[i] + w[i]
			s0 := bits.RotateLeft32(a, -2) ^ bits.RotateLeft32(a, -13) ^ bits.RotateLeft32(a, -22)
			maj := (a & b) ^ (a & c) ^ (b & c)
			t2 := s0 + maj
			hh, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
		}
		a0 += a
		b0 += b
		c0 += c
		d0 += d
		e0 += e
		f0 += f
		g0 += g
		h0 += hh
		p = p[blockSize:]
	}
	h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7] = a0, b0, c0, d0, e0, f0, g0, h0
}

// digest encodes the state h as a big-endian SHA-256 digest.
func digest(h *[8]uint32) (out [32]byte) {
	for i, v := range h {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	return out
}

// nodeGeneric is Node in pure Go.
func nodeGeneric(left, right *[32]byte) [32]byte {
	// 0x01 || left || right || 0x80 || zeros || uint64(65*8) big-endian.
	var buf [2 * blockSize]byte
	buf[0] = 0x01
	copy(buf[1:33], left[:])
	copy(buf[33:65], right[:])
	buf[65] = 0x80
	binary.BigEndian.PutUint64(buf[120:], 65*8)
	h := iv
	blocksGeneric(&h, buf[:])
	return digest(&h)
}

// nodesGeneric is Nodes in pure Go, after the argument checks.
func nodesGeneric(dst, src [][32]byte) {
	for i := range dst {
		dst[i] = nodeGeneric(&src[2*i], &src[2*i+1])
	}
}

// leavesGeneric is Leaves in pure Go, after the argument checks.
func leavesGeneric(dst [][32]byte, data [][]byte) {
	for i := range dst {
		dst[i] = leafGeneric(data[i])
	}
}

// leafTail writes the end of the leaf message 0x00 || data, padded, into
// tail and returns how many of its blocks to hash (1 or 2). Before the
// tail come nfull blocks that are read from data in place: the first is
// 0x00 || data[:63], block k > 0 is data[63+64*(k-1):][:64].
func leafTail(data []byte, tail *[2 * blockSize]byte) (nfull, ntail int) {
	nfull, ntail = leafShape(len(data))
	var n int // bytes of message in tail
	if nfull > 0 {
		n = copy(tail[:], data[blockSize-1+blockSize*(nfull-1):])
	} else {
		tail[0] = 0x00
		n = 1 + copy(tail[1:], data)
	}
	tail[n] = 0x80
	end := blockSize * ntail
	clear(tail[n+1 : end-8])
	binary.BigEndian.PutUint64(tail[end-8:end], (uint64(len(data))+1)*8)
	return nfull, ntail
}

// leafShape returns the block counts of leafTail for a record of n bytes:
// nfull blocks read from the record, ntail (1 or 2) from the tail buffer.
func leafShape(n int) (nfull, ntail int) {
	rest := n + 1 // message bytes left for the tail
	if n >= blockSize-1 {
		nfull = 1 + (n-(blockSize-1))/blockSize
		rest = n - (blockSize - 1) - blockSize*(nfull-1)
	}
	// The tail needs room for the 0x80 byte and the 8-byte length.
	if rest >= blockSize-8 {
		return nfull, 2
	}
	return nfull, 1
}

// leafGeneric is Leaf in pure Go.
func leafGeneric(data []byte) [32]byte {
	var tail [2 * blockSize]byte
	nfull, ntail := leafTail(data, &tail)
	h := iv
	if nfull > 0 {
		var head [blockSize]byte
		copy(head[1:], data)
		blocksGeneric(&h, head[:])
		blocksGeneric(&h, data[blockSize-1:blockSize-1+blockSize*(nfull-1)])
	}
	blocksGeneric(&h, tail[:blockSize*ntail])
	return digest(&h)
}
