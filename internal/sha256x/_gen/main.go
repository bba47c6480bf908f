// Command gen writes the assembly of package sha256x: sha256x_amd64.s
// (SHA-NI) and sha256x_arm64.s (ARMv8 SHA2). Run it from the package
// directory (go generate does):
//
//	go run ./_gen amd64 > sha256x_amd64.s
//	go run ./_gen arm64 > sha256x_arm64.s
//
// The rounds are fully unrolled; generating them keeps the register use
// of the one- and two-stream code regular and reviewable.
package main

import (
	"bufio"
	"fmt"
	"os"
)

var out = bufio.NewWriter(os.Stdout)

func emit(format string, args ...any) { fmt.Fprintf(out, "\t"+format+"\n", args...) }
func label(l string)                  { fmt.Fprintf(out, "%s:\n", l) }
func comment(c string)                { fmt.Fprintf(out, "\t// %s\n", c) }

// stream names the registers of one hash in flight: the state as the two
// halves SHA-NI works on (ABEF, CDGH) and the four message quads.
type stream struct {
	abef, cdgh string
	m          [4]string
}

var (
	one = stream{abef: "X1", cdgh: "X2", m: [4]string{"X3", "X4", "X5", "X6"}}
	two = stream{abef: "X7", cdgh: "X8", m: [4]string{"X9", "X10", "X11", "X12"}}
)

const (
	tmp  = "X13" // schedule temporary, shared: its uses never overlap
	mask = "X14" // byte-swap mask for big-endian message words
	tmp2 = "X15" // second temporary
)

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

var iv = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// nodeLen is the bit length of a node message, 0x01 || left || right.
const nodeLen = 65 * 8

// addr is a memory operand off(reg); at(d) is the operand d bytes further.
type addr struct {
	reg string
	off int
}

func (a addr) at(d int) string { return fmt.Sprintf("%d(%s)", a.off+d, a.reg) }

func data32(sym string, words []uint32) {
	for i, w := range words {
		fmt.Fprintf(out, "DATA %s+0x%02x(SB)/4, $0x%08x\n", sym, 4*i, w)
	}
	fmt.Fprintf(out, "GLOBL %s(SB), RODATA|NOPTR, $%d\n\n", sym, 4*len(words))
}

func tables() {
	data32("kTab<>", k[:])
	// The initial state in SHA-NI layout: ABEF holds lanes F,E,B,A and
	// CDGH holds H,G,D,C (lane 0 first).
	data32("ivABEF<>", []uint32{iv[5], iv[4], iv[1], iv[0]})
	data32("ivCDGH<>", []uint32{iv[7], iv[6], iv[3], iv[2]})
	// Reverses the bytes of every 32-bit lane.
	data32("bswapMask<>", []uint32{0x00010203, 0x04050607, 0x08090a0b, 0x0c0d0e0f})
	// The first byte of a node message.
	data32("nodePrefix<>", []uint32{0x01, 0, 0, 0})
	// Message words 12..15 of a node's second block: zeros, then the length.
	data32("nodeW12<>", []uint32{0, 0, 0, nodeLen})
	// W+K for rounds 4..15 of a node's second block, whose message words
	// 4..15 are constants (zeros and the length).
	var wk [12]uint32
	for i := range wk {
		wk[i] = k[4+i]
	}
	wk[11] += nodeLen
	data32("nodeWK4<>", wk[:])
}

// schedule computes message quad q (q >= 4) in place of quad q-4.
func schedule(s stream, q int) {
	emit("MOVO %s, %s", s.m[(q+3)%4], tmp)
	emit("PALIGNR $4, %s, %s", s.m[(q+2)%4], tmp)
	emit("SHA256MSG1 %s, %s", s.m[(q+1)%4], s.m[q%4])
	emit("PADDD %s, %s", tmp, s.m[q%4])
	emit("SHA256MSG2 %s, %s", s.m[(q+3)%4], s.m[q%4])
}

// rounds runs rounds 4q..4q+3. wk, if set, is a memory operand holding
// W+K for these rounds, used when the message words are constants.
func rounds(s stream, q int, wk string) {
	if wk != "" {
		emit("MOVOU %s, X0", wk)
	} else {
		emit("MOVO %s, X0", s.m[q%4])
		emit("PADDD kTab<>+0x%02x(SB), X0", 16*q)
	}
	emit("SHA256RNDS2 X0, %s, %s", s.abef, s.cdgh)
	emit("PSHUFD $0x0e, X0, X0")
	emit("SHA256RNDS2 X0, %s, %s", s.cdgh, s.abef)
}

