package sha256x

import "testing"

// The fuzz targets compare every implementation with crypto/sha256.
// Their seed corpora live in testdata/fuzz and run as ordinary tests.

func FuzzLeaf(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("golang.org/x/text v0.3.0 h1:g61tztE5qeGQ89tm6NTjjM9VPIm088od1l6aSorWRWg=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		want := refLeaf(data)
		for _, im := range impls() {
			if got := im.leaf(data); got != want {
				t.Fatalf("%s: Leaf(%x) = %x, want %x", im.name, data, got, want)
			}
		}
	})
}

// fuzzHash turns arbitrary fuzz input into a 32-byte hash.
func fuzzHash(b []byte) (h [32]byte) {
	copy(h[:], b)
	return h
}

func FuzzNode(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, 32), []byte{0xff, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, l, r []byte) {
		left, right := fuzzHash(l), fuzzHash(r)
		want := refNode(&left, &right)
		for _, im := range impls() {
			if got := im.node(&left, &right); got != want {
				t.Fatalf("%s: Node(%x, %x) = %x, want %x", im.name, left, right, got, want)
			}
		}
	})
}

// FuzzNodes hashes a level made of the input cut into 32-byte hashes
// (a short last piece is zero-padded), dropping a spare odd hash.
func FuzzNodes(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	f.Add(make([]byte, 5*32+7))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64*64 {
			data = data[:64*64]
		}
		src := make([][32]byte, (len(data)+31)/32)
		for i := range src {
			src[i] = fuzzHash(data[32*i:])
		}
		want := make([][32]byte, len(src)/2)
		for i := range want {
			want[i] = refNode(&src[2*i], &src[2*i+1])
		}
		for _, im := range impls() {
			dst := make([][32]byte, len(want))
			im.nodes(dst, src)
			for i := range want {
				if dst[i] != want[i] {
					t.Fatalf("%s: %d hashes: dst[%d] = %x, want %x", im.name, len(src), i, dst[i], want[i])
				}
			}
		}
	})
}
