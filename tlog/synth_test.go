package tlog

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	xtlog "golang.org/x/mod/sumdb/tlog"
)

// A vtree is a virtual, consistent Merkle tree of up to 2^63 leaves that
// costs almost nothing to build: every leaf has the same hash except a few
// special ones, so a complete subtree without special leaves has a hash
// that depends only on its level. Node hashes are computed on demand.
type vtree struct {
	special map[uint64]Hash
	sorted  []uint64
	plain   [64]Hash // plain[l]: a complete subtree of 2^l ordinary leaves
	memo    map[[2]uint64]Hash
}

func newVtree(rng *rand.Rand, specials ...uint64) *vtree {
	v := &vtree{special: map[uint64]Hash{}, memo: map[[2]uint64]Hash{}}
	v.plain[0] = leafHash([]byte("ordinary leaf"))
	for l := 1; l < 64; l++ {
		v.plain[l] = nodeHash(&v.plain[l-1], &v.plain[l-1])
	}
	for _, s := range specials {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:], s)
		binary.BigEndian.PutUint64(b[8:], rng.Uint64())
		v.special[s] = leafHash(b[:])
		v.sorted = append(v.sorted, s)
	}
	slices.Sort(v.sorted)
	return v
}

// hasSpecial reports whether a special leaf lies in [lo, hi).
func (v *vtree) hasSpecial(lo, hi uint64) bool {
	i, _ := slices.BinarySearch(v.sorted, lo)
	return i < len(v.sorted) && v.sorted[i] < hi
}

// node returns the hash of the complete subtree at level l, index j.
func (v *vtree) node(l int, j uint64) Hash {
	lo := j << uint(l)
	hi := lo + 1<<uint(l) // trees have < 2^63 leaves: no wrap-around
	if !v.hasSpecial(lo, hi) {
		return v.plain[l]
	}
	if l == 0 {
		return v.special[j]
	}
	if h, ok := v.memo[[2]uint64{uint64(l), j}]; ok {
		return h
	}
	left, right := v.node(l-1, 2*j), v.node(l-1, 2*j+1)
	h := nodeHash(&left, &right)
	v.memo[[2]uint64{uint64(l), j}] = h
	return h
}

// leaf returns leaf i's hash.
func (v *vtree) leaf(i uint64) Hash { return v.node(0, i) }

// ReadHashes implements HashReader for trees of up to 2^62 leaves.
func (v *vtree) ReadHashes(indexes []int64) ([]Hash, error) {
	out := make([]Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 {
			return nil, errors.New("vtree: negative index")
		}
		l, n := SplitStoredHashIndex(x)
		out[i] = v.node(l, uint64(n))
	}
	return out, nil
}

func (v *vtree) x() xtlog.HashReader {
	return xtlog.HashReaderFunc(func(indexes []int64) ([]xtlog.Hash, error) {
		h, err := v.ReadHashes(indexes)
		return toX(h), err
	})
}

// refSplit is k in RFC 6962, section 2.1: the largest power of two < n.
func refSplit(n uint64) uint64 { return 1 << (bits.Len64(n-1) - 1) }

// mth is RFC 6962's MTH(D[lo:hi]), written from the RFC for these tests.
func (v *vtree) mth(lo, hi uint64) Hash {
	n := hi - lo
	if n == 0 {
		return emptyHash
	}
	if n&(n-1) == 0 && lo&(n-1) == 0 {
		return v.node(bits.TrailingZeros64(n), lo>>uint(bits.TrailingZeros64(n)))
	}
	k := refSplit(n)
	left, right := v.mth(lo, lo+k), v.mth(lo+k, hi)
	return nodeHash(&left, &right)
}

// path is RFC 6962's PATH(m, D[lo:hi]), bottom up.
func (v *vtree) path(m, lo, hi uint64) []Hash {
	if hi-lo <= 1 {
		return nil
	}
	k := refSplit(hi - lo)
	if m < lo+k {
		return append(v.path(m, lo, lo+k), v.mth(lo+k, hi))
	}
	return append(v.path(m, lo+k, hi), v.mth(lo, lo+k))
}

// subproof is RFC 6962's SUBPROOF(m, D[lo:hi], b), bottom up.
func (v *vtree) subproof(m, lo, hi uint64, b bool) []Hash {
	n := hi - lo
	if m == n {
		if b {
			return nil
		}
		return []Hash{v.mth(lo, hi)}
	}
	k := refSplit(n)
	if m <= k {
		return append(v.subproof(m, lo, lo+k, b), v.mth(lo+k, hi))
	}
	return append(v.subproof(m-k, lo+k, hi, false), v.mth(lo, lo+k))
}

