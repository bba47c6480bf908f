package tlog

import (
	"fmt"
	"math/bits"
)

// The stored hashes of a log are numbered in the order in which an
// append-only writer produces them: appending record n stores its leaf hash
// (level 0) and then the hash of every subtree that record completes, from
// the bottom up. For the first four records:
//
//	index: 0   1   2   3   4   5   6
//	hash:  L0  L1  N01 L2  L3  N23 N0123
//
// so StoredHashIndex(0, 2) == 3 and StoredHashIndex(2, 0) == 6.

// maxStoredTreeSize is the largest tree whose stored hashes all have an
// index that fits in an int64: StoredHashCount(1<<62) == 1<<63 - 1.
const maxStoredTreeSize = 1 << 62

// StoredHashIndex returns the index of the stored hash of the subtree at the
// given level whose leaves are records n<<level to (n+1)<<level - 1.
// The result is meaningful only when that subtree lies within a tree of at
// most 2^62 records.
func StoredHashIndex(level int, n int64) int64 {
	// The hash is stored with the last record of the subtree, m. Records
	// 0..m-1 store 2m - popcount(m) hashes in total, and record m stores
	// its leaf and then one hash per level up to this one.
	m := uint64(n)<<uint(level) + (uint64(1)<<uint(level) - 1)
	return int64(2*m-uint64(bits.OnesCount64(m))) + int64(level)
}

// SplitStoredHashIndex is the inverse of [StoredHashIndex]:
// StoredHashIndex(SplitStoredHashIndex(index)) == index for index >= 0.
func SplitStoredHashIndex(index int64) (level int, n int64) {
	// Find the record m whose append stored this hash: the largest m with
	// StoredHashIndex(0, m) <= index. Since StoredHashIndex(0, m) is
	// 2m - popcount(m), m lies in [index/2 - 32, index/2].
	m := index / 2
	start := StoredHashIndex(0, m)
	for start > index {
		m--
		start = StoredHashIndex(0, m)
	}
	// Record m stores 1 + trailingOnes(m) hashes; step forward while the
	// next record's first hash is still at or before index.
	for {
		next := start + 1 + int64(bits.TrailingZeros64(uint64(m+1)))
		if next > index {
			break
		}
		m++
		start = next
	}
	level = int(index - start)
	return level, m >> uint(level)
}

// StoredHashCount returns the number of stored hashes of a tree with n
// records.
func StoredHashCount(n int64) int64 {
	if n <= 0 {
		return 0
	}
	// Every hash up to the last leaf, plus one for each subtree that the
	// last leaf completes.
	return StoredHashIndex(0, n-1) + 1 + int64(bits.TrailingZeros64(uint64(n)))
}

// StoredHashes returns the hashes that must be stored when appending record
// n, whose content is data, to a tree of n records. The first is the
// record's leaf hash; the rest are the hashes of the subtrees it completes,
// bottom up. r must be able to return every hash already stored for records
// 0..n-1.
func StoredHashes(n int64, data []byte, r HashReader) ([]Hash, error) {
	return StoredHashesForRecordHash(n, RecordHash(data), r)
}

// StoredHashesForRecordHash is like [StoredHashes] but takes the record's
// leaf hash instead of its content.
func StoredHashesForRecordHash(n int64, h Hash, r HashReader) ([]Hash, error) {
	if n < 0 || n >= maxStoredTreeSize {
		return nil, fmt.Errorf("tlog: invalid record index %d in StoredHashes", n)
	}
	// Each trailing 1 bit of n completes a subtree, whose left half is an
	// already stored hash.
	m := bits.TrailingZeros64(uint64(n + 1))
	var idxBuf [64]int64
	indexes := idxBuf[:m]
	for i := 0; i < m; i++ {
		indexes[m-1-i] = StoredHashIndex(i, n>>uint(i)-1)
	}
	hashes := make([]Hash, 1, 1+m)
	hashes[0] = h
	if m == 0 {
		return hashes, nil
	}
	old, err := r.ReadHashes(indexes)
	if err != nil {
		return nil, err
	}
	if len(old) != m {
		return nil, fmt.Errorf("tlog: ReadHashes(%d indexes) = %d hashes", m, len(old))
	}
	for i := 0; i < m; i++ {
		h = nodeHash(&old[m-1-i], &h)
		hashes = append(hashes, h)
	}
	return hashes, nil
}

// A HashReader can read hashes of the tree by stored-hash index.
type HashReader interface {
	// ReadHashes returns the hashes with the given stored-hash indexes,
	// in the same order, or an error. A result of another length is
	// treated as an error by every caller in this package.
	ReadHashes(indexes []int64) ([]Hash, error)
}

// A HashReaderFunc is a function implementing [HashReader].
type HashReaderFunc func([]int64) ([]Hash, error)

// ReadHashes returns f(indexes).
func (f HashReaderFunc) ReadHashes(indexes []int64) ([]Hash, error) {
	return f(indexes)
}
