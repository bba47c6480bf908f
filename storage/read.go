package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/tlogkit/tlogkit/internal/sha256x"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

// MaxReadRecords is the most records one ReadRecords call returns.
const MaxReadRecords = 1 << 16

// ReadTile returns the contents of hash tile t (t.H == 8, t.L >= 0) of the
// published tree: its t.W hashes, 32 bytes each. Full tiles and the partial
// tiles of every published tree size can be read; a tile beyond the latest
// published tree gives ErrNotFound. Data tiles (t.L == -1) are read with
// ReadRecords.
func (l *Log) ReadTile(ctx context.Context, t tile.Tile) ([]byte, error) {
	if t.H != tileHeight || t.L < 0 || t.L >= maxTileLevels || t.N < 0 || t.W < 1 || t.W > tileWidth {
		return nil, fmt.Errorf("%w: tile %+v (want H=8, 0<=L<8, 1<=W<=256)", ErrInvalid, t)
	}
	s := l.snap.Load()
	count := s.tree.N >> (tileHeight * t.L)
	if t.N > count>>tileHeight || t.N<<tileHeight+int64(t.W) > count {
		return nil, fmt.Errorf("%w: tile %d/%d.p/%d is not in the published tree of size %d", ErrNotFound, t.L, t.N, t.W, s.tree.N)
	}
	if t.N == count>>tileHeight {
		return encodeHashes(make([]byte, 0, t.W*tlog.HashSize), s.rows[t.L][0][:t.W]), nil
	}
	it, err := l.fullTile(ctx, s, nil, t.L, t.N)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, t.W*tlog.HashSize)
	for p := range t.W {
		h := it.leaf(p)
		out = append(out, h[:]...)
	}
	return out, nil
}

