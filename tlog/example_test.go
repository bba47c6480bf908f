package tlog_test

import (
	"fmt"

	"github.com/tlogkit/tlogkit/tlog"
)

// storage is an in-memory array of stored hashes, indexed by stored-hash
// number.
type storage []tlog.Hash

func (s storage) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = s[x]
	}
	return out, nil
}

// An Appender extends a log by batches, and the stored hashes it returns
// serve proofs.
func ExampleAppender() {
	var log storage
	var a tlog.Appender // the empty tree
	for _, batch := range [][][]byte{
		{[]byte("rec 0\n"), []byte("rec 1\n"), []byte("rec 2\n")},
		{[]byte("rec 3\n"), []byte("rec 4\n")},
	} {
		start, hashes, err := a.Append(batch)
		if err != nil {
			panic(err)
		}
		fmt.Printf("stored hashes %d..%d\n", start, start+int64(len(hashes))-1)
		log = append(log, hashes...) // start == len(log)
	}
	tree := a.Tree()
	fmt.Println("size", tree.N, "hash", tree.Hash)

	// A restarted server resumes from storage.
	b, err := tlog.NewAppender(tree.N, log)
	if err != nil || b.TreeHash() != tree.Hash {
		panic("storage does not match the tree")
	}

	// Prove and check that record 3 is in the tree.
	p, err := tlog.ProveRecord(tree.N, 3, log)
	if err != nil {
		panic(err)
	}
	err = tlog.CheckRecord(p, tree.N, tree.Hash, 3, tlog.RecordHash([]byte("rec 3\n")))
	fmt.Println("record 3:", len(p), "proof hashes, check:", err)
	err = tlog.CheckRecord(p, tree.N, tree.Hash, 3, tlog.RecordHash([]byte("rec 4\n")))
	fmt.Println("another record:", err)
	// Output:
	// stored hashes 0..3
	// stored hashes 4..7
	// size 5 hash /bLvj4O8W9UKfOUIizsGPZ5GOZrEmSSegWzqxGAmRkY=
	// record 3: 3 proof hashes, check: <nil>
	// another record: tlog: invalid transparency proof
}

// StoredHashIndex numbers the hashes of the tree in the order an
// append-only writer stores them.
func ExampleStoredHashIndex() {
	fmt.Println(tlog.StoredHashIndex(0, 2), tlog.StoredHashIndex(1, 2), tlog.StoredHashIndex(3, 0))
	fmt.Println(tlog.SplitStoredHashIndex(13))
	fmt.Println(tlog.StoredHashCount(8))
	// Output:
	// 3 9 14
	// 2 1
	// 15
}