// compress runs the 64 rounds of one block for every stream, interleaved
// quad by quad: the streams are independent, so one stream's rounds fill
// the latency of the other's. constWK(q) gives a memory operand for quads
// whose W+K is constant, or "".
func compress(ss []stream, constWK func(q int) string) {
	for q := 0; q < 16; q++ {
		for _, s := range ss {
			if q >= 4 {
				schedule(s, q)
			}
			wk := ""
			if constWK != nil {
				wk = constWK(q)
			}
			rounds(s, q, wk)
		}
	}
}

// loadState converts h[0..7] (A..H) at addr into the SHA-NI layout.
func loadState(s stream, addr string) {
	emit("MOVOU (%s), %s", addr, s.abef)
	emit("MOVOU 16(%s), %s", addr, s.cdgh)
	emit("PSHUFD $0xb1, %s, %s", s.abef, s.abef) // B A D C
	emit("PSHUFD $0x1b, %s, %s", s.cdgh, s.cdgh) // H G F E
	emit("MOVO %s, %s", s.abef, tmp)
	emit("PALIGNR $8, %s, %s", s.cdgh, s.abef) // F E B A
	emit("PBLENDW $0xf0, %s, %s", tmp, s.cdgh) // H G D C
}

// unshuffleState turns the SHA-NI layout back into A B C D / E F G H.
func unshuffleState(s stream) {
	emit("PSHUFD $0x1b, %s, %s", s.abef, s.abef) // A B E F
	emit("PSHUFD $0xb1, %s, %s", s.cdgh, s.cdgh) // G H C D
	emit("MOVO %s, %s", s.abef, tmp)
	emit("PBLENDW $0xf0, %s, %s", s.cdgh, s.abef) // A B C D
	emit("PALIGNR $8, %s, %s", tmp, s.cdgh)       // E F G H
}

func storeState(s stream, addr string) {
	unshuffleState(s)
	emit("MOVOU %s, (%s)", s.abef, addr)
	emit("MOVOU %s, 16(%s)", s.cdgh, addr)
}

// storeDigest writes the state as a big-endian digest; mask must hold
// bswapMask.
func storeDigest(s stream, out addr) {
	unshuffleState(s)
	emit("PSHUFB %s, %s", mask, s.abef)
	emit("PSHUFB %s, %s", mask, s.cdgh)
	emit("MOVOU %s, %s", s.abef, out.at(0))
	emit("MOVOU %s, %s", s.cdgh, out.at(16))
}

// loadBlock loads the 64-byte block at addr as big-endian words.
func loadBlock(s stream, addr string) {
	for i, m := range s.m {
		emit("MOVOU %d(%s), %s", 16*i, addr, m)
		emit("PSHUFB %s, %s", mask, m)
	}
}

// save stores the state at frame offset off (two 16-byte slots);
// addSaved adds it back (the Davies-Meyer feed-forward).
func save(s stream, off int) {
	emit("MOVOU %s, %d(SP)", s.abef, off)
	emit("MOVOU %s, %d(SP)", s.cdgh, off+16)
}

func addSaved(s stream, off int) {
	emit("MOVOU %d(SP), %s", off, tmp)
	emit("PADDD %s, %s", tmp, s.abef)
	emit("MOVOU %d(SP), %s", off+16, tmp)
	emit("PADDD %s, %s", tmp, s.cdgh)
}

// nodeBlock1 loads the first block of a node message, 0x01 || left ||
// right[:31], built from four unaligned 16-byte loads shifted by one byte,
// and starts the state at the IV.
func nodeBlock1(s stream, left, right addr) {
	emit("MOVOU %s, %s", left.at(0), s.m[0])
	emit("MOVOU %s, %s", left.at(16), s.m[1])
	emit("MOVOU %s, %s", right.at(0), s.m[2])
	emit("MOVOU %s, %s", right.at(16), s.m[3])
	emit("PALIGNR $15, %s, %s", s.m[2], s.m[3]) // right[15:31]
	emit("PALIGNR $15, %s, %s", s.m[1], s.m[2]) // left[31], right[0:15]
	emit("PALIGNR $15, %s, %s", s.m[0], s.m[1]) // left[15:31]
	emit("PSLLDQ $1, %s", s.m[0])               // 0, left[0:15]
	emit("POR nodePrefix<>(SB), %s", s.m[0])
	for _, m := range s.m {
		emit("PSHUFB %s, %s", mask, m)
	}
	emit("MOVOU ivABEF<>(SB), %s", s.abef)
	emit("MOVOU ivCDGH<>(SB), %s", s.cdgh)
}