// ReadRecords returns records start, ..., start+n-1 of the published tree.
// n must be at most MaxReadRecords. The records are fresh copies.
func (l *Log) ReadRecords(ctx context.Context, start, n int64) ([][]byte, error) {
	if start < 0 || n < 0 || n > MaxReadRecords {
		return nil, fmt.Errorf("%w: ReadRecords(%d, %d)", ErrInvalid, start, n)
	}
	s := l.snap.Load()
	if start > s.tree.N || n > s.tree.N-start {
		return nil, fmt.Errorf("%w: records %d..%d are not in the published tree of size %d", ErrNotFound, start, start+n-1, s.tree.N)
	}
	if n == 0 {
		return [][]byte{}, nil
	}
	end := start + n
	first, last := start/tileWidth, (end-1)/tileWidth
	lo, _ := dataRange(first)
	_, hi := dataRange(last)
	out := make([][]byte, 0, n)
	var buf [][]byte
	tileN, next := first, int64(0) // expected tile and offset of the next chunk
	err := l.b.Scan(ctx, lo, hi, func(k, v []byte) error {
		if len(k) != 11 {
			return fmt.Errorf("%w: data key %x", ErrCorrupt, k)
		}
		kt := int64(binary.BigEndian.Uint64(k[1:]))
		off := int64(binary.BigEndian.Uint16(k[9:]))
		if kt != tileN {
			if next != tileWidth || kt != tileN+1 {
				return fmt.Errorf("%w: data tile %d missing or incomplete", ErrCorrupt, tileN)
			}
			tileN, next = kt, 0
		}
		if off != next {
			return fmt.Errorf("%w: data chunk %d/%d, want offset %d", ErrCorrupt, kt, off, next)
		}
		var err error
		buf, err = decodeRecords(buf[:0], v, l.opts.MaxRecordSize)
		if err != nil {
			return err
		}
		for j, r := range buf {
			idx := tileN*tileWidth + next + int64(j)
			if idx >= start && idx < end {
				out = append(out, append([]byte(nil), r...))
			}
		}
		next += int64(len(buf))
		if next > tileWidth {
			return fmt.Errorf("%w: data tile %d has more than %d records", ErrCorrupt, kt, tileWidth)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: reading records: %w", err)
	}
	if int64(len(out)) != n {
		return nil, fmt.Errorf("%w: found %d of records %d..%d", ErrCorrupt, len(out), start, end-1)
	}
	if err := l.checkRecords(ctx, s, start, out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkRecords authenticates records start, start+1, ... against the leaf
// hashes of the tree of snapshot s.
func (l *Log) checkRecords(ctx context.Context, s *snapshot, start int64, recs [][]byte) error {
	leaves := make([]tlog.Hash, len(recs))
	sha256x.Leaves(asArrays(leaves), recs)
	var cur tileCursor
	for i := 0; i < len(recs); {
		idx := start + int64(i)
		tileN, off := idx/tileWidth, int(idx%tileWidth)
		if tileN == s.tree.N/tileWidth {
			row := s.rows[0][0]
			for ; i < len(recs) && off < tileWidth; i, off = i+1, off+1 {
				if off >= len(row) || leaves[i] != row[off] {
					return fmt.Errorf("%w: record %d does not match its leaf hash", ErrCorrupt, start+int64(i))
				}
			}
			continue
		}
		it, err := l.fullTile(ctx, s, &cur, 0, tileN)
		if err != nil {
			return err
		}
		for ; i < len(recs) && off < tileWidth; i, off = i+1, off+1 {
			if leaves[i] != it.leaf(off) {
				return fmt.Errorf("%w: record %d does not match its leaf hash", ErrCorrupt, start+int64(i))
			}
		}
	}
	return nil
}

// Lookup returns the index of the record appended with key, or an error
// wrapping ErrNotFound if there is none in the published tree.
func (l *Log) Lookup(ctx context.Context, key []byte) (int64, error) {
	if len(key) == 0 || len(key) > l.opts.MaxKeySize {
		return 0, fmt.Errorf("%w: key of %d bytes", ErrInvalid, len(key))
	}
	s := l.snap.Load()
	v, err := l.b.Get(ctx, indexKey(key))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return 0, fmt.Errorf("storage: key %q: %w", key, ErrNotFound)
		}
		return 0, fmt.Errorf("storage: reading key index: %w", err)
	}
	idx, w := binary.Uvarint(v)
	if w <= 0 || w != len(v) || idx >= 1<<63 {
		return 0, fmt.Errorf("%w: key index entry %q = %x", ErrCorrupt, key, v)
	}
	if int64(idx) >= s.tree.N {
		// Committed but not yet published.
		return 0, fmt.Errorf("storage: key %q: %w", key, ErrNotFound)
	}
	return int64(idx), nil
}

// ProveRecord returns the proof that record n is in the published tree of
// size t (0 <= n < t <= latest published size), built from stored tiles.
//
// A proof reads at most one tile per tile level (three up to 2^24
// records), each through the tile cache; the hash of the one span that
// ends at the right edge of the latest tree, which would cost up to 62
// node hashes, is kept once per published tree.
func (l *Log) ProveRecord(ctx context.Context, t, n int64) (tlog.RecordProof, error) {
	s := l.snap.Load()
	if n < 0 || n >= t || t > s.tree.N {
		return nil, fmt.Errorf("%w: ProveRecord(%d, %d) in a tree of size %d", ErrInvalid, t, n, s.tree.N)
	}
	var buf [64]span
	spans := recordProofSpans(buf[:0], t, n)
	return l.proveSpans(ctx, s, spans)
}

// ProveTree returns the proof that the published tree of size t contains
// the tree of size n (1 <= n <= t <= latest published size).
func (l *Log) ProveTree(ctx context.Context, t, n int64) (tlog.TreeProof, error) {
	s := l.snap.Load()
	if n < 1 || n > t || t > s.tree.N {
		return nil, fmt.Errorf("%w: ProveTree(%d, %d) in a tree of size %d", ErrInvalid, t, n, s.tree.N)
	}
	var buf [64]span
	spans := treeProofSpans(buf[:0], t, n)
	return l.proveSpans(ctx, s, spans)
}

// TreeHash returns the root hash of the published tree of size n.
func (l *Log) TreeHash(ctx context.Context, n int64) (tlog.Hash, error) {
	s := l.snap.Load()
	if n < 0 || n > s.tree.N {
		return tlog.Hash{}, fmt.Errorf("%w: TreeHash(%d) in a tree of size %d", ErrInvalid, n, s.tree.N)
	}
	return l.treeHash(ctx, s, n)
}

// treeHash returns the root hash of the tree of size n <= s.tree.N.
func (l *Log) treeHash(ctx context.Context, s *snapshot, n int64) (tlog.Hash, error) {
	if n == 0 {
		return emptyTreeHash, nil
	}
	var cur tileCursor
	return l.spanHash(ctx, s, &cur, 0, n)
}

// A span is a range of leaves [lo, hi) whose hash is one proof element.
type span struct{ lo, hi int64 }

// split returns the size of the left subtree of a tree of n > 1 leaves:
// the largest power of two smaller than n (RFC 6962, section 2.1).
func split(n int64) int64 {
	return 1 << (bits.Len64(uint64(n-1)) - 1)
}

// recordProofSpans appends, bottom up, the leaf ranges whose hashes form
// the inclusion proof of leaf n in a tree of t leaves (0 <= n < t): the
// siblings on the path from the root down to n.
func recordProofSpans(spans []span, t, n int64) []span {
	var top [64]span
	k := 0
	for lo, hi := int64(0), t; hi-lo > 1; k++ {
		mid := lo + split(hi-lo)
		if n < mid {
			top[k], hi = span{mid, hi}, mid
		} else {
			top[k], lo = span{lo, mid}, mid
		}
	}
	for k > 0 {
		k--
		spans = append(spans, top[k])
	}
	return spans
}

// treeProofSpans appends, bottom up, the leaf ranges whose hashes form the
// consistency proof between trees of n and t leaves (0 < n <= t), as in
// RFC 6962, section 2.1.2, and golang.org/x/mod/sumdb/tlog.
func treeProofSpans(spans []span, t, n int64) []span {
	var top [64]span
	k := 0
	lo, hi := int64(0), t
	for ; n != hi; k++ {
		mid := lo + split(hi-lo)
		if n <= mid {
			top[k], hi = span{mid, hi}, mid
		} else {
			top[k], lo = span{lo, mid}, mid
		}
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

// proveSpans returns the hashes of spans, read from the tree of snapshot s.
// It first finds where each hash is (the tile lookups) and then copies
// them in a tight loop, so that the CPU fetches the hashes from memory in
// parallel rather than one after another.
func (l *Log) proveSpans(ctx context.Context, s *snapshot, spans []span) ([]tlog.Hash, error) {
	var (
		ptrs   [64]*tlog.Hash
		folded [64]tlog.Hash
		cur    tileCursor
	)
	for i, sp := range spans {
		p, err := l.spanHashPtr(ctx, s, &cur, sp.lo, sp.hi, &folded[i])
		if err != nil {
			return nil, err
		}
		ptrs[i] = p
	}
	proof := make([]tlog.Hash, len(spans))
	for i := range proof {
		proof[i] = *ptrs[i]
	}
	return proof, nil
}

// A tileCursor remembers the full tile last used at each tile level, so
// that the hashes of one proof that lie in one tile cost one cache lookup.
type tileCursor [maxTileLevels]struct {
	n  int64
	it *tileItem
}

// spanHash returns the hash of leaves [lo, hi) (0 <= lo < hi <= s.tree.N).
func (l *Log) spanHash(ctx context.Context, s *snapshot, cur *tileCursor, lo, hi int64) (tlog.Hash, error) {
	var buf tlog.Hash
	p, err := l.spanHashPtr(ctx, s, cur, lo, hi, &buf)
	if err != nil {
		return tlog.Hash{}, err
	}
	return *p, nil
}

// spanHashPtr returns where the hash of leaves [lo, hi) is (0 <= lo < hi
// <= s.tree.N): in a cached tile, the right edge, the right-edge span
// hashes, or buf, where it computes a hash that is stored nowhere.
func (l *Log) spanHashPtr(ctx context.Context, s *snapshot, cur *tileCursor, lo, hi int64, buf *tlog.Hash) (*tlog.Hash, error) {
	size := hi - lo
	if size&(size-1) == 0 && lo&(size-1) == 0 {
		level := bits.TrailingZeros64(uint64(size))
		return l.storedHash(ctx, s, cur, level, lo>>level)
	}
	if hi == s.tree.N {
		r, err := l.rightHashes(ctx, s, cur)
		if err != nil {
			return nil, err
		}
		for j := range r.n {
			if r.lo[j] == lo {
				return &r.h[j], nil
			}
		}
	}
	// Fold the maximal complete subtrees of [lo, hi), right to left.
	var hs [64]tlog.Hash
	m := 0
	for lo < hi {
		level := subTreeLevel(lo, hi)
		p, err := l.storedHash(ctx, s, cur, level, lo>>level)
		if err != nil {
			return nil, err
		}
		hs[m] = *p
		m++
		lo += 1 << level
	}
	*buf = foldHashes(hs[:m])
	return buf, nil
}

// subTreeLevel returns the level of the first maximal complete subtree of
// leaves [lo, hi), lo < hi: the largest power of two that divides lo and
// is at most hi-lo.
func subTreeLevel(lo, hi int64) int {
	level := bits.Len64(uint64(hi-lo)) - 1
	if lo != 0 {
		level = min(level, bits.TrailingZeros64(uint64(lo)))
	}
	return level
}

// foldHashes returns the hash of adjacent complete subtrees given left to
// right (a tree's root from its maximal subtrees).
func foldHashes(hs []tlog.Hash) tlog.Hash {
	h := hs[len(hs)-1]
	for i := len(hs) - 2; i >= 0; i-- {
		h = sha256x.Node((*[32]byte)(&hs[i]), (*[32]byte)(&h))
	}
	return h
}

// rightHashes are the hashes of the spans [lo, N) of the tree of snapshot
// s that are not complete subtrees: lo is the start of one of the maximal
// complete subtrees of [0, N) (the last excepted; lo = 0 gives the tree
// hash). Every inclusion or
// consistency proof in the latest tree has at most one span of this kind,
// whose hash would otherwise cost one node hash per 1 bit of N.
type rightHashes struct {
	s  *snapshot
	n  int
	lo [64]int64
	h  [64]tlog.Hash
}

// rightHashes returns the right-edge span hashes of snapshot s, computing
// them once per snapshot (concurrent first callers may both compute them).
func (l *Log) rightHashes(ctx context.Context, s *snapshot, cur *tileCursor) (*rightHashes, error) {
	if r := l.upperCache.right.Load(); r != nil && r.s == s {
		return r, nil
	}
	r := &rightHashes{s: s}
	var subs [64]tlog.Hash
	var starts [64]int64
	m := 0
	for lo, N := int64(0), s.tree.N; lo < N; m++ {
		level := subTreeLevel(lo, N)
		p, err := l.storedHash(ctx, s, cur, level, lo>>level)
		if err != nil {
			return nil, err
		}
		subs[m], starts[m] = *p, lo
		lo += 1 << level
	}
	// Suffixes from the second-to-last subtree back to the first (the
	// last alone is complete).
	h := subs[m-1]
	for j := m - 2; j >= 0; j-- {
		h = sha256x.Node((*[32]byte)(&subs[j]), (*[32]byte)(&h))
		r.lo[r.n], r.h[r.n] = starts[j], h
		r.n++
	}
	l.upperCache.right.Store(r)
	return r, nil
}

// storedHash returns where stored hash k of tree level level is, which
// must be in the tree of snapshot s: in the in-memory right edge, or in the
// full tile holding it (the one in cur if it is that tile). It does not
// read the hash itself.
func (l *Log) storedHash(ctx context.Context, s *snapshot, cur *tileCursor, level int, k int64) (*tlog.Hash, error) {
	if level >= 63 || k < 0 || k >= s.tree.N>>level {
		return nil, fmt.Errorf("%w: stored hash %d/%d is not in the tree of size %d", ErrInvalid, level, k, s.tree.N)
	}
	L, r := level/tileHeight, level%tileHeight
	tileN := k >> (tileHeight - r)
	pos := k & (tileWidth>>r - 1)
	if tileN == s.tree.N>>(tileHeight*L)>>tileHeight {
		row := s.rows[L][r]
		if pos >= int64(len(row)) {
			panic("storage: right edge lacks a complete hash")
		}
		return &row[pos], nil
	}
	it, err := l.fullTile(ctx, s, cur, L, tileN)
	if err != nil {
		return nil, err
	}
	if it == nil {
		// Never true; it spares the compiler's nil check, a load that
		// would wait for the item's memory before the hashes are copied.
		panic("storage: no tile")
	}
	return &it.h[tileIndex(r, pos)], nil
}

// fullTile returns full hash tile L/n of the tree of snapshot s from the
// cache or the backend. A tile read from the backend is authenticated
// before use: its root must equal the hash at its position in the tile
// above (itself authenticated, or the in-memory right edge, which Open
// checked against the signed checkpoint). Cached tiles were authenticated
// when they were read. If cur is not nil, fullTile first looks there, and
// remembers there the tiles it returns or reads to authenticate, which the
// same proof usually needs next (also when the caches are disabled).
func (l *Log) fullTile(ctx context.Context, s *snapshot, cur *tileCursor, L int, n int64) (*tileItem, error) {
	if cur != nil && cur[L].it != nil && cur[L].n == n {
		return cur[L].it, nil
	}
	it, err := l.loadTile(ctx, s, cur, L, n)
	if err != nil {
		return nil, err
	}
	if cur != nil {
		cur[L].n, cur[L].it = n, it
	}
	return it, nil
}

// loadTile returns full hash tile L/n from the cache, or reads and
// authenticates it (see fullTile).
func (l *Log) loadTile(ctx context.Context, s *snapshot, cur *tileCursor, L int, n int64) (*tileItem, error) {
	cache := l.cache
	if L > 0 {
		cache = l.upperCache
	}
	if it := cache.get(L, n); it != nil {
		l.stats.cacheHits.add()
		return it, nil
	}
	l.stats.cacheMisses.add()
	data, err := l.b.Get(ctx, tileKey(L, n))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: full tile %d/%d is missing", ErrCorrupt, L, n)
		}
		return nil, fmt.Errorf("storage: reading tile %d/%d: %w", L, n, err)
	}
	if len(data) != tileWidth*tlog.HashSize {
		return nil, fmt.Errorf("%w: full tile %d/%d has %d bytes", ErrCorrupt, L, n, len(data))
	}
	it, root := newTileItem(cacheKey(L, n), data)
	want, err := l.upperHash(ctx, s, cur, L+1, n)
	if err != nil {
		return nil, err
	}
	if root != want {
		return nil, fmt.Errorf("%w: full tile %d/%d does not hash to its parent", ErrCorrupt, L, n)
	}
	return cache.put(it), nil
}

// upperHash returns hash number k of tree level 8L (the root of full tile
// L-1/k), from the right edge or a full tile of level L.
func (l *Log) upperHash(ctx context.Context, s *snapshot, cur *tileCursor, L int, k int64) (tlog.Hash, error) {
	if L >= maxTileLevels || k >= s.tree.N>>(tileHeight*L) {
		return tlog.Hash{}, fmt.Errorf("%w: hash %d of level %d is not in the tree", ErrCorrupt, k, tileHeight*L)
	}
	tileN, pos := k>>tileHeight, k%tileWidth
	if tileN == s.tree.N>>(tileHeight*L)>>tileHeight {
		return s.rows[L][0][pos], nil
	}
	it, err := l.fullTile(ctx, s, cur, L, tileN)
	if err != nil {
		return tlog.Hash{}, err
	}
	return it.leaf(int(pos)), nil
}
