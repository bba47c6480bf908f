package sha256x

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// impl is one implementation of the package API, so that every test runs
// on the pure-Go path and, where the CPU has it, on the SHA-NI path.
type impl struct {
	name   string
	node   func(left, right *[32]byte) [32]byte
	leaf   func(data []byte) [32]byte
	nodes  func(dst, src [][32]byte)
	leaves func(dst [][32]byte, data [][]byte)
}

func impls() []impl {
	list := []impl{
		{
			name:   "generic",
			node:   nodeGeneric,
			leaf:   leafGeneric,
			nodes:  nodesGeneric,
			leaves: leavesGeneric,
		},
		{name: "api", node: Node, leaf: Leaf, nodes: Nodes, leaves: Leaves},
	}
	if useAsm {
		list = append(list, impl{
			name: "asm",
			node: func(l, r *[32]byte) (out [32]byte) {
				nodeAsm(&out, l, r)
				return out
			},
			leaf: leafAsmGo,
			nodes: func(dst, src [][32]byte) {
				if len(dst) > 0 {
					nodesAsm(&dst[0], &src[0], len(dst))
				}
			},
			leaves: leavesAsm,
		})
	}
	return list
}

// refLeaf and refNode are the definitions, computed with crypto/sha256.
func refLeaf(data []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0x00})
	h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func refNode(left, right *[32]byte) [32]byte {
	var buf [65]byte
	buf[0] = 0x01
	copy(buf[1:], left[:])
	copy(buf[33:], right[:])
	return sha256.Sum256(buf[:])
}

func randHash(r *rand.Rand) (h [32]byte) {
	for i := range h {
		h[i] = byte(r.Uint32())
	}
	return h
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustHex(t *testing.T, s string) (h [32]byte) {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad hex %q", s)
	}
	return [32]byte(b)
}

// TestAsmUsedHere makes sure the assembly is selected, and therefore
// tested, on a CPU that advertises the instructions it needs. Without it a
// broken CPU check would silently turn every "asm" test into a second
// generic test.
func TestAsmUsedHere(t *testing.T) {
	if !haveAsm {
		t.Skip("built without assembly (purego, or an architecture without it)")
	}
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip("no /proc/cpuinfo")
	}
	var want bool
	switch runtime.GOARCH {
	case "amd64":
		flags := string(info)
		want = strings.Contains(flags, " sha_ni") && strings.Contains(flags, " sse4_1") && strings.Contains(flags, " ssse3")
	case "arm64":
		features := ""
		for _, line := range strings.Split(string(info), "\n") {
			if strings.HasPrefix(line, "Features") {
				features = line + " "
				break
			}
		}
		if features == "" {
			// E.g. under user-mode emulation, which shows the host's file.
			t.Skip("no Features line in /proc/cpuinfo")
		}
		want = strings.Contains(features, " sha2 ")
	}
	if useAsm != want {
		t.Fatalf("useAsm = %v, but /proc/cpuinfo says %v", useAsm, want)
	}
}

func TestKnownVectors(t *testing.T) {
	var seq, rev, zero [32]byte
	for i := range seq {
		seq[i] = byte(i)
		rev[i] = byte(0xff - i)
	}
	leaves := []struct{ data, hash string }{
		// RFC 6962's hash of the empty leaf.
		{"", "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
		{"a", "022a6979e6dab7aa5ae4c3e5e45f7e977112a7e63593820dbec1ec738a24f93c"},
		{"hello, world\n", "65fc0038d8b52b114d15f7475f2106d363797b3a2c6375dc44bf26ed823fafbb"},
	}
	nodes := []struct {
		left, right *[32]byte
		hash        string
	}{
		{&seq, &rev, "9e8365c17dbf4d8b442fe92019544469aeee0662a062ab90965f8cddc1f94673"},
		{&zero, &zero, "ae0798d0ecaed2b778eddebf18f071a561c53658c05e76cedecc27cafbdbc577"},
	}
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			for _, tc := range leaves {
				want := mustHex(t, tc.hash)
				if got := im.leaf([]byte(tc.data)); got != want {
					t.Errorf("Leaf(%q) = %x, want %x", tc.data, got, want)
				}
				if x := tlog.RecordHash([]byte(tc.data)); x != tlog.Hash(want) {
					t.Errorf("vector for Leaf(%q) disagrees with x/mod: %x", tc.data, x)
				}
			}
			for _, tc := range nodes {
				want := mustHex(t, tc.hash)
				if got := im.node(tc.left, tc.right); got != want {
					t.Errorf("Node(%x, %x) = %x, want %x", *tc.left, *tc.right, got, want)
				}
				if x := tlog.NodeHash(*tc.left, *tc.right); x != tlog.Hash(want) {
					t.Errorf("vector for Node disagrees with x/mod: %x", x)
				}
			}
		})
	}
}