// randSize returns a size in [1, max], log-uniform, often near a power of
// two.
func randSize(rng *rand.Rand, limit uint64) uint64 {
	bitsN := 1 + rng.IntN(bits.Len64(limit))
	s := rng.Uint64() >> uint(64-bitsN)
	switch rng.IntN(4) {
	case 0:
		s = 1 << uint(bitsN-1)
	case 1:
		s = 1<<uint(bitsN-1) + uint64(rng.IntN(3)) - 1
	}
	return min(max(s, 1), limit)
}

func randBelow(rng *rand.Rand, t uint64) uint64 {
	switch rng.IntN(5) {
	case 0:
		return 0
	case 1:
		return t - 1
	case 2:
		return (t - 1) &^ uint64(rng.IntN(8))
	}
	return rng.Uint64N(t)
}

// TestRandomLargeTrees compares proofs of random records and tree pairs in
// trees of up to 2^40 records, over a consistent virtual tree, between this
// package, x/mod and the RFC's definitions, then checks them and their
// mutations with both libraries.
func TestRandomLargeTrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	iters := 300
	if testing.Short() {
		iters = 50
	}
	for range iters {
		tsz := randSize(rng, 1<<40)
		n := randBelow(rng, tsz)
		old := 1 + randBelow(rng, tsz)
		v := newVtree(rng, n, tsz-1, old-1, old, rng.Uint64N(tsz), rng.Uint64N(tsz))
		T, N, O := int64(tsz), int64(n), int64(old)
		th := v.mth(0, tsz)
		got, err := TreeHash(T, v)
		xth, xerr := xtlog.TreeHash(T, v.x())
		if err != nil || xerr != nil || got != th || Hash(xth) != th {
			t.Fatalf("TreeHash(%d) = %v, %v; x/mod %v, %v; RFC %v", T, got, err, xth, xerr, th)
		}
		a, err := NewAppender(T, v)
		if err != nil || a.TreeHash() != th {
			t.Fatalf("NewAppender(%d).TreeHash: %v", T, err)
		}

		p, err := ProveRecord(T, N, v)
		xp, xerr := xtlog.ProveRecord(T, N, v.x())
		if err != nil || xerr != nil || !equalHashes(p, xp) || !slices.Equal(p, v.path(n, 0, tsz)) {
			t.Fatalf("ProveRecord(%d, %d) differs: %v %v", T, N, err, xerr)
		}
		if !checkRecordBoth(t, p, T, th, N, v.leaf(n)) {
			t.Fatalf("CheckRecord(%d, %d) rejects a valid proof", T, N)
		}
		mutateRecordProof(t, p, T, th, N, v.leaf(n), v.mth(0, tsz-1))

		tp, err := ProveTree(T, O, v)
		xtp, xerr := xtlog.ProveTree(T, O, v.x())
		if err != nil || xerr != nil || !equalHashes(tp, xtp) || !slices.Equal(tp, v.subproof(old, 0, tsz, true)) {
			t.Fatalf("ProveTree(%d, %d) differs: %v %v", T, O, err, xerr)
		}
		oh := v.mth(0, old)
		if !checkTreeBoth(t, tp, T, th, O, oh) {
			t.Fatalf("CheckTree(%d, %d) rejects a valid proof", T, O)
		}
		mutateTreeProof(t, tp, T, th, O, oh)
	}
}

