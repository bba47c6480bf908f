package tlog

import (
	"fmt"
	"math/bits"
)

// A Tree is a tree description: its size and root hash.
type Tree struct {
	N    int64
	Hash Hash
}

// A RecordProof is a verifiable proof that a particular log root contains a
// particular record (RFC 6962's audit path), ordered from the leaf upward.
type RecordProof []Hash

// A TreeProof is a verifiable proof that a particular log tree contains as a
// prefix all records present in an earlier tree (RFC 6962's consistency
// proof), ordered from the bottom upward.
type TreeProof []Hash

// split returns the size of the left subtree of a tree with n > 1 leaves:
// the largest power of two smaller than n (RFC 6962, section 2.1).
func split(n int64) int64 {
	return int64(1) << (bits.Len64(uint64(n-1)) - 1)
}

// subTreeLevel returns the level of the first maximal complete subtree of
// the leaves [lo, hi), lo < hi: the largest power of two that divides lo
// and fits in hi-lo.
func subTreeLevel(lo, hi int64) int {
	level := bits.Len64(uint64(hi-lo)) - 1
	if tz := bits.TrailingZeros64(uint64(lo)); tz < level {
		level = tz
	}
	return level
}

// appendSubTreeIndexes appends the stored-hash indexes of the maximal
// complete subtrees that make up leaves [lo, hi), left to right.
func appendSubTreeIndexes(need []int64, lo, hi int64) []int64 {
	for lo < hi {
		level := subTreeLevel(lo, hi)
		need = append(need, StoredHashIndex(level, lo>>uint(level)))
		lo += int64(1) << uint(level)
	}
	return need
}

// subTreeCount returns the number of hashes appendSubTreeIndexes uses for
// leaves [lo, hi).
func subTreeCount(lo, hi int64) int {
	c := 0
	for lo < hi {
		lo += int64(1) << uint(subTreeLevel(lo, hi))
		c++
	}
	return c
}

// foldSubTree hashes the complete subtrees of a range of leaves, given left
// to right, into the hash of that range.
func foldSubTree(hashes []Hash) Hash {
	h := hashes[len(hashes)-1]
	for i := len(hashes) - 2; i >= 0; i-- {
		h = nodeHash(&hashes[i], &h)
	}
	return h
}

// pathLen returns the length of the path that leads from node fn up to the
// root of a tree whose last node at fn's level is sn (fn <= sn): one
// sibling per level below the point where the paths of fn and sn meet,
// where both have a sibling, and above it one per level where the shared
// path is a right child.
func pathLen(fn, sn uint64) int {
	inner := bits.Len64(fn ^ sn)
	return inner + bits.OnesCount64(fn>>uint(inner))
}

// TreeHash computes the root hash of the tree with n records, reading the
// stored hashes it needs (one per 1 bit of n, at most 62) from r in a
// single ReadHashes call. The empty tree's hash is SHA-256 of the empty
// string. n must be in [0, 2^62].
func TreeHash(n int64, r HashReader) (Hash, error) {
	if n < 0 || n > maxStoredTreeSize {
		return Hash{}, fmt.Errorf("%w: tree size %d in TreeHash", ErrInvalidInput, n)
	}
	if n == 0 {
		return emptyHash, nil
	}
	indexes := appendSubTreeIndexes(make([]int64, 0, bits.OnesCount64(uint64(n))), 0, n)
	hashes, err := readHashes(r, indexes)
	if err != nil {
		return Hash{}, err
	}
	return foldSubTree(hashes), nil
}

// A span is a range of leaves [lo, hi) whose hash is one proof element.
type span struct{ lo, hi int64 }

// recordProofSpans appends, bottom up, the leaf ranges whose hashes form the
// inclusion proof of leaf n in a tree of t leaves (0 <= n < t).
func recordProofSpans(spans []span, t, n int64) []span {
	var top [64]span
	k := 0
	lo, hi := int64(0), t
	for hi-lo > 1 {
		mid := lo + split(hi-lo)
		if n < mid {
			top[k] = span{mid, hi}
			hi = mid
		} else {
			top[k] = span{lo, mid}
			lo = mid
		}
		k++
	}
	for k > 0 {
		k--
		spans = append(spans, top[k])
	}
	return spans
}

// treeProofSpans appends, bottom up, the leaf ranges whose hashes form the
// consistency proof between trees of n and t leaves (0 < n <= t).
func treeProofSpans(spans []span, t, n int64) []span {
	var top [64]span
	k := 0
	lo, hi := int64(0), t
	for n != hi {
		mid := lo + split(hi-lo)
		if n <= mid {
			top[k] = span{mid, hi}
			hi = mid
		} else {
			top[k] = span{lo, mid}
			lo = mid
		}
		k++
	}
	if lo != 0 {
		spans = append(spans, span{lo, hi})
	}
	for k > 0 {
		k--
		spans = append(spans, top[k])
	}
	return spans
}

