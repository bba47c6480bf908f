package main

import "fmt"

// astream names the vector registers of one hash in flight on arm64.
type astream struct {
	abcd, efgh   string // state (consecutive registers, for VLD1/VST1)
	sabcd, sefgh string // state at the start of the block (feed-forward)
	old          string // abcd before SHA256H, for SHA256H2
	wk           string // W+K of the current quad
	m            [4]string
}

func newAStream(base int) astream {
	v := func(i int) string { return fmt.Sprintf("V%d", base+i) }
	return astream{
		abcd: v(0), efgh: v(1), sabcd: v(2), sefgh: v(3), old: v(4),
		m:  [4]string{v(5), v(6), v(7), v(8)}, // consecutive, for VLD1
		wk: v(9),
	}
}

// fq names the Q (128-bit FP/SIMD) view of vector register "Vn", for FMOVQ.
func fq(v string) string { return "F" + v[1:] }

var (
	aone = newAStream(0)
	atwo = newAStream(10)
)

const (
	aK      = "V20" // V20..V23: round constants of four quads
	aZero   = "V24"
	aPrefix = "V25" // byte 15 = 0x01, the node prefix, for VEXT
	aWK     = 26    // V26..V28: node block 2, W+K of quads 1..3
	aW12    = "V29" // node block 2, message words 12..15
)

func armTables() {
	data32("kTab<>", k[:])
	data32("ivTab<>", iv[:])
	data32("prefix15<>", []uint32{0, 0, 0, 0x01000000})
	data32("nodeW12<>", []uint32{0, 0, 0, nodeLen})
	var wk [12]uint32
	for i := range wk {
		wk[i] = k[4+i]
	}
	wk[11] += nodeLen
	data32("nodeWK4<>", wk[:])
}

// acompress runs the 64 rounds of a block for every stream, quad by quad.
func acompress(ss []astream, constWK func(q int) string) {
	emit("MOVD $kTab<>(SB), R6")
	for q := 0; q < 16; q++ {
		if q%4 == 0 {
			emit("VLD1.P 64(R6), [V20.S4, V21.S4, V22.S4, V23.S4]")
		}
		for _, s := range ss {
			if q >= 4 {
				emit("SHA256SU0 %s.S4, %s.S4", s.m[(q+1)%4], s.m[q%4])
				emit("SHA256SU1 %s.S4, %s.S4, %s.S4", s.m[(q+3)%4], s.m[(q+2)%4], s.m[q%4])
			}
			wk := s.wk
			if constWK != nil && constWK(q) != "" {
				wk = constWK(q)
			} else {
				emit("VADD V%d.S4, %s.S4, %s.S4", 20+q%4, s.m[q%4], wk)
			}
			emit("VMOV %s.B16, %s.B16", s.abcd, s.old)
			emit("SHA256H %s.S4, %s, %s", wk, s.efgh, s.abcd)
			emit("SHA256H2 %s.S4, %s, %s", wk, s.old, s.efgh)
		}
	}
}

func ablock(ss []astream, load func(i int, s astream), constWK func(q int) string) {
	for i, s := range ss {
		emit("VMOV %s.B16, %s.B16", s.abcd, s.sabcd)
		emit("VMOV %s.B16, %s.B16", s.efgh, s.sefgh)
		load(i, s)
	}
	acompress(ss, constWK)
	for _, s := range ss {
		emit("VADD %s.S4, %s.S4, %s.S4", s.sabcd, s.abcd, s.abcd)
		emit("VADD %s.S4, %s.S4, %s.S4", s.sefgh, s.efgh, s.efgh)
	}
}

func aLoadIV(s astream) {
	emit("MOVD $ivTab<>(SB), R7")
	emit("VLD1 (R7), [%s.S4, %s.S4]", s.abcd, s.efgh)
}

func aLoadBlock(s astream, p string) {
	emit("VLD1 (%s), [%s.B16, %s.B16, %s.B16, %s.B16]", p, s.m[0], s.m[1], s.m[2], s.m[3])
	for _, m := range s.m {
		emit("VREV32 %s.B16, %s.B16", m, m)
	}
}

func aStoreDigest(s astream, out addr) {
	emit("VREV32 %s.B16, %s.B16", s.abcd, s.abcd)
	emit("VREV32 %s.B16, %s.B16", s.efgh, s.efgh)
	emit("FMOVQ %s, %s", fq(s.abcd), out.at(0))
	emit("FMOVQ %s, %s", fq(s.efgh), out.at(16))
}

