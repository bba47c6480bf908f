package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

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
	ent, err := l.fullTile(ctx, t.L, t.N)
	if err != nil {
		return nil, err
	}
	return encodeHashes(make([]byte, 0, t.W*tlog.HashSize), ent.rows[0][:t.W]), nil
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
	for i := 0; i < len(recs); {
		idx := start + int64(i)
		tileN, off := idx/tileWidth, int(idx%tileWidth)
		var row []tlog.Hash
		if tileN == s.tree.N/tileWidth {
			row = s.rows[0][0]
		} else {
			ent, err := l.fullTile(ctx, 0, tileN)
			if err != nil {
				return err
			}
			row = ent.rows[0]
		}
		for ; i < len(recs) && off < tileWidth; i, off = i+1, off+1 {
			if off >= len(row) || leaves[i] != row[off] {
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
func (l *Log) ProveRecord(ctx context.Context, t, n int64) (tlog.RecordProof, error) {
	s := l.snap.Load()
	if n < 0 || n >= t || t > s.tree.N {
		return nil, fmt.Errorf("%w: ProveRecord(%d, %d) in a tree of size %d", ErrInvalid, t, n, s.tree.N)
	}
	return tlog.ProveRecord(t, n, l.hashReader(ctx, s))
}

// ProveTree returns the proof that the published tree of size t contains
// the tree of size n (1 <= n <= t <= latest published size).
func (l *Log) ProveTree(ctx context.Context, t, n int64) (tlog.TreeProof, error) {
	s := l.snap.Load()
	if n < 1 || n > t || t > s.tree.N {
		return nil, fmt.Errorf("%w: ProveTree(%d, %d) in a tree of size %d", ErrInvalid, t, n, s.tree.N)
	}
	return tlog.ProveTree(t, n, l.hashReader(ctx, s))
}

// TreeHash returns the root hash of the published tree of size n.
func (l *Log) TreeHash(ctx context.Context, n int64) (tlog.Hash, error) {
	s := l.snap.Load()
	if n < 0 || n > s.tree.N {
		return tlog.Hash{}, fmt.Errorf("%w: TreeHash(%d) in a tree of size %d", ErrInvalid, n, s.tree.N)
	}
	return l.treeHash(ctx, s, n)
}

func (l *Log) treeHash(ctx context.Context, s *snapshot, n int64) (tlog.Hash, error) {
	if n == 0 {
		return emptyTreeHash, nil
	}
	return tlog.TreeHash(n, l.hashReader(ctx, s))
}

// hashReader reads the stored hashes of the tree of snapshot s.
func (l *Log) hashReader(ctx context.Context, s *snapshot) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		var (
			lastL   = -1
			lastN   int64
			lastEnt *cachedTile
		)
		for i, idx := range indexes {
			if idx < 0 {
				return nil, fmt.Errorf("%w: stored hash index %d", ErrInvalid, idx)
			}
			level, k := tlog.SplitStoredHashIndex(idx)
			if level >= 63 || k >= s.tree.N>>level {
				return nil, fmt.Errorf("%w: stored hash %d/%d is not in the tree of size %d", ErrInvalid, level, k, s.tree.N)
			}
			L, r := level/tileHeight, level%tileHeight
			tileN := k >> (tileHeight - r)
			pos := k - tileN<<(tileHeight-r)
			if tileN == s.tree.N>>(tileHeight*L)>>tileHeight {
				row := s.rows[L][r]
				if pos >= int64(len(row)) {
					panic("storage: right edge lacks a complete hash")
				}
				out[i] = row[pos]
				continue
			}
			if L != lastL || tileN != lastN {
				ent, err := l.fullTile(ctx, L, tileN)
				if err != nil {
					return nil, err
				}
				lastL, lastN, lastEnt = L, tileN, ent
			}
			out[i] = lastEnt.row(r)[pos]
		}
		return out, nil
	})
}

// A cachedTile is a full hash tile with all of its rows.
type cachedTile struct {
	rows tileRows
}