// proveSpans reads the hashes of the given spans from r in one ReadHashes
// call and returns one hash per span.
func proveSpans(spans []span, r HashReader) ([]Hash, error) {
	count := 0
	for _, s := range spans {
		count += subTreeCount(s.lo, s.hi)
	}
	proof := make([]Hash, len(spans))
	if count == 0 {
		return proof, nil
	}
	indexes := make([]int64, 0, count)
	for _, s := range spans {
		indexes = appendSubTreeIndexes(indexes, s.lo, s.hi)
	}
	hashes, err := readHashes(r, indexes)
	if err != nil {
		return nil, err
	}
	for i, s := range spans {
		c := subTreeCount(s.lo, s.hi)
		proof[i] = foldSubTree(hashes[:c])
		hashes = hashes[c:]
	}
	return proof, nil
}

// ProveRecord returns the proof that the tree of size t contains the record
// with index n, reading the stored hashes it needs from r in one ReadHashes
// call. It requires 0 <= n < t <= 2^62.
func ProveRecord(t, n int64, r HashReader) (RecordProof, error) {
	if t < 0 || n < 0 || n >= t || t > maxStoredTreeSize {
		return nil, fmt.Errorf("%w in ProveRecord: tree size %d, record %d", ErrInvalidInput, t, n)
	}
	var buf [64]span
	p, err := proveSpans(recordProofSpans(buf[:0], t, n), r)
	return RecordProof(p), err
}

// CheckRecord verifies that p is a valid proof that the tree of size t with
// hash th has an n'th record with hash h. It requires 0 <= n < t, accepts
// every such size up to 2^63-1, and does not allocate unless it fails.
// A proof that does not verify gives an error wrapping [ErrProofFailed].
func CheckRecord(p RecordProof, t int64, th Hash, n int64, h Hash) error {
	if t < 0 || n < 0 || n >= t {
		return fmt.Errorf("%w in CheckRecord: tree size %d, record %d", ErrInvalidInput, t, n)
	}
	// Walk up from the leaf: fn is the node's index at the current level
	// and sn the index of the last node at that level (RFC 9162, 2.1.3.2).
	fn, sn := uint64(n), uint64(t-1)
	if len(p) != pathLen(fn, sn) {
		return errProofFailed
	}
	for i := range p {
		if sn == 0 {
			return errProofFailed
		}
		if fn&1 == 1 || fn == sn {
			h = nodeHash(&p[i], &h)
			// A right-edge node with no sibling at this level moves up
			// unchanged until it is a right child.
			if fn&1 == 0 {
				// fn == sn != 0 here, so fn has a set bit.
				s := bits.TrailingZeros64(fn)
				fn >>= uint(s)
				sn >>= uint(s)
			}
		} else {
			h = nodeHash(&h, &p[i])
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || h != th {
		return errProofFailed
	}
	return nil
}

// ProveTree returns the proof that the tree of size t contains as a prefix
// all the records of the tree of size n, reading the stored hashes it needs
// from r in one ReadHashes call. It requires 0 < n <= t <= 2^62.
func ProveTree(t, n int64, r HashReader) (TreeProof, error) {
	if t < 1 || n < 1 || n > t || t > maxStoredTreeSize {
		return nil, fmt.Errorf("%w in ProveTree: tree sizes %d and %d", ErrInvalidInput, t, n)
	}
	var buf [65]span
	p, err := proveSpans(treeProofSpans(buf[:0], t, n), r)
	return TreeProof(p), err
}

// CheckTree verifies that p is a valid proof that the tree of size t with
// hash th contains as a prefix the tree of size n with hash h. It requires
// 0 < n <= t, accepts every such size up to 2^63-1, and does not allocate
// unless it fails. A proof that does not verify gives an error wrapping
// [ErrProofFailed].
func CheckTree(p TreeProof, t int64, th Hash, n int64, h Hash) error {
	if t < 1 || n < 1 || n > t {
		return fmt.Errorf("%w in CheckTree: tree sizes %d and %d", ErrInvalidInput, t, n)
	}
	if n == t {
		if len(p) != 0 || h != th {
			return errProofFailed
		}
		return nil
	}
	// RFC 9162, 2.1.4.2. fr follows the old tree's root and sr the new
	// one's. When n is a power of two the old tree is a complete subtree
	// and its hash is the proof's implicit first element.
	fn, sn := uint64(n-1), uint64(t-1)
	s := bits.TrailingZeros64(^fn)
	fn >>= uint(s)
	sn >>= uint(s)
	want := pathLen(fn, sn)
	if fn != 0 {
		want++
	}
	if len(p) != want {
		return errProofFailed
	}
	var fr, sr Hash
	rest := []Hash(p)
	if fn == 0 {
		fr = h
	} else {
		if len(rest) == 0 {
			return errProofFailed
		}
		fr = rest[0]
		rest = rest[1:]
	}
	// Until the path first takes a right sibling, fr and sr are the same
	// value hashed with the same siblings: hash it once.
	same := true
	sr = fr
	for i := range rest {
		c := &rest[i]
		if sn == 0 {
			return errProofFailed
		}
		if fn&1 == 1 || fn == sn {
			fr = nodeHash(c, &fr)
			if same {
				sr = fr
			} else {
				sr = nodeHash(c, &sr)
			}
			if fn&1 == 0 {
				// fn == sn != 0 here, so fn has a set bit.
				s := bits.TrailingZeros64(fn)
				fn >>= uint(s)
				sn >>= uint(s)
			}
		} else {
			sr = nodeHash(&sr, c)
			same = false
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || fr != h || sr != th {
		return errProofFailed
	}
	return nil
}
