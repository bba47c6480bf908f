package tlog

import (
	"fmt"
	"math/bits"
)

// maxStoredTreeSize is the largest tree whose stored hashes all have an
// index that fits in an int64: StoredHashCount(1<<62) == 1<<63 - 1.
const maxStoredTreeSize = 1 << 62

// StoredHashIndex maps the tree coordinates (level, n) to the dense
// stored-hash index described in the package documentation: the subtree at
// the given level whose leaves are records n<<level to (n+1)<<level - 1.
//
// The result is meaningful for level >= 0, n >= 0 and a subtree inside a
// tree of at most 2^62 records. For other arguments it returns what x/mod's
// StoredHashIndex returns (arithmetic modulo 2^64); it never panics.
func StoredHashIndex(level int, n int64) int64 {
	// The hash is stored with the last record of the subtree, m. Records
	// 0..m-1 store 2m - popcount(m) hashes in total, and record m stores
	// its leaf and then one hash per level up to this one.
	m := uint64(n)
	switch {
	case level >= 64:
		m = ^uint64(0)
	case level > 0:
		m = m<<uint(level) | (uint64(1)<<uint(level) - 1)
	}
	if int64(m) <= 0 {
		// x/mod sums m + m/2 + m/4 + ... only while m is positive.
		return int64(level)
	}
	return int64(2*m-uint64(bits.OnesCount64(m))) + int64(level)
}

// SplitStoredHashIndex is the inverse of [StoredHashIndex]:
// StoredHashIndex(SplitStoredHashIndex(index)) == index for every
// index >= 0. A negative index names no stored hash; for it,
// SplitStoredHashIndex returns (-1, -1) (x/mod panics).
func SplitStoredHashIndex(index int64) (level int, n int64) {
	if index < 0 {
		return -1, -1
	}
	// Find the record m whose append stored this hash: the largest m with
	// first(m) = 2m - popcount(m) <= index. first(index/2) <= index, and
	// first grows by at least 1 per record, so m is at most about 33
	// records past index/2. Unsigned arithmetic cannot overflow here.
	x := uint64(index)
	m := x / 2
	start := 2*m - uint64(bits.OnesCount64(m))
	for {
		// Record m stores 1 + trailingOnes(m) hashes.
		next := start + 1 + uint64(bits.TrailingZeros64(m+1))
		if next > x {
			break
		}
		m++
		start = next
	}
	level = int(x - start)
	return level, int64(m >> uint(level))
}

// StoredHashCount returns the number of stored hashes of a tree with n
// records. It is meaningful for 0 <= n <= 2^62; it returns 0 for n <= 0.
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
// bottom up, so they have stored-hash indexes StoredHashCount(n),
// StoredHashCount(n)+1, and so on. r must be able to return every hash
// already stored for records 0..n-1; StoredHashes reads at most 62.
//
// To append many records, an [Appender] is much faster: it keeps the hashes
// it needs in memory and reads nothing.
func StoredHashes(n int64, data []byte, r HashReader) ([]Hash, error) {
	if n < 0 || n >= maxStoredTreeSize {
		return nil, fmt.Errorf("%w: record index %d in StoredHashes", ErrInvalidInput, n)
	}
	return StoredHashesForRecordHash(n, leafHash(data), r)
}

// StoredHashesForRecordHash is like [StoredHashes] but takes the record's
// leaf hash instead of its content.
func StoredHashesForRecordHash(n int64, h Hash, r HashReader) ([]Hash, error) {
	if n < 0 || n >= maxStoredTreeSize {
		return nil, fmt.Errorf("%w: record index %d in StoredHashesForRecordHash", ErrInvalidInput, n)
	}
	// Each trailing 1 bit of n completes a subtree, whose left half is an
	// already stored hash.
	m := bits.TrailingZeros64(uint64(n + 1))
	hashes := make([]Hash, 1, 1+m)
	hashes[0] = h
	if m == 0 {
		return hashes, nil
	}
	indexes := make([]int64, m)
	for i := 0; i < m; i++ {
		indexes[m-1-i] = StoredHashIndex(i, n>>uint(i)-1)
	}
	old, err := readHashes(r, indexes)
	if err != nil {
		return nil, err
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
	// in the same order, or an error. Every function of this package
	// treats a result of another length as an error (wrapping
	// [ErrHashCount]). The functions of this package never modify the
	// returned slice and do not keep it.
	ReadHashes(indexes []int64) ([]Hash, error)
}

// A HashReaderFunc is a function implementing [HashReader].
type HashReaderFunc func([]int64) ([]Hash, error)

// ReadHashes returns f(indexes).
func (f HashReaderFunc) ReadHashes(indexes []int64) ([]Hash, error) {
	return f(indexes)
}

// readHashes calls r.ReadHashes and checks the length of its result.
func readHashes(r HashReader, indexes []int64) ([]Hash, error) {
	hashes, err := r.ReadHashes(indexes)
	if err != nil {
		return nil, err
	}
	if len(hashes) != len(indexes) {
		return nil, fmt.Errorf("%w: ReadHashes(%d indexes) = %d hashes", ErrHashCount, len(indexes), len(hashes))
	}
	return hashes, nil
}