// TestLeafAllLengths compares Leaf with crypto/sha256 for every data length
// 0..1100 (every padding case, one and two tail blocks, many bulk blocks),
// with random contents, and with the data at every offset 0..7 of its
// backing array so that unaligned loads are covered.
func TestLeafAllLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	backing := randBytes(r, 1100+8)
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			for n := 0; n <= 1100; n++ {
				off := n % 8
				data := backing[off : off+n]
				if got, want := im.leaf(data), refLeaf(data); got != want {
					t.Fatalf("Leaf of %d bytes at offset %d = %x, want %x", n, off, got, want)
				}
			}
		})
	}
}

// TestLeafPaddingEdges hits the lengths around the padding boundaries
// (the message is len(data)+1 bytes) with contents that make the bytes
// around the boundaries distinguishable (0xff, never 0x80 or 0x00).
func TestLeafPaddingEdges(t *testing.T) {
	edges := []int{0, 1, 54, 55, 56, 57, 62, 63, 64, 65, 118, 119, 120, 121, 126, 127, 128, 129, 182, 183, 184, 191, 192}
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			for _, n := range edges {
				for _, fill := range []byte{0x00, 0x80, 0xff} {
					data := bytes.Repeat([]byte{fill}, n)
					if got, want := im.leaf(data), refLeaf(data); got != want {
						t.Errorf("Leaf(%d x %#x) = %x, want %x", n, fill, got, want)
					}
				}
			}
		})
	}
}

// TestLeafDoesNotWriteInput checks that hashing never writes to the
// caller's data (the bulk blocks are read in place).
func TestLeafDoesNotWriteInput(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	data := randBytes(r, 700)
	orig := bytes.Clone(data)
	for _, im := range impls() {
		im.leaf(data)
		if !bytes.Equal(data, orig) {
			t.Fatalf("%s: Leaf modified its input", im.name)
		}
	}
}

func TestNodeRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			for i := 0; i < 2000; i++ {
				left, right := randHash(r), randHash(r)
				if got, want := im.node(&left, &right), refNode(&left, &right); got != want {
					t.Fatalf("Node(%x, %x) = %x, want %x", left, right, got, want)
				}
			}
			// Every single-bit difference in either child changes the hash
			// the same way crypto/sha256 does.
			left, right := randHash(r), randHash(r)
			for bit := 0; bit < 512; bit++ {
				l, rr := left, right
				if bit < 256 {
					l[bit/8] ^= 1 << (bit % 8)
				} else {
					rr[(bit-256)/8] ^= 1 << (bit % 8)
				}
				if got, want := im.node(&l, &rr), refNode(&l, &rr); got != want {
					t.Fatalf("Node with bit %d flipped = %x, want %x", bit, got, want)
				}
			}
		})
	}
}