// aNodeBlock1 loads 0x01 || left || right[:31], shifting by one byte with
// VEXT (Go operand order: VEXT $i, Vm, Vn, Vd = bytes i.. of Vn, then Vm).
func aNodeBlock1(s astream, left, right addr) {
	emit("FMOVQ %s, %s", left.at(0), fq(s.m[0]))
	emit("FMOVQ %s, %s", left.at(16), fq(s.m[1]))
	emit("FMOVQ %s, %s", right.at(0), fq(s.m[2]))
	emit("FMOVQ %s, %s", right.at(16), fq(s.m[3]))
	emit("VEXT $15, %s.B16, %s.B16, %s.B16", s.m[3], s.m[2], s.m[3])
	emit("VEXT $15, %s.B16, %s.B16, %s.B16", s.m[2], s.m[1], s.m[2])
	emit("VEXT $15, %s.B16, %s.B16, %s.B16", s.m[1], s.m[0], s.m[1])
	emit("VEXT $15, %s.B16, %s.B16, %s.B16", s.m[0], aPrefix, s.m[0])
	for _, m := range s.m {
		emit("VREV32 %s.B16, %s.B16", m, m)
	}
}

// aNodeBlock2 builds the words of right[31], 0x80, zeros, length 520.
func aNodeBlock2(s astream, right addr, gp string) {
	emit("MOVBU %s, %s", right.at(31), gp)
	emit("LSLW $24, %s", gp)
	emit("ORRW $0x00800000, %s", gp)
	emit("VEOR %s.B16, %s.B16, %s.B16", s.m[0], s.m[0], s.m[0])
	emit("VMOV %s, %s.S[0]", gp, s.m[0])
	emit("VEOR %s.B16, %s.B16, %s.B16", s.m[1], s.m[1], s.m[1])
	emit("VEOR %s.B16, %s.B16, %s.B16", s.m[2], s.m[2], s.m[2])
	emit("VMOV %s.B16, %s.B16", aW12, s.m[3])
}

func aNode2WK(q int) string {
	if q >= 1 && q <= 3 {
		return fmt.Sprintf("V%d", aWK+q-1)
	}
	return ""
}

func aNodeConsts() {
	emit("MOVD $prefix15<>(SB), R7")
	emit("VLD1 (R7), [%s.S4]", aPrefix)
	emit("MOVD $nodeW12<>(SB), R7")
	emit("VLD1 (R7), [%s.S4]", aW12)
	emit("MOVD $nodeWK4<>(SB), R7")
	emit("VLD1 (R7), [V%d.S4, V%d.S4, V%d.S4]", aWK, aWK+1, aWK+2)
}

func aNodes(ss []astream, lefts, rights, outs []addr, gps []string) {
	for i, s := range ss {
		aLoadIV(s)
		_ = i
	}
	ablock(ss, func(i int, s astream) { aNodeBlock1(s, lefts[i], rights[i]) }, nil)
	ablock(ss, func(i int, s astream) { aNodeBlock2(s, rights[i], gps[i]) }, aNode2WK)
	for i, s := range ss {
		aStoreDigest(s, outs[i])
	}
}

// aLeafHead loads 0x00 || p[0:63], reading only p[0:63].
func aLeafHead(s astream, p string) {
	emit("FMOVQ (%s), %s", p, fq(s.m[0]))
	emit("FMOVQ 15(%s), %s", p, fq(s.m[1]))
	emit("FMOVQ 31(%s), %s", p, fq(s.m[2]))
	emit("FMOVQ 47(%s), %s", p, fq(s.m[3]))
	emit("VEXT $15, %s.B16, %s.B16, %s.B16", s.m[0], aZero, s.m[0])
	for _, m := range s.m {
		emit("VREV32 %s.B16, %s.B16", m, m)
	}
}

