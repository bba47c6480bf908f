package storage

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tlogkit/tlogkit/tlog"
)

// TestTileItemLayout: every hash of every row has its own place, and a
// tile item built from 256 leaf hashes holds the same rows and root as a
// naive computation with tlog.NodeHash.
func TestTileItemLayout(t *testing.T) {
	seen := make(map[int]bool)
	for r := range tileHeight {
		for p := range int64(tileWidth >> r) {
			i := tileIndex(r, p)
			if i < 0 || i >= 2*tileWidth-2 || seen[i] {
				t.Fatalf("tileIndex(%d, %d) = %d: out of range or used twice", r, p, i)
			}
			seen[i] = true
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	data := make([]byte, tileWidth*tlog.HashSize)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	row := make([]tlog.Hash, tileWidth)
	for i := range row {
		copy(row[i][:], data[i*tlog.HashSize:])
	}
	it, root := newTileItem(cacheKey(0, 9), data)
	for r := 0; len(row) > 1; r++ {
		for p := range row {
			if it.hash(r, int64(p)) != row[p] {
				t.Fatalf("row %d hash %d differs", r, p)
			}
			if r == 0 && it.leaf(p) != row[p] {
				t.Fatalf("leaf %d differs", p)
			}
		}
		up := make([]tlog.Hash, len(row)/2)
		for p := range up {
			up[p] = tlog.NodeHash(row[2*p], row[2*p+1])
		}
		row = up
	}
	if root != row[0] {
		t.Fatalf("root differs")
	}
}

// checkCache checks that the cache holds exactly the items of its ring,
// each reachable by get, and no more than max of them.
func checkCache(t *testing.T, c *tileCache, universe int) {
	t.Helper()
	if len(c.ring) > c.max {
		t.Fatalf("cache of %d holds %d tiles", c.max, len(c.ring))
	}
	in := make(map[uint64]*tileItem)
	for _, it := range c.ring {
		if in[it.key] != nil {
			t.Fatalf("tile key %d twice in the ring", it.key)
		}
		in[it.key] = it
	}
	used := 0
	for i := range c.tab.Load().slots {
		if it := c.tab.Load().slots[i].it.Load(); it != nil {
			used++
			if k := c.tab.Load().slots[i].key.Load(); k != it.key {
				t.Fatalf("slot %d has key %d for tile key %d", i, k, it.key)
			}
			if in[it.key] != it {
				t.Fatalf("slot %d holds tile key %d, not in the ring", i, it.key)
			}
		}
	}
	if used != len(c.ring) {
		t.Fatalf("table holds %d tiles, ring %d", used, len(c.ring))
	}
	for n := range int64(universe) {
		got := c.get(1, n)
		if got != in[cacheKey(1, n)] {
			t.Fatalf("get(1, %d) = %p, want %p", n, got, in[cacheKey(1, n)])
		}
	}
}

// TestTileCacheEviction: random puts and gets over more tiles than fit,
// for several sizes (the table grows and items are removed from the
// middle of probe runs), keep the cache exact and bounded.
func TestTileCacheEviction(t *testing.T) {
	for _, max := range []int{1, 2, 7, 33, 200} {
		c := newTileCache(max)
		rng := rand.New(rand.NewPCG(uint64(max), 2))
		universe := 3*max + 5
		for step := range 4000 {
			n := rng.Int64N(int64(universe))
			if c.get(1, n) == nil {
				it := &tileItem{key: cacheKey(1, n)}
				if got := c.put(it); got != it {
					t.Fatalf("put of a new tile returned another")
				}
				if got := c.put(&tileItem{key: cacheKey(1, n)}); got != it {
					t.Fatalf("second put of a tile did not return the first")
				}
			}
			if step%97 == 0 {
				checkCache(t, c, universe)
			}
		}
		checkCache(t, c, universe)
		if len(c.ring) != max {
			t.Errorf("cache of %d filled to %d", max, len(c.ring))
		}
	}
	if c := newTileCache(-1); c.put(&tileItem{}) == nil || c.get(0, 0) != nil {
		t.Errorf("disabled cache keeps tiles")
	}
}

// TestTileCacheConcurrent: lock-free gets racing with puts and evictions
// return nil or the tile asked for (run with -race).
func TestTileCacheConcurrent(t *testing.T) {
	c := newTileCache(16)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 3))
			for !stop.Load() {
				n := rng.Int64N(40)
				if it := c.get(1, n); it != nil && it.key != cacheKey(1, n) {
					t.Errorf("get(1, %d) returned tile key %d", n, it.key)
					return
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(9, 3))
	for range 20000 {
		n := rng.Int64N(40)
		c.put(&tileItem{key: cacheKey(1, n)})
	}
	stop.Store(true)
	wg.Wait()
	checkCache(t, c, 40)
}

// BenchmarkNewTileItem: building (hashing) a full tile read from the
// backend, the CPU cost of every cold tile read.
func BenchmarkNewTileItem(b *testing.B) {
	data := make([]byte, tileWidth*tlog.HashSize)
	for i := range data {
		data[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		newTileItem(1, data)
	}
}
