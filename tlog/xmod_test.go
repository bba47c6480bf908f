package tlog

import (
	"errors"
	"os"
	"sync"
	"testing"

	xtlog "golang.org/x/mod/sumdb/tlog"
)

// exhaustiveN is the largest tree size that the exhaustive tests cover.
const exhaustiveN = 512

// smallLog is the x/mod-built log of exhaustiveN records, with the tree
// hash of every size, shared by the tests.
var smallLog = sync.OnceValues(func() (memLog, []Hash) {
	var m memLog
	for i := int64(0); i < exhaustiveN; i++ {
		h, err := xtlog.StoredHashes(i, testRecord(i), m.x())
		if err != nil {
			panic(err)
		}
		m = append(m, fromX(h)...)
	}
	th := make([]Hash, exhaustiveN+1)
	for n := range th {
		h, err := xtlog.TreeHash(int64(n), m.x())
		if err != nil {
			panic(err)
		}
		th[n] = Hash(h)
	}
	return m, th
})

func TestTreeHashExhaustive(t *testing.T) {
	m, th := smallLog()
	for n := int64(0); n <= exhaustiveN; n++ {
		got, err := TreeHash(n, m)
		if err != nil || got != th[n] {
			t.Fatalf("TreeHash(%d) = %v, %v; x/mod: %v", n, got, err, th[n])
		}
	}
	if th[0] != emptyHash || th[0].String() != "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" {
		t.Fatalf("empty tree hash = %v", th[0])
	}
}

func TestStoredHashesMatchXmod(t *testing.T) {
	m, _ := smallLog()
	var ours memLog
	for i := int64(0); i < exhaustiveN; i++ {
		h, err := StoredHashes(i, testRecord(i), ours)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := StoredHashCount(i), int64(len(ours)); got != want {
			t.Fatalf("StoredHashCount(%d) = %d, want %d", i, got, want)
		}
		ours = append(ours, h...)
	}
	if len(ours) != len(m) {
		t.Fatalf("%d stored hashes, x/mod %d", len(ours), len(m))
	}
	for i := range ours {
		if ours[i] != m[i] {
			t.Fatalf("stored hash %d differs", i)
		}
	}
}

// checkRecordBoth runs CheckRecord in both libraries, fails the test if
// they disagree and returns whether they accepted.
func checkRecordBoth(t *testing.T, p []Hash, tsz int64, th Hash, n int64, h Hash) bool {
	err := CheckRecord(p, tsz, th, n, h)
	xerr := xtlog.CheckRecord(toX(p), tsz, xtlog.Hash(th), n, xtlog.Hash(h))
	if (err == nil) != (xerr == nil) {
		t.Fatalf("CheckRecord(len %d, t=%d, n=%d): ours %v, x/mod %v", len(p), tsz, n, err, xerr)
	}
	if err != nil && !errors.Is(err, ErrProofFailed) && !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("CheckRecord: error %v wraps no sentinel", err)
	}
	return err == nil
}

func checkTreeBoth(t *testing.T, p []Hash, tsz int64, th Hash, n int64, h Hash) bool {
	err := CheckTree(p, tsz, th, n, h)
	xerr := xtlog.CheckTree(toX(p), tsz, xtlog.Hash(th), n, xtlog.Hash(h))
	if (err == nil) != (xerr == nil) {
		t.Fatalf("CheckTree(len %d, t=%d, n=%d): ours %v, x/mod %v", len(p), tsz, n, err, xerr)
	}
	if err != nil && !errors.Is(err, ErrProofFailed) && !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("CheckTree: error %v wraps no sentinel", err)
	}
	return err == nil
}