func (c *cachedTile) row(r int) []tlog.Hash { return c.rows[r] }

// fullTile returns full hash tile L/n from the cache or the backend. A tile
// read from the backend is authenticated before use: its root must equal
// the hash at its position in the tile above (itself authenticated, or the
// in-memory right edge, which Open checked against the signed checkpoint).
func (l *Log) fullTile(ctx context.Context, L int, n int64) (*cachedTile, error) {
	cache := l.cache
	if L > 0 {
		cache = l.upperCache
	}
	if ent := cache.get(L, n); ent != nil {
		return ent, nil
	}
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
	var rows tileRows
	buf := make([]tlog.Hash, 2*tileWidth-2)
	off := 0
	for r := range tileHeight {
		w := tileWidth >> r
		rows[r] = buf[off : off+w : off+w]
		off += w
	}
	for i := range rows[0] {
		copy(rows[0][i][:], data[i*tlog.HashSize:])
	}
	rows.fill()
	root := tlog.NodeHash(rows[tileHeight-1][0], rows[tileHeight-1][1])
	want, err := l.upperHash(ctx, L+1, n)
	if err != nil {
		return nil, err
	}
	if root != want {
		return nil, fmt.Errorf("%w: full tile %d/%d does not hash to its parent", ErrCorrupt, L, n)
	}
	ent := &cachedTile{rows: rows}
	cache.put(L, n, ent)
	return ent, nil
}

// upperHash returns hash number k of tree level 8L (the root of full tile
// L-1/k), from the right edge or a full tile of level L.
func (l *Log) upperHash(ctx context.Context, L int, k int64) (tlog.Hash, error) {
	s := l.snap.Load()
	if L >= maxTileLevels || k >= s.tree.N>>(tileHeight*L) {
		return tlog.Hash{}, fmt.Errorf("%w: hash %d of level %d is not in the tree", ErrCorrupt, k, tileHeight*L)
	}
	tileN, pos := k>>tileHeight, k%tileWidth
	if tileN == s.tree.N>>(tileHeight*L)>>tileHeight {
		return s.rows[L][0][pos], nil
	}
	ent, err := l.fullTile(ctx, L, tileN)
	if err != nil {
		return tlog.Hash{}, err
	}
	return ent.rows[0][pos], nil
}

// A tileCache is a bounded cache of full tiles, which never change, with
// CLOCK eviction (an approximation of LRU): a hit takes only a read lock
// and sets the entry's reference bit.
type tileCache struct {
	max   int
	mu    sync.RWMutex
	items map[tileID]*cacheItem
	ring  []*cacheItem // the clock
	hand  int
}

type tileID struct {
	L int
	N int64
}

type cacheItem struct {
	id  tileID
	ent *cachedTile
	ref atomic.Bool
}

func newTileCache(max int) *tileCache {
	return &tileCache{max: max, items: make(map[tileID]*cacheItem)}
}

func (c *tileCache) get(L int, n int64) *cachedTile {
	if c.max <= 0 {
		return nil
	}
	c.mu.RLock()
	it, ok := c.items[tileID{L, n}]
	c.mu.RUnlock()
	if !ok {
		return nil
	}
	if !it.ref.Load() {
		it.ref.Store(true)
	}
	return it.ent
}

func (c *tileCache) put(L int, n int64, ent *cachedTile) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := tileID{L, n}
	if _, ok := c.items[id]; ok {
		return
	}
	it := &cacheItem{id: id, ent: ent}
	c.items[id] = it
	if len(c.ring) < c.max {
		c.ring = append(c.ring, it)
		return
	}
	// Advance the hand past referenced entries, clearing their bits, and
	// replace the first unreferenced one.
	for {
		old := c.ring[c.hand]
		if old.ref.Load() {
			old.ref.Store(false)
			c.hand = (c.hand + 1) % len(c.ring)
			continue
		}
		delete(c.items, old.id)
		c.ring[c.hand] = it
		c.hand = (c.hand + 1) % len(c.ring)
		return
	}
}