// TestHugeTrees checks proofs in trees of up to 2^63-1 records, beyond
// what stored-hash indexes (and x/mod) can handle: CheckRecord and
// CheckTree must accept the RFC's proofs and reject their mutations, and
// the provers must refuse these sizes with an error.
func TestHugeTrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	sizes := []uint64{1<<63 - 1, 1<<63 - 2, 1 << 62, 1<<62 + 1, 3 << 61}
	for range 40 {
		sizes = append(sizes, 1<<62+rng.Uint64N(1<<62))
	}
	for _, tsz := range sizes {
		n := randBelow(rng, tsz)
		old := 1 + randBelow(rng, tsz)
		v := newVtree(rng, n, tsz-1, old-1, old, n^1)
		T, N, O := int64(tsz), int64(n), int64(old)
		th := v.mth(0, tsz)
		p := v.path(n, 0, tsz)
		if err := CheckRecord(p, T, th, N, v.leaf(n)); err != nil {
			t.Fatalf("CheckRecord(%d, %d): %v", T, N, err)
		}
		for i := range p {
			if CheckRecord(flip(p, i, i), T, th, N, v.leaf(n)) == nil {
				t.Fatalf("CheckRecord(%d, %d) accepts a flipped proof", T, N)
			}
		}
		if CheckRecord(p[1:], T, th, N, v.leaf(n)) == nil || CheckRecord(append(p, th), T, th, N, v.leaf(n)) == nil {
			t.Fatalf("CheckRecord(%d, %d) accepts a proof of the wrong length", T, N)
		}
		tp := v.subproof(old, 0, tsz, true)
		oh := v.mth(0, old)
		if err := CheckTree(tp, T, th, O, oh); err != nil {
			t.Fatalf("CheckTree(%d, %d): %v", T, O, err)
		}
		for i := range tp {
			if CheckTree(flip(tp, i, i), T, th, O, oh) == nil {
				t.Fatalf("CheckTree(%d, %d) accepts a flipped proof", T, O)
			}
		}
		if len(tp) > 0 && CheckTree(tp[1:], T, th, O, oh) == nil || CheckTree(append(tp, th), T, th, O, oh) == nil {
			t.Fatalf("CheckTree(%d, %d) accepts a proof of the wrong length", T, O)
		}
		if tsz > 1<<62 {
			if _, err := ProveRecord(T, N, v); !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("ProveRecord(%d): %v", T, err)
			}
			if _, err := ProveTree(T, O, v); !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("ProveTree(%d): %v", T, err)
			}
			if _, err := TreeHash(T, v); !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("TreeHash(%d): %v", T, err)
			}
		} else {
			// 2^62 itself: the stored-hash indexes reach 2^63-2.
			got, err := ProveRecord(T, N, v)
			if err != nil || !slices.Equal(got, p) {
				t.Fatalf("ProveRecord(2^62, %d): %v", N, err)
			}
			gotT, err := ProveTree(T, O, v)
			if err != nil || !slices.Equal(gotT, tp) {
				t.Fatalf("ProveTree(2^62, %d): %v", O, err)
			}
			if h, err := TreeHash(T, v); err != nil || h != th {
				t.Fatalf("TreeHash(2^62): %v", err)
			}
		}
	}
}

// hashOfIndex is a hash source that is not a consistent tree: every
// stored hash is SHA-256 of its index.
type hashOfIndex struct{}

func (hashOfIndex) ReadHashes(indexes []int64) ([]Hash, error) {
	out := make([]Hash, len(indexes))
	for i, x := range indexes {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(x))
		out[i] = sha256.Sum256(b[:])
	}
	return out, nil
}

// TestSyntheticSource compares this package's results with x/mod's over a
// source of arbitrary stored hashes, sizes up to 2^40: what matters is
// that both read the same indexes and combine them the same way, and that
// they make the same decisions on the resulting proofs.
func TestSyntheticSource(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	r := hashOfIndex{}
	xr := xtlog.HashReaderFunc(func(indexes []int64) ([]xtlog.Hash, error) {
		h, err := r.ReadHashes(indexes)
		return toX(h), err
	})
	for range 500 {
		T := int64(randSize(rng, 1<<40))
		N := int64(randBelow(rng, uint64(T)))
		O := 1 + int64(randBelow(rng, uint64(T)))
		th, _ := TreeHash(T, r)
		xth, _ := xtlog.TreeHash(T, xr)
		if th != Hash(xth) {
			t.Fatalf("TreeHash(%d) differs", T)
		}
		p, _ := ProveRecord(T, N, r)
		xp, _ := xtlog.ProveRecord(T, N, xr)
		if !equalHashes(p, xp) {
			t.Fatalf("ProveRecord(%d, %d) differs", T, N)
		}
		leaf, _ := r.ReadHashes([]int64{StoredHashIndex(0, N)})
		checkRecordBoth(t, p, T, th, N, leaf[0])
		tp, _ := ProveTree(T, O, r)
		xtp, _ := xtlog.ProveTree(T, O, xr)
		if !equalHashes(tp, xtp) {
			t.Fatalf("ProveTree(%d, %d) differs", T, O)
		}
		oh, _ := TreeHash(O, r)
		checkTreeBoth(t, tp, T, th, O, oh)
	}
}
