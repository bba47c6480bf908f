package storage

import (
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/tlogkit/tlogkit/internal/sha256x"
	"github.com/tlogkit/tlogkit/tlog"
)

// A tileItem is an authenticated full hash tile in the cache: all 510
// hashes of its 8 rows (its root is the hash above it), in one 16 KiB
// allocation with no pointers, so that a proof touches one object and the
// garbage collector never scans tile hashes.
//
// The hashes are laid out in subtrees of height 4, so that the 8 siblings
// on a leaf's path to the tile root lie in two runs of 960 bytes instead of
// eight rows 16 KiB apart (fewer pages touched, on a cache far larger than
// the CPU's; measured, warm proofs at 10^7 records are only a few per cent
// faster than with the rows in order):
//
//	h[0:30]           rows 4..7 (16+8+4+2 hashes), the top subtree
//	h[30+30b:60+30b]  rows 0..3 of leaves 16b..16b+15 (16+8+4+2), b = 0..15
//
// Within each subtree, row j (0 <= j < 4) starts at 32-32>>j.
type tileItem struct {
	key uint64 // cacheKey(L, N); never changes
	_   [64 - 8]byte
	h   [2*tileWidth - 2]tlog.Hash
}

// cacheKey packs tile level L (< 8) and tile number n (< 2^60).
func cacheKey(L int, n int64) uint64 { return uint64(n)<<3 | uint64(L) }

// tileIndex returns the position in tileItem.h of hash p of row r
// (0 <= r < 8, 0 <= p < 256>>r).
func tileIndex(r int, p int64) int {
	if r >= 4 {
		return 32 - 32>>(r-4) + int(p)
	}
	return 30*(1+int(p>>(4-r))) + 32 - 32>>r + int(p&(16>>r-1))
}

// hash returns hash p of row r.
func (it *tileItem) hash(r int, p int64) tlog.Hash { return it.h[tileIndex(r, p)] }

// leaf returns hash p of row 0.
func (it *tileItem) leaf(p int) tlog.Hash { return it.h[30+30*(p>>4)+p&15] }

// newTileItem lays out a full tile from its 256 level-0 hashes (32 bytes
// each in data), computes its other rows, and returns it with its root.
func newTileItem(key uint64, data []byte) (*tileItem, tlog.Hash) {
	it := &tileItem{key: key}
	h := asArrays(it.h[:])
	for b := range 16 {
		blk := h[30+30*b : 60+30*b]
		for i := range 16 {
			copy(blk[i][:], data[(16*b+i)*tlog.HashSize:])
		}
		sha256x.Nodes(blk[16:24], blk[0:16])
		sha256x.Nodes(blk[24:28], blk[16:24])
		sha256x.Nodes(blk[28:30], blk[24:28])
		h[b] = sha256x.Node(&blk[28], &blk[29])
	}
	top := h[0:30]
	sha256x.Nodes(top[16:24], top[0:16])
	sha256x.Nodes(top[24:28], top[16:24])
	sha256x.Nodes(top[28:30], top[24:28])
	return it, sha256x.Node(&top[28], &top[29])
}

// A tileCache is a bounded cache of full tiles, which never change, with
// CLOCK eviction (an approximation of LRU). A hit takes no lock and does
// not touch the item's header: the items sit in an open-addressed (linear
// probing) table whose slots hold the key, the reference bit and the item,
// published with a sequence number (a seqlock), and only put rewrites
// slots, under the mutex. A reader that sees a slot being rewritten takes
// it as a miss, and then reads and authenticates the tile again, which
// costs time but never gives a wrong tile.
type tileCache struct {
	max  int
	tab  atomic.Pointer[slotTable]
	mu   sync.Mutex
	ring []*tileItem // the clock: every item in the table
	hand int

	// right holds the hashes of the right-edge spans of the latest
	// snapshot that a proof used (see Log.rightHashes); only Log.upperCache's
	// is used.
	right atomic.Pointer[rightHashes]
}

// A slotTable is a power-of-two array of slots; at most half are in use.
type slotTable struct {
	shift uint // 64 - log2(len(slots))
	slots []slot
}

// A slot holds an item (nil if free) and its key, valid when seq is even
// and unchanged across the reads, and the item's CLOCK reference bit.
type slot struct {
	seq atomic.Uint32
	ref atomic.Uint32
	key atomic.Uint64
	it  atomic.Pointer[tileItem]
	_   [8]byte // one slot per half cache line
}

func newSlotTable(n int) *slotTable {
	return &slotTable{shift: uint(64 - bits.TrailingZeros(uint(n))), slots: make([]slot, n)}
}