// mutateRecordProof checks that every mutation of the valid inclusion proof
// p of leaf n (hash h) in the tree (tsz, th) is rejected by both libraries.
func mutateRecordProof(t *testing.T, p []Hash, tsz int64, th Hash, n int64, h Hash, otherTH Hash) {
	for i := range p {
		if checkRecordBoth(t, flip(p, i, int(n)+7*i), tsz, th, n, h) {
			t.Fatalf("t=%d n=%d: bit flip in element %d accepted", tsz, n, i)
		}
	}
	if checkRecordBoth(t, p, tsz, th, n, flip([]Hash{h}, 0, int(tsz))[0]) {
		t.Fatalf("t=%d n=%d: flipped leaf hash accepted", tsz, n)
	}
	if checkRecordBoth(t, p, tsz, flip([]Hash{th}, 0, int(n))[0], n, h) {
		t.Fatalf("t=%d n=%d: flipped tree hash accepted", tsz, n)
	}
	if checkRecordBoth(t, p, tsz, otherTH, n, h) {
		t.Fatalf("t=%d n=%d: other tree's hash accepted", tsz, n)
	}
	if len(p) > 0 {
		if checkRecordBoth(t, p[:len(p)-1], tsz, th, n, h) {
			t.Fatalf("t=%d n=%d: truncated proof accepted", tsz, n)
		}
		if checkRecordBoth(t, p[1:], tsz, th, n, h) {
			t.Fatalf("t=%d n=%d: proof without first element accepted", tsz, n)
		}
		// The leaf's parent offered as a leaf, with the rest of the path,
		// at the leaf's index and at the parent's index.
		var parent Hash
		if n&1 == 1 || n == tsz-1 {
			parent = NodeHash(p[0], h)
		} else {
			parent = NodeHash(h, p[0])
		}
		if checkRecordBoth(t, p[1:], tsz, th, n, parent) {
			t.Fatalf("t=%d n=%d: parent node as leaf accepted", tsz, n)
		}
		if checkRecordBoth(t, p[1:], tsz, th, n/2, parent) {
			t.Fatalf("t=%d n=%d: parent node as leaf %d accepted", tsz, n, n/2)
		}
		// Swapped adjacent elements.
		if len(p) > 1 && p[0] != p[1] {
			q := append([]Hash(nil), p...)
			q[0], q[1] = q[1], q[0]
			if checkRecordBoth(t, q, tsz, th, n, h) {
				t.Fatalf("t=%d n=%d: reordered proof accepted", tsz, n)
			}
		}
	}
	if checkRecordBoth(t, append(append([]Hash(nil), p...), th), tsz, th, n, h) {
		t.Fatalf("t=%d n=%d: extended proof accepted", tsz, n)
	}
	if checkRecordBoth(t, append([]Hash{h}, p...), tsz, th, n, h) {
		t.Fatalf("t=%d n=%d: proof extended at the front accepted", tsz, n)
	}
	// Another index with this leaf's hash.
	for _, n2 := range []int64{n ^ 1, n + 1, n - 1, tsz - 1 - n} {
		if n2 == n || n2 < 0 || n2 >= tsz {
			continue
		}
		if checkRecordBoth(t, p, tsz, th, n2, h) {
			t.Fatalf("t=%d n=%d: accepted as record %d", tsz, n, n2)
		}
	}
	// Out-of-range questions.
	for _, q := range [][2]int64{{tsz, tsz}, {tsz, -1}, {-1, 0}, {tsz, tsz + 1}} {
		if checkRecordBoth(t, p, q[0], th, q[1], h) {
			t.Fatalf("CheckRecord(t=%d, n=%d) accepted", q[0], q[1])
		}
	}
}

// mutateTreeProof checks that every mutation of the valid consistency proof
// p between (n, h) and (tsz, th) is rejected by both libraries.
func mutateTreeProof(t *testing.T, p []Hash, tsz int64, th Hash, n int64, h Hash) {
	for i := range p {
		if checkTreeBoth(t, flip(p, i, int(n)+5*i), tsz, th, n, h) {
			t.Fatalf("t=%d n=%d: bit flip in element %d accepted", tsz, n, i)
		}
	}
	if checkTreeBoth(t, p, tsz, th, n, flip([]Hash{h}, 0, int(tsz))[0]) {
		t.Fatalf("t=%d n=%d: flipped old hash accepted", tsz, n)
	}
	if checkTreeBoth(t, p, tsz, flip([]Hash{th}, 0, int(n))[0], n, h) {
		t.Fatalf("t=%d n=%d: flipped new hash accepted", tsz, n)
	}
	if len(p) > 0 {
		if checkTreeBoth(t, p[:len(p)-1], tsz, th, n, h) {
			t.Fatalf("t=%d n=%d: truncated proof accepted", tsz, n)
		}
		if checkTreeBoth(t, p[1:], tsz, th, n, h) {
			t.Fatalf("t=%d n=%d: proof without first element accepted", tsz, n)
		}
		if len(p) > 1 && p[0] != p[1] {
			q := append([]Hash(nil), p...)
			q[0], q[1] = q[1], q[0]
			if checkTreeBoth(t, q, tsz, th, n, h) {
				t.Fatalf("t=%d n=%d: reordered proof accepted", tsz, n)
			}
		}
	}
	if checkTreeBoth(t, append(append([]Hash(nil), p...), h), tsz, th, n, h) {
		t.Fatalf("t=%d n=%d: extended proof accepted", tsz, n)
	}
	if checkTreeBoth(t, append([]Hash{h}, p...), tsz, th, n, h) {
		t.Fatalf("t=%d n=%d: proof extended at the front accepted", tsz, n)
	}
	// Swapped sizes and hashes.
	if n != tsz && checkTreeBoth(t, p, n, h, tsz, th) {
		t.Fatalf("t=%d n=%d: swapped sizes accepted", tsz, n)
	}
	if h != th && checkTreeBoth(t, p, tsz, h, n, th) {
		t.Fatalf("t=%d n=%d: swapped hashes accepted", tsz, n)
	}
	for _, q := range [][2]int64{{tsz, 0}, {tsz, -1}, {0, 0}, {tsz, tsz + 1}, {-1, 1}} {
		if checkTreeBoth(t, p, q[0], th, q[1], h) {
			t.Fatalf("CheckTree(t=%d, n=%d) accepted", q[0], q[1])
		}
	}
}

