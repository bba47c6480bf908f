package tlog

import (
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// An Appender extends a tree by batches of records while keeping only its
// right edge in memory: the roots of the complete subtrees that make up the
// tree, one per 1 bit of its size, so at most 62 hashes. Appending a batch
// computes every stored hash the batch creates, in stored-hash order, and
// reads nothing from storage.
//
// The zero Appender is the empty tree; [NewAppender] resumes an existing
// one. An Appender is a plain value: copying it makes an independent
// snapshot, which is how a caller keeps the state to return to if writing a
// batch fails. Its methods must not be called concurrently with each
// other, but Append itself spreads a large batch over GOMAXPROCS goroutines.
type Appender struct {
	n int64
	// edge[l] is the root of the complete subtree of 2^l records on the
	// right edge of the tree: records (n>>l - 1)<<l to (n>>l)<<l - 1.
	// It is meaningful only when bit l of n is set.
	edge [62 + 1]Hash

	// minParallel, if nonzero, overrides defaultMinParallel (for tests).
	minParallel int
}

// NewAppender returns an Appender for the existing tree of size n, whose
// stored hashes r can read. It reads the right edge of the tree, one hash
// per 1 bit of n, in a single ReadHashes call: the same hashes that
// [TreeHash] reads. n must be in [0, 2^62].
//
// The Appender trusts those hashes. A caller that holds the signed tree
// head of size n should check that the Appender's [Appender.TreeHash] equals
// its hash before appending.
func NewAppender(n int64, r HashReader) (*Appender, error) {
	if n < 0 || n > maxStoredTreeSize {
		return nil, fmt.Errorf("%w: tree size %d in NewAppender", ErrInvalidInput, n)
	}
	a := &Appender{n: n}
	if n == 0 {
		return a, nil
	}
	indexes := appendSubTreeIndexes(make([]int64, 0, bits.OnesCount64(uint64(n))), 0, n)
	hashes, err := readHashes(r, indexes)
	if err != nil {
		return nil, err
	}
	// The subtrees come left to right, largest first.
	i := 0
	for l := 62; l >= 0; l-- {
		if n&(1<<uint(l)) != 0 {
			a.edge[l] = hashes[i]
			i++
		}
	}
	return a, nil
}

// N returns the number of records in the tree.
func (a *Appender) N() int64 { return a.n }

// TreeHash returns the root hash of the tree, computed from the right edge
// with one node hash per 1 bit of the size, less one. It equals
// [TreeHash](a.N(), r) for a reader r of the tree's stored hashes.
func (a *Appender) TreeHash() Hash {
	if a.n == 0 {
		return emptyHash
	}
	n := uint64(a.n)
	l := bits.TrailingZeros64(n)
	h := a.edge[l]
	for n &= n - 1; n != 0; n &= n - 1 {
		l = bits.TrailingZeros64(n)
		h = nodeHash(&a.edge[l], &h)
	}
	return h
}

// Tree returns the tree's size and root hash.
func (a *Appender) Tree() Tree {
	return Tree{N: a.n, Hash: a.TreeHash()}
}

// Append appends records to the tree. It returns the stored hashes the
// batch creates, in stored-hash order: the hash with stored-hash index
// start+i is hashes[i], and start is StoredHashCount of the old size. They
// are exactly the hashes that [StoredHashes] would return for the records
// one by one, concatenated: each record's leaf hash followed by the hashes
// of the subtrees it completes.
//
// Appending no records returns (StoredHashCount(N), nil, nil). The tree may
// grow to at most 2^62 records; a batch that would pass that is refused
// with an error wrapping [ErrInvalidInput], and the Appender is unchanged.
// Append does not keep records or the returned slice.
func (a *Appender) Append(records [][]byte) (start int64, hashes []Hash, err error) {
	return a.append(len(records), records, nil)
}

// AppendHashes is like [Appender.Append] but takes the records' leaf hashes
// (see [RecordHash]) instead of their content.
func (a *Appender) AppendHashes(leafHashes []Hash) (start int64, hashes []Hash, err error) {
	return a.append(len(leafHashes), nil, leafHashes)
}

// chunkLevel is the level of the largest subtree an Append computes as a
// unit: 2^8 = 256 leaves, a tile's width, whose leaves and nodes fit in a
// goroutine's small stack buffer and in the L1 cache.
const chunkLevel = 8

// defaultMinParallel is the smallest batch whose hashing Append spreads
// over several goroutines. Waking an idle core costs up to a few hundred
// microseconds on virtual machines (about 130µs measured on the 2-core
// development VM), so only batches that take a millisecond or more on one
// core (4096 records of 150 bytes take about 0.5ms) gain: there, 2 cores
// gain 1.2x at 4096 records, 1.5x at 16384 and 1.9x at 65536.
const defaultMinParallel = 4096

// A chunk is an aligned complete subtree of the batch: records
// lo to lo + 1<<level - 1.
type chunk struct {
	lo    int64
	level int
	root  Hash
}

func (a *Appender) append(m int, records [][]byte, leaves []Hash) (int64, []Hash, error) {
	n := a.n
	start := StoredHashCount(n)
	if m == 0 {
		return start, nil, nil
	}
	if int64(m) > maxStoredTreeSize-n {
		return 0, nil, fmt.Errorf("%w: appending %d records to a tree of %d", ErrInvalidInput, m, n)
	}
	hi := n + int64(m)
	minPar := a.minParallel
	if minPar == 0 {
		minPar = defaultMinParallel
	}
	if m >= minPar && runtime.GOMAXPROCS(0) > 1 {
		return start, a.appendParallel(start, hi, records, leaves), nil
	}
	b := batch{out: make([]Hash, StoredHashCount(hi)-start), base: start, first: n, records: records, leaves: leaves}

	// The chunks of a batch of fewer than 16 records have at most 8
	// records: spare small batches the clearing of a large buffer.
	if m < 16 {
		var tmp [16]Hash
		a.appendSerial(&b, hi, tmp[:])
	} else {
		var tmp [1 << chunkLevel]Hash
		a.appendSerial(&b, hi, tmp[:])
	}
	return start, b.out, nil
}

// appendSerial hashes the batch chunk by chunk, pushing each chunk's root
// into the edge. tmp is scratch space for the largest chunk.
func (a *Appender) appendSerial(b *batch, hi int64, tmp []Hash) {
	for lo := a.n; lo < hi; {
		level := min(subTreeLevel(lo, hi), chunkLevel)
		a.push(b, b.hashChunk(tmp, lo, level), level)
		lo += 1 << uint(level)
	}
}

// push appends to the tree the complete subtree of 2^level records whose
// root is h: records a.n to a.n + 1<<level - 1, where a.n is a multiple of
// 1<<level. It merges it with the equal-sized subtrees on the right edge,
// storing each new node in b.
func (a *Appender) push(b *batch, h Hash, level int) {
	n := uint64(a.n)
	end := n + 1<<uint(level)
	l := level
	for ; n&(1<<uint(l)) != 0; l++ {
		h = nodeHash(&a.edge[l], &h)
		b.out[StoredHashIndex(l+1, int64(end>>uint(l+1))-1)-b.base] = h
	}
	a.edge[l] = h
	a.n = int64(end)
}

// A batch is the state of one Append shared by the goroutines hashing it.
type batch struct {
	out     []Hash   // the new stored hashes
	base    int64    // the stored-hash index of out[0]
	first   int64    // the index of the first record of the batch
	records [][]byte // the records, or nil if leaves is set
	leaves  []Hash   // the leaf hashes, or nil if records is set
}

// hashChunk computes the leaf hashes and interior nodes of the complete
// subtree of 2^level records starting at record lo, stores them all in
// b.out and returns the subtree's root. tmp is scratch space of at least
// 2^level hashes.
func (b *batch) hashChunk(tmp []Hash, lo int64, level int) Hash {
	size := 1 << uint(level)
	buf := tmp[:size]
	i0 := lo - b.first
	if b.records != nil {
		leafHashes(buf, b.records[i0:i0+int64(size)])
	} else {
		copy(buf, b.leaves[i0:])
	}
	out := b.out
	for i := range buf {
		out[StoredHashIndex(0, lo+int64(i))-b.base] = buf[i]
	}
	for l := 1; l <= level; l++ {
		size >>= 1
		nodeHashes(buf[:size], buf[:2*size])
		j := lo >> uint(l)
		for i := range buf[:size] {
			out[StoredHashIndex(l, j+int64(i))-b.base] = buf[i]
		}
	}
	return buf[0]
}

// appendParallel is append for large batches: it cuts the batch into
// chunks, hashes them on all cores, then pushes their roots into the edge
// in order. It returns the new stored hashes.
//
// Waking an idle core can take a hundred microseconds or more, so the
// helper goroutines are started first, and the output is allocated while
// they wake up; one that wakes sooner waits for it, yielding.
func (a *Appender) appendParallel(start, hi int64, records [][]byte, leaves []Hash) []Hash {
	var (
		ready  atomic.Bool
		b      batch
		chunks []chunk
		next   atomic.Int64
	)
	work := func() {
		for !ready.Load() {
			runtime.Gosched()
		}
		var tmp [1 << chunkLevel]Hash
		for {
			i := int(next.Add(1) - 1)
			if i >= len(chunks) {
				return
			}
			c := &chunks[i]
			c.root = b.hashChunk(tmp[:], c.lo, c.level)
		}
	}
	m := hi - a.n
	workers := min(runtime.GOMAXPROCS(0), int(m>>chunkLevel)+1)
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	b = batch{out: make([]Hash, StoredHashCount(hi)-start), base: start, first: a.n, records: records, leaves: leaves}
	chunks = make([]chunk, 0, m>>chunkLevel+2*chunkLevel+2)
	for lo := a.n; lo < hi; {
		level := min(subTreeLevel(lo, hi), chunkLevel)
		chunks = append(chunks, chunk{lo: lo, level: level})
		lo += 1 << uint(level)
	}
	ready.Store(true)
	work()
	wg.Wait()
	for i := range chunks {
		a.push(&b, chunks[i].root, chunks[i].level)
	}
	return b.out
}
