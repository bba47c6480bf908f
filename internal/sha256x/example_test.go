package sha256x_test

import (
	"fmt"

	"github.com/tlogkit/tlogkit/internal/sha256x"
)

// The root of a Merkle tree of four records, one level at a time.
func Example() {
	records := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}
	level := make([][32]byte, len(records))
	sha256x.Leaves(level, records)
	for len(level) > 1 {
		// Reduce the level in place: level[i] = Node(level[2i], level[2i+1]).
		sha256x.Nodes(level[:len(level)/2], level)
		level = level[:len(level)/2]
	}
	fmt.Printf("%x\n", level[0])
	// Output:
	// 33376a3bd63e9993708a84ddfe6c28ae58b83505dd1fed711bd924ec5a6239f0
}

func ExampleLeaf() {
	// RFC 6962's hash of an empty leaf.
	fmt.Printf("%x\n", sha256x.Leaf(nil))
	// Output:
	// 6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d
}
