package tlog

import (
	"errors"
	"math/rand/v2"
	"testing"

	xtlog "golang.org/x/mod/sumdb/tlog"
)

// TestAppenderAllSizes starts an Appender at every size up to exhaustiveN
// (from the x/mod-built log) and appends the rest of the log in random
// batches, comparing every returned hash, its index, and the tree hash
// after every batch with x/mod's.
func TestAppenderAllSizes(t *testing.T) {
	m, th := smallLog()
	rng := rand.New(rand.NewPCG(1, 2))
	for n0 := int64(0); n0 <= exhaustiveN; n0++ {
		a, err := NewAppender(n0, m)
		if err != nil {
			t.Fatal(err)
		}
		if a.N() != n0 || a.TreeHash() != th[n0] || a.Tree() != (Tree{n0, th[n0]}) {
			t.Fatalf("NewAppender(%d): N %d, TreeHash %v, want %v", n0, a.N(), a.TreeHash(), th[n0])
		}
		for n := n0; n < exhaustiveN; {
			k := min(exhaustiveN-n, int64(rng.IntN(40)))
			if rng.IntN(8) == 0 {
				k = min(exhaustiveN-n, int64(rng.IntN(300)))
			}
			var (
				start  int64
				hashes []Hash
			)
			if rng.IntN(2) == 0 {
				recs := make([][]byte, k)
				for i := range recs {
					recs[i] = testRecord(n + int64(i))
				}
				start, hashes, err = a.Append(recs)
			} else {
				leaves := make([]Hash, k)
				for i := range leaves {
					leaves[i] = m[StoredHashIndex(0, n+int64(i))]
				}
				start, hashes, err = a.AppendHashes(leaves)
			}
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := StoredHashCount(n), StoredHashCount(n+k)
			if start != lo || int64(len(hashes)) != hi-lo {
				t.Fatalf("append %d records to %d: start %d, %d hashes; want %d, %d", k, n, start, len(hashes), lo, hi-lo)
			}
			for i, h := range hashes {
				if h != m[lo+int64(i)] {
					t.Fatalf("append %d records to %d: hash %d (stored index %d) differs", k, n, i, lo+int64(i))
				}
			}
			n += k
			if a.N() != n || a.TreeHash() != th[n] {
				t.Fatalf("after append to %d: N %d, TreeHash %v, want %v", n, a.N(), a.TreeHash(), th[n])
			}
		}
	}
}

// TestAppenderParallel appends large random batches with the parallel path
// forced on and compares with x/mod's StoredHashes, one record at a time.
func TestAppenderParallel(t *testing.T) {
	const N = 20000
	rng := rand.New(rand.NewPCG(3, 4))
	var ref memLog
	a := &Appender{minParallel: 1}
	var got memLog
	for a.N() < N {
		n := a.N()
		k := min(N-n, int64(1+rng.IntN(3000)))
		recs := make([][]byte, k)
		for i := range recs {
			recs[i] = testRecord(n + int64(i))
			h, err := xtlog.StoredHashes(n+int64(i), recs[i], ref.x())
			if err != nil {
				t.Fatal(err)
			}
			ref = append(ref, fromX(h)...)
		}
		start, hashes, err := a.Append(recs)
		if err != nil || start != int64(len(got)) {
			t.Fatalf("Append: start %d, %v; want %d", start, err, len(got))
		}
		got = append(got, hashes...)
		if len(got) != len(ref) {
			t.Fatalf("after %d records: %d hashes, x/mod %d", a.N(), len(got), len(ref))
		}
		xh, _ := xtlog.TreeHash(a.N(), ref.x())
		if a.TreeHash() != Hash(xh) {
			t.Fatalf("TreeHash(%d) differs", a.N())
		}
	}
	for i := range got {
		if got[i] != ref[i] {
			t.Fatalf("stored hash %d differs", i)
		}
	}
	// A copy is an independent snapshot.
	snap := *a
	if _, _, err := a.Append([][]byte{[]byte("x")}); err != nil {
		t.Fatal(err)
	}
	if snap.N() != N || a.N() != N+1 || snap.TreeHash() == a.TreeHash() {
		t.Fatal("copy of an Appender is not a snapshot")
	}
}

func TestAppenderBadInput(t *testing.T) {
	m, _ := smallLog()
	for _, n := range []int64{-1, -1 << 63, maxStoredTreeSize + 1, 1<<63 - 1} {
		if _, err := NewAppender(n, m); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("NewAppender(%d): %v", n, err)
		}
	}
	// A tree larger than the log: the reader fails.
	if _, err := NewAppender(exhaustiveN*4, m); err == nil {
		t.Error("NewAppender past the end of the log succeeded")
	}
	// Readers returning the wrong count.
	for _, c := range []int{0, 2, 4} {
		r := HashReaderFunc(func([]int64) ([]Hash, error) { return make([]Hash, c), nil })
		if _, err := NewAppender(7, r); !errors.Is(err, ErrHashCount) {
			t.Errorf("NewAppender with %d of 3 hashes: %v", c, err)
		}
	}
	// The largest tree, 2^62 records: one complete subtree.
	top := Hash{1}
	a, err := NewAppender(maxStoredTreeSize, HashReaderFunc(func(idx []int64) ([]Hash, error) {
		if len(idx) != 1 || idx[0] != StoredHashIndex(62, 0) {
			t.Fatalf("reads %v", idx)
		}
		return []Hash{top}, nil
	}))
	if err != nil || a.TreeHash() != top {
		t.Fatalf("NewAppender(2^62): %v", err)
	}
	if _, _, err := a.AppendHashes([]Hash{{}}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("append past 2^62: %v", err)
	}
	if a.N() != maxStoredTreeSize || a.TreeHash() != top {
		t.Fatal("failed append changed the Appender")
	}
	// One below the largest tree: the last record completes the top.
	a, err = NewAppender(maxStoredTreeSize-1, HashReaderFunc(func(idx []int64) ([]Hash, error) {
		return make([]Hash, len(idx)), nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	start, hashes, err := a.AppendHashes([]Hash{{}})
	if err != nil || start != StoredHashCount(maxStoredTreeSize-1) || len(hashes) != 63 || start+63 != 1<<63-1 {
		t.Fatalf("last append: start %d, %d hashes, %v", start, len(hashes), err)
	}
	// Empty batches.
	var z Appender
	if s, h, err := z.Append(nil); s != 0 || h != nil || err != nil || z.TreeHash() != emptyHash {
		t.Fatal("empty append to empty tree")
	}
}

func TestBatchHashes(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 255, 5000, 3 * minParallelHashes} {
		recs := make([][]byte, n)
		for i := range recs {
			recs[i] = testRecord(int64(i))[:i%150]
		}
		prefix := []Hash{{9}}
		got := AppendRecordHashes(prefix, recs)
		if len(got) != n+1 || got[0] != (Hash{9}) {
			t.Fatalf("AppendRecordHashes(%d): len %d", n, len(got))
		}
		for i := range recs {
			if got[i+1] != Hash(xtlog.RecordHash(recs[i])) {
				t.Fatalf("AppendRecordHashes(%d)[%d] differs", n, i)
			}
		}
		nodes := AppendNodeHashes(nil, got)
		if len(nodes) != (n+1)/2 {
			t.Fatalf("AppendNodeHashes(%d): len %d", n+1, len(nodes))
		}
		for i := range nodes {
			if nodes[i] != Hash(xtlog.NodeHash(xtlog.Hash(got[2*i]), xtlog.Hash(got[2*i+1]))) {
				t.Fatalf("AppendNodeHashes(%d)[%d] differs", n+1, i)
			}
		}
	}
}
