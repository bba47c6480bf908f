//go:build linux

package sha256x

import (
	"syscall"
	"testing"
	"unsafe"
)

// asHashes views b (len a multiple of 32) as hashes, without copying.
func asHashes(b []byte) [][32]byte {
	return unsafe.Slice((*[32]byte)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/32)
}

// guarded returns a buffer of n bytes that ends exactly where an
// inaccessible page begins, so that any read past the end faults.
func guarded(t *testing.T, n int) []byte {
	t.Helper()
	page := syscall.Getpagesize()
	size := (n + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, size+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[size:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	return mem[size-n : size : size]
}

// TestNoReadPastEnd hashes records and node levels that end at a guard
// page: the assembly's unaligned 16-byte loads must stay inside the input.
func TestNoReadPastEnd(t *testing.T) {
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			for n := 0; n <= 300; n++ {
				data := guarded(t, n)
				for i := range data {
					data[i] = byte(i * 7)
				}
				if got, want := im.leaf(data), refLeaf(data); got != want {
					t.Fatalf("Leaf of %d bytes = %x, want %x", n, got, want)
				}
				if n%8 == 0 {
					// Leaves with both records at a guard page, in both
					// pairing paths (same shape, different shapes).
					other := guarded(t, n/2)
					dst := make([][32]byte, 2)
					im.leaves(dst, [][]byte{data, data})
					im.leaves(dst[1:], [][]byte{other})
					if dst[0] != refLeaf(data) || dst[1] != refLeaf(other) {
						t.Fatalf("Leaves of %d bytes at a guard page differ", n)
					}
				}
			}
			for nodes := 1; nodes <= 5; nodes++ {
				mem := guarded(t, 64*nodes)
				// Hash straight from the guarded memory, viewed as hashes.
				view := asHashes(mem)
				dst := make([][32]byte, nodes)
				im.nodes(dst, view)
				for i := range dst {
					if want := refNode(&view[2*i], &view[2*i+1]); dst[i] != want {
						t.Fatalf("%d nodes at a guard page: dst[%d] = %x, want %x", nodes, i, dst[i], want)
					}
				}
				last := &view[len(view)-1]
				if got, want := im.node(last, last), refNode(last, last); got != want {
					t.Fatalf("Node at a guard page = %x, want %x", got, want)
				}
			}
		})
	}
}