// mutateThis reports whether the exhaustive tests mutate the proof for
// (tsz, n): every proof in trees of up to 128 records, and an eighth of the
// larger ones, spread over all sizes and indexes; every proof when
// TLOGKIT_LONG=1.
func mutateThis(tsz, n int64) bool {
	return longTests || tsz <= 128 || (n*37+tsz)%8 == 0
}

var longTests = os.Getenv("TLOGKIT_LONG") == "1"

// TestRecordProofsExhaustive proves and checks every record in every tree
// of up to exhaustiveN records with both libraries, and mutates the
// proofs that mutateThis selects.
func TestRecordProofsExhaustive(t *testing.T) {
	m, th := smallLog()
	t.Parallel()
	for tsz := int64(1); tsz <= exhaustiveN; tsz++ {
		for n := int64(0); n < tsz; n++ {
			p, err := ProveRecord(tsz, n, m)
			if err != nil {
				t.Fatalf("ProveRecord(%d, %d): %v", tsz, n, err)
			}
			xp, err := xtlog.ProveRecord(tsz, n, m.x())
			if err != nil {
				t.Fatal(err)
			}
			if !equalHashes(p, xp) {
				t.Fatalf("ProveRecord(%d, %d) differs from x/mod", tsz, n)
			}
			h := m[StoredHashIndex(0, n)]
			if !checkRecordBoth(t, p, tsz, th[tsz], n, h) {
				t.Fatalf("CheckRecord(%d, %d) rejects a valid proof", tsz, n)
			}
			if mutateThis(tsz, n) {
				mutateRecordProof(t, p, tsz, th[tsz], n, h, th[tsz-1])
			}
		}
	}
}

// TestTreeProofsExhaustive does the same for every consistency proof
// between trees of up to exhaustiveN records.
func TestTreeProofsExhaustive(t *testing.T) {
	m, th := smallLog()
	t.Parallel()
	for tsz := int64(1); tsz <= exhaustiveN; tsz++ {
		for n := int64(1); n <= tsz; n++ {
			p, err := ProveTree(tsz, n, m)
			if err != nil {
				t.Fatalf("ProveTree(%d, %d): %v", tsz, n, err)
			}
			xp, err := xtlog.ProveTree(tsz, n, m.x())
			if err != nil {
				t.Fatal(err)
			}
			if !equalHashes(p, xp) {
				t.Fatalf("ProveTree(%d, %d) differs from x/mod", tsz, n)
			}
			if !checkTreeBoth(t, p, tsz, th[tsz], n, th[n]) {
				t.Fatalf("CheckTree(%d, %d) rejects a valid proof", tsz, n)
			}
			if mutateThis(tsz, n) {
				mutateTreeProof(t, p, tsz, th[tsz], n, th[n])
				// The proof of another pair of sizes: both must agree.
				if n > 1 {
					checkTreeBoth(t, p, tsz, th[tsz], n-1, th[n-1])
				}
				if tsz > n {
					checkTreeBoth(t, p, tsz-1, th[tsz-1], n, th[n])
				}
			}
		}
	}
}