func TestNodesBatches(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			for n := 0; n <= 40; n++ {
				// One spare source hash on odd n, as a caller with an odd
				// level would pass it.
				src := make([][32]byte, 2*n+n%2)
				for i := range src {
					src[i] = randHash(r)
				}
				want := make([][32]byte, n)
				for i := range want {
					want[i] = refNode(&src[2*i], &src[2*i+1])
				}
				// Guard elements around dst catch writes out of bounds.
				buf := make([][32]byte, n+2)
				sentinel := randHash(r)
				buf[0], buf[n+1] = sentinel, sentinel
				dst := buf[1 : n+1]
				srcCopy := append([][32]byte(nil), src...)
				im.nodes(dst, src)
				for i := range want {
					if dst[i] != want[i] {
						t.Fatalf("n=%d: dst[%d] = %x, want %x", n, i, dst[i], want[i])
					}
				}
				if buf[0] != sentinel || buf[n+1] != sentinel {
					t.Fatalf("n=%d: wrote outside dst", n)
				}
				for i := range src {
					if src[i] != srcCopy[i] {
						t.Fatalf("n=%d: modified src[%d]", n, i)
					}
				}
				// In place: dst = src[:n].
				im.nodes(src[:n], src)
				for i := range want {
					if src[i] != want[i] {
						t.Fatalf("n=%d in place: dst[%d] = %x, want %x", n, i, src[i], want[i])
					}
				}
			}
		})
	}
}

func TestLeavesBatches(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			for n := 0; n <= 40; n++ {
				data := make([][]byte, n+1) // one spare, ignored
				for i := range data {
					// Mix of lengths: mostly similar (as in a real batch)
					// with short, empty and long ones.
					switch r.IntN(4) {
					case 0:
						data[i] = randBytes(r, r.IntN(300))
					case 1:
						data[i] = randBytes(r, 0)
					default:
						data[i] = randBytes(r, 140+r.IntN(20))
					}
				}
				buf := make([][32]byte, n+2)
				sentinel := randHash(r)
				buf[0], buf[n+1] = sentinel, sentinel
				dst := buf[1 : n+1]
				im.leaves(dst, data)
				for i := range dst {
					if want := refLeaf(data[i]); dst[i] != want {
						t.Fatalf("n=%d: dst[%d] (len %d) = %x, want %x", n, i, len(data[i]), dst[i], want)
					}
				}
				if buf[0] != sentinel || buf[n+1] != sentinel {
					t.Fatalf("n=%d: wrote outside dst", n)
				}
			}
			// Every pairing of lengths around the block boundaries, so that
			// interleaved streams of different lengths are covered.
			lens := []int{0, 1, 55, 56, 62, 63, 64, 118, 119, 120, 126, 127, 150, 183, 200, 500, 510, 511, 600, 1000}
			var data [][]byte
			for _, a := range lens {
				for _, b := range lens {
					data = append(data, randBytes(r, a), randBytes(r, b))
				}
			}
			dst := make([][32]byte, len(data))
			im.leaves(dst, data)
			for i := range dst {
				if want := refLeaf(data[i]); dst[i] != want {
					t.Fatalf("pair: dst[%d] (len %d) = %x, want %x", i, len(data[i]), dst[i], want)
				}
			}
		})
	}
}

func TestPanics(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	mustPanic("Nodes short src", func() { Nodes(make([][32]byte, 2), make([][32]byte, 3)) })
	mustPanic("Leaves short data", func() { Leaves(make([][32]byte, 2), make([][]byte, 1)) })
	// Exact sizes and nil slices are fine.
	Nodes(make([][32]byte, 2), make([][32]byte, 4))
	Nodes(nil, nil)
	Leaves(nil, nil)
}

func TestZeroAllocs(t *testing.T) {
	var l, r [32]byte
	data := make([]byte, 150)
	src := make([][32]byte, 64)
	dst := make([][32]byte, 32)
	recs := make([][]byte, 32)
	for i := range recs {
		recs[i] = data[:100+i] // pairs of equal and of different shapes
	}
	for _, im := range impls() {
		checks := []struct {
			name string
			f    func()
		}{
			{"Node", func() { l = im.node(&l, &r) }},
			{"Leaf", func() { l = im.leaf(data) }},
			{"Nodes", func() { im.nodes(dst, src) }},
			{"Leaves", func() { im.leaves(dst, recs) }},
		}
		for _, c := range checks {
			if n := testing.AllocsPerRun(100, c.f); n != 0 {
				t.Errorf("%s: %s: %v allocs per call, want 0", im.name, c.name, n)
			}
		}
	}
}