// nodeBlock2 loads the second block of a node message: right[31], 0x80,
// zeros and the bit length. Only word 0 depends on the input; gp is a
// scratch general-purpose register.
func nodeBlock2(s stream, right addr, gp string) {
	emit("MOVBLZX %s, %s", right.at(31), gp)
	emit("SHLL $24, %s", gp)
	emit("ORL $0x00800000, %s", gp)
	emit("MOVL %s, %s", gp, s.m[0]) // zero-extends into the XMM register
	emit("PXOR %s, %s", s.m[1], s.m[1])
	emit("PXOR %s, %s", s.m[2], s.m[2])
	emit("MOVOU nodeW12<>(SB), %s", s.m[3])
}

// leafHead loads the first block of a leaf message, 0x00 || p[0:63],
// reading only p[0:63]: one load shifted left by a byte, three loads at
// odd offsets.
func leafHead(s stream, p addr) {
	emit("MOVOU %s, %s", p.at(0), s.m[0])
	emit("MOVOU %s, %s", p.at(15), s.m[1])
	emit("MOVOU %s, %s", p.at(31), s.m[2])
	emit("MOVOU %s, %s", p.at(47), s.m[3])
	emit("PSLLDQ $1, %s", s.m[0])
	for _, m := range s.m {
		emit("PSHUFB %s, %s", mask, m)
	}
}

// block runs one block for every stream with the given loader, saving the
// state before and adding it back after.
func block(ss []stream, load func(i int, s stream)) {
	for i, s := range ss {
		save(s, 32*i)
		load(i, s)
	}
	compress(ss, nil)
	for i, s := range ss {
		addSaved(s, 32*i)
	}
}

// leafFunc writes the one- or two-stream leaf function. Each stream has a
// record pointer (SI, DI), a tail buffer (R8, R9) and an output (R10, R11).
// nfull blocks come from the record (the first one with the 0x00 prefix,
// the others at offset 63+64k) and ntail blocks from the tail buffer.
func leafFunc(ss []stream, name string) {
	ptr := []string{"SI", "DI"}
	tail := []string{"R8", "R9"}
	outs := []string{"R10", "R11"}
	for i := range ss {
		emit("MOVOU ivABEF<>(SB), %s", ss[i].abef)
		emit("MOVOU ivCDGH<>(SB), %s", ss[i].cdgh)
	}
	emit("TESTQ CX, CX")
	emit("JZ %sTail", name)
	block(ss, func(i int, s stream) { leafHead(s, addr{ptr[i], 0}) })
	for i := range ss {
		emit("ADDQ $63, %s", ptr[i])
	}
	emit("DECQ CX")
	emit("JZ %sTail", name)
	label(name + "Mid")
	block(ss, func(i int, s stream) { loadBlock(s, ptr[i]) })
	for i := range ss {
		emit("ADDQ $64, %s", ptr[i])
	}
	emit("DECQ CX")
	emit("JNZ %sMid", name)
	label(name + "Tail")
	block(ss, func(i int, s stream) { loadBlock(s, tail[i]) })
	for i := range ss {
		emit("ADDQ $64, %s", tail[i])
	}
	emit("DECQ BX")
	emit("JNZ %sTail", name)
	for i, s := range ss {
		storeDigest(s, addr{outs[i], 0})
	}
	emit("RET")
}

func node2WK(q int) string {
	if q >= 1 && q <= 3 {
		return fmt.Sprintf("nodeWK4<>+0x%02x(SB)", 16*(q-1))
	}
	return ""
}

// nodes hashes one node per stream: lefts[i], rights[i] are address
// expressions of stream i's children, outs[i] its destination.
func nodes(ss []stream, lefts, rights, outs []addr, gps []string) {
	for i, s := range ss {
		nodeBlock1(s, lefts[i], rights[i])
	}
	compress(ss, nil)
	for i, s := range ss {
		emit("PADDD ivABEF<>(SB), %s", s.abef)
		emit("PADDD ivCDGH<>(SB), %s", s.cdgh)
		save(s, 32*i)
		nodeBlock2(s, rights[i], gps[i])
	}
	compress(ss, node2WK)
	for i, s := range ss {
		addSaved(s, 32*i)
	}
	for i, s := range ss {
		storeDigest(s, outs[i])
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen amd64|arm64")
		os.Exit(2)
	}
	fmt.Fprintf(out, "// Code generated by go run ./_gen %s; DO NOT EDIT.\n\n", os.Args[1])
	fmt.Fprintf(out, "//go:build %s && !purego\n\n", os.Args[1])
	switch os.Args[1] {
	case "amd64":
		genAMD64()
	case "arm64":
		genARM64()
	default:
		fmt.Fprintln(os.Stderr, "gen: unknown architecture", os.Args[1])
		os.Exit(2)
	}
	out.Flush()
}