// home returns the slot where the search for key starts (Fibonacci hashing).
func (t *slotTable) home(key uint64) int { return int((key * 0x9E3779B97F4A7C15) >> t.shift) }

// set rewrites slot i (it may be nil). The caller holds the cache's mutex.
func (t *slotTable) set(i int, it *tileItem, ref uint32) {
	sl := &t.slots[i]
	sl.seq.Add(1)
	var key uint64
	if it != nil {
		key = it.key
	}
	sl.it.Store(it)
	sl.key.Store(key)
	sl.ref.Store(ref)
	sl.seq.Add(1)
}

func newTileCache(max int) *tileCache {
	return &tileCache{max: max}
}

// get returns the cached tile L/n, or nil.
func (c *tileCache) get(L int, n int64) *tileItem {
	t := c.tab.Load()
	if t == nil {
		return nil
	}
	key := cacheKey(L, n)
	mask := len(t.slots) - 1
	for i, probes := t.home(key), 0; probes < len(t.slots); i, probes = (i+1)&mask, probes+1 {
		sl := &t.slots[i]
		seq := sl.seq.Load()
		it := sl.it.Load()
		k := sl.key.Load()
		if seq&1 != 0 || sl.seq.Load() != seq || it == nil {
			return nil
		}
		if k == key {
			if sl.ref.Load() == 0 {
				sl.ref.Store(1)
			}
			return it
		}
	}
	return nil
}

// put adds it to the cache, evicting another tile if the cache is full,
// and returns the cached item for its key (it, or an item a concurrent put
// added first).
func (c *tileCache) put(it *tileItem) *tileItem {
	if c.max <= 0 {
		return it
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tab.Load()
	if t != nil {
		if i := t.find(it.key); i >= 0 {
			return t.slots[i].it.Load()
		}
	}
	if len(c.ring) < c.max {
		if t == nil || 2*(len(c.ring)+1) > len(t.slots) {
			t = c.grow(t)
		}
		c.ring = append(c.ring, it)
		t.insert(it, 0)
		return it
	}
	// Advance the hand past referenced items, clearing their bits, and
	// replace the first unreferenced one.
	for {
		old := c.ring[c.hand]
		i := t.find(old.key)
		if sl := &t.slots[i]; sl.ref.Load() != 0 {
			sl.ref.Store(0)
			c.hand = (c.hand + 1) % len(c.ring)
			continue
		}
		t.remove(i)
		c.ring[c.hand] = it
		c.hand = (c.hand + 1) % len(c.ring)
		t.insert(it, 0)
		return it
	}
}

// grow replaces t by a table twice its size (or a first one) holding the
// same items, and returns it. c.mu must be held.
func (c *tileCache) grow(t *slotTable) *slotTable {
	n := 64
	if t != nil {
		n = 2 * len(t.slots)
	}
	nt := newSlotTable(n)
	for _, it := range c.ring {
		var ref uint32
		if t != nil {
			ref = t.slots[t.find(it.key)].ref.Load()
		}
		nt.insert(it, ref)
	}
	c.tab.Store(nt)
	return nt
}

// find returns the slot of key, or -1. The caller holds the cache's mutex.
func (t *slotTable) find(key uint64) int {
	mask := len(t.slots) - 1
	for i := t.home(key); ; i = (i + 1) & mask {
		it := t.slots[i].it.Load()
		if it == nil {
			return -1
		}
		if it.key == key {
			return i
		}
	}
}

// insert puts it in the first free slot from its home. The table must have
// a free slot and must not hold it.key. The caller holds the cache's mutex.
func (t *slotTable) insert(it *tileItem, ref uint32) {
	mask := len(t.slots) - 1
	i := t.home(it.key)
	for t.slots[i].it.Load() != nil {
		i = (i + 1) & mask
	}
	t.set(i, it, ref)
}

// remove empties slot i, moving later items of the probe run back so that
// every remaining item stays reachable from its home (backward-shift
// deletion). A moved item is stored in its new slot before its old slot is
// reused, so a concurrent get finds it unless it passes both slots at the
// wrong moments, which is only a miss. The caller holds the cache's mutex.
func (t *slotTable) remove(i int) {
	mask := len(t.slots) - 1
	for j := i; ; {
		j = (j + 1) & mask
		it := t.slots[j].it.Load()
		if it == nil {
			t.set(i, nil, 0)
			return
		}
		// it may move to i if its home is not in the cyclic range (i, j].
		if h := t.home(it.key); (j-h)&mask >= (j-i)&mask {
			t.set(i, it, t.slots[j].ref.Load())
			i = j
		}
	}
}