// aLeafFunc mirrors leafFunc: record pointers R1, R11; tails R3, R12;
// outputs R0, R10; nfull in R2, ntail in R4.
func aLeafFunc(ss []astream, name string) {
	ptr := []string{"R1", "R11"}
	tail := []string{"R3", "R12"}
	outs := []string{"R0", "R10"}
	emit("VEOR %s.B16, %s.B16, %s.B16", aZero, aZero, aZero)
	for _, s := range ss {
		aLoadIV(s)
	}
	emit("CBZ R2, %sTail", name)
	ablock(ss, func(i int, s astream) { aLeafHead(s, ptr[i]) }, nil)
	for i := range ss {
		emit("ADD $63, %s", ptr[i])
	}
	emit("SUBS $1, R2")
	emit("BEQ %sTail", name)
	label(name + "Mid")
	ablock(ss, func(i int, s astream) { aLoadBlock(s, ptr[i]) }, nil)
	for i := range ss {
		emit("ADD $64, %s", ptr[i])
	}
	emit("SUBS $1, R2")
	emit("BNE %sMid", name)
	label(name + "Tail")
	ablock(ss, func(i int, s astream) { aLoadBlock(s, tail[i]) }, nil)
	for i := range ss {
		emit("ADD $64, %s", tail[i])
	}
	emit("SUBS $1, R4")
	emit("BNE %sTail", name)
	for i, s := range ss {
		aStoreDigest(s, addr{outs[i], 0})
	}
	emit("RET")
}

func genARM64() {
	fmt.Fprintln(out, "#include \"textflag.h\"")
	fmt.Fprintln(out)
	armTables()

	fmt.Fprintln(out, "// func nodeAsm(out, left, right *[32]byte)")
	fmt.Fprintln(out, "TEXT ·nodeAsm(SB), NOSPLIT, $0-24")
	emit("MOVD out+0(FP), R0")
	emit("MOVD left+8(FP), R1")
	emit("MOVD right+16(FP), R2")
	aNodeConsts()
	aNodes([]astream{aone}, []addr{{"R1", 0}}, []addr{{"R2", 0}}, []addr{{"R0", 0}}, []string{"R8"})
	emit("RET")
	fmt.Fprintln(out)

	fmt.Fprintln(out, "// func nodesAsm(dst, src *[32]byte, n int)")
	fmt.Fprintln(out, "TEXT ·nodesAsm(SB), NOSPLIT, $0-24")
	emit("MOVD dst+0(FP), R0")
	emit("MOVD src+8(FP), R1")
	emit("MOVD n+16(FP), R2")
	aNodeConsts()
	label("nodesPair")
	emit("CMP $2, R2")
	emit("BLT nodesTail")
	comment("Two nodes in flight; all loads of a pair come before its stores.")
	aNodes([]astream{aone, atwo},
		[]addr{{"R1", 0}, {"R1", 64}}, []addr{{"R1", 32}, {"R1", 96}},
		[]addr{{"R0", 0}, {"R0", 32}}, []string{"R8", "R9"})
	emit("ADD $128, R1")
	emit("ADD $64, R0")
	emit("SUB $2, R2")
	emit("B nodesPair")
	label("nodesTail")
	emit("CBZ R2, nodesDone")
	aNodes([]astream{aone}, []addr{{"R1", 0}}, []addr{{"R1", 32}}, []addr{{"R0", 0}}, []string{"R8"})
	label("nodesDone")
	emit("RET")
	fmt.Fprintln(out)

	fmt.Fprintln(out, "// func leafAsm(out *[32]byte, p *byte, nfull int, tail *[128]byte, ntail int)")
	fmt.Fprintln(out, "TEXT ·leafAsm(SB), NOSPLIT, $0-40")
	emit("MOVD out+0(FP), R0")
	emit("MOVD p+8(FP), R1")
	emit("MOVD nfull+16(FP), R2")
	emit("MOVD tail+24(FP), R3")
	emit("MOVD ntail+32(FP), R4")
	aLeafFunc([]astream{aone}, "leaf")
	fmt.Fprintln(out)

	fmt.Fprintln(out, "// func leaf2Asm(out1 *[32]byte, p1 *byte, tail1 *[128]byte, out2 *[32]byte, p2 *byte, tail2 *[128]byte, nfull, ntail int)")
	fmt.Fprintln(out, "TEXT ·leaf2Asm(SB), NOSPLIT, $0-64")
	emit("MOVD out1+0(FP), R0")
	emit("MOVD p1+8(FP), R1")
	emit("MOVD tail1+16(FP), R3")
	emit("MOVD out2+24(FP), R10")
	emit("MOVD p2+32(FP), R11")
	emit("MOVD tail2+40(FP), R12")
	emit("MOVD nfull+48(FP), R2")
	emit("MOVD ntail+56(FP), R4")
	aLeafFunc([]astream{aone, atwo}, "leaf2")
}