func genAMD64() {
	fmt.Fprintln(out, "#include \"textflag.h\"")
	fmt.Fprintln(out)
	tables()

	fmt.Fprintln(out, "// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)")
	fmt.Fprintln(out, "TEXT ·cpuid(SB), NOSPLIT, $0-24")
	emit("MOVL eaxArg+0(FP), AX")
	emit("MOVL ecxArg+4(FP), CX")
	emit("CPUID")
	emit("MOVL AX, eax+8(FP)")
	emit("MOVL BX, ebx+12(FP)")
	emit("MOVL CX, ecx+16(FP)")
	emit("MOVL DX, edx+20(FP)")
	emit("RET")
	fmt.Fprintln(out)

	fmt.Fprintln(out, "// func nodeAsm(out, left, right *[32]byte)")
	fmt.Fprintln(out, "TEXT ·nodeAsm(SB), NOSPLIT, $32-24")
	emit("MOVQ out+0(FP), DI")
	emit("MOVQ left+8(FP), SI")
	emit("MOVQ right+16(FP), DX")
	emit("MOVOU bswapMask<>(SB), %s", mask)
	nodes([]stream{one}, []addr{{"SI", 0}}, []addr{{"DX", 0}}, []addr{{"DI", 0}}, []string{"AX"})
	emit("RET")
	fmt.Fprintln(out)

	fmt.Fprintln(out, "// func nodesAsm(dst, src *[32]byte, n int)")
	fmt.Fprintln(out, "TEXT ·nodesAsm(SB), NOSPLIT, $64-24")
	emit("MOVQ dst+0(FP), DI")
	emit("MOVQ src+8(FP), SI")
	emit("MOVQ n+16(FP), CX")
	emit("MOVOU bswapMask<>(SB), %s", mask)
	label("nodesPair")
	emit("CMPQ CX, $2")
	emit("JB nodesTail")
	comment("Two nodes in flight: src[0..3] -> dst[0..1]. Every load of a pair")
	comment("comes before its stores, so dst may be src[:n] (in-place reduction).")
	nodes([]stream{one, two},
		[]addr{{"SI", 0}, {"SI", 64}}, []addr{{"SI", 32}, {"SI", 96}},
		[]addr{{"DI", 0}, {"DI", 32}}, []string{"AX", "BX"})
	emit("ADDQ $128, SI")
	emit("ADDQ $64, DI")
	emit("SUBQ $2, CX")
	emit("JMP nodesPair")
	label("nodesTail")
	emit("TESTQ CX, CX")
	emit("JZ nodesDone")
	nodes([]stream{one}, []addr{{"SI", 0}}, []addr{{"SI", 32}}, []addr{{"DI", 0}}, []string{"AX"})
	label("nodesDone")
	emit("RET")
	fmt.Fprintln(out)

	fmt.Fprintln(out, "// func leafAsm(out *[32]byte, p *byte, nfull int, tail *byte, ntail int)")
	fmt.Fprintln(out, "TEXT ·leafAsm(SB), NOSPLIT, $32-40")
	emit("MOVQ out+0(FP), R10")
	emit("MOVQ p+8(FP), SI")
	emit("MOVQ nfull+16(FP), CX")
	emit("MOVQ tail+24(FP), R8")
	emit("MOVQ ntail+32(FP), BX")
	emit("MOVOU bswapMask<>(SB), %s", mask)
	leafFunc([]stream{one}, "leaf")
	fmt.Fprintln(out)

	fmt.Fprintln(out, "// func leaf2Asm(out1 *[32]byte, p1, tail1 *byte, out2 *[32]byte, p2, tail2 *byte, nfull, ntail int)")
	fmt.Fprintln(out, "TEXT ·leaf2Asm(SB), NOSPLIT, $64-64")
	emit("MOVQ out1+0(FP), R10")
	emit("MOVQ p1+8(FP), SI")
	emit("MOVQ tail1+16(FP), R8")
	emit("MOVQ out2+24(FP), R11")
	emit("MOVQ p2+32(FP), DI")
	emit("MOVQ tail2+40(FP), R9")
	emit("MOVQ nfull+48(FP), CX")
	emit("MOVQ ntail+56(FP), BX")
	emit("MOVOU bswapMask<>(SB), %s", mask)
	leafFunc([]stream{one, two}, "leaf2")
}
