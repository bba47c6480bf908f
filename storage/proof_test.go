package storage_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

// xmodLog holds the stored hashes of a log of n records, computed by
// x/mod.
type xmodLog struct {
	n      int64
	hashes []xtlog.Hash
}

func (x *xmodLog) add(t testing.TB, rec []byte) {
	t.Helper()
	hs, err := xtlog.StoredHashes(x.n, rec, x)
	if err != nil {
		t.Fatal(err)
	}
	x.hashes = append(x.hashes, hs...)
	x.n++
}

func (x *xmodLog) ReadHashes(indexes []int64) ([]xtlog.Hash, error) {
	out := make([]xtlog.Hash, len(indexes))
	for i, idx := range indexes {
		out[i] = x.hashes[idx]
	}
	return out, nil
}

func sameHashes(a []tlog.Hash, b []xtlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != tlog.Hash(b[i]) {
			return false
		}
	}
	return true
}

// checkProofs compares ProveRecord, ProveTree and TreeHash of l with
// x/mod's over the same stored hashes, for the given (t, n) pairs.
func checkProofs(t *testing.T, l *storage.Log, x *xmodLog, pairs [][2]int64) {
	t.Helper()
	ctx := context.Background()
	for _, p := range pairs {
		tt, n := p[0], p[1]
		got, err := l.ProveRecord(ctx, tt, n)
		if err != nil {
			t.Fatalf("ProveRecord(%d, %d): %v", tt, n, err)
		}
		want, err := xtlog.ProveRecord(tt, n, x)
		if err != nil {
			t.Fatal(err)
		}
		if !sameHashes(got, want) {
			t.Fatalf("ProveRecord(%d, %d) = %v, x/mod %v", tt, n, got, want)
		}
		gotT, err := l.ProveTree(ctx, tt, n+1)
		if err != nil {
			t.Fatalf("ProveTree(%d, %d): %v", tt, n+1, err)
		}
		wantT, err := xtlog.ProveTree(tt, n+1, x)
		if err != nil {
			t.Fatal(err)
		}
		if !sameHashes(gotT, wantT) {
			t.Fatalf("ProveTree(%d, %d) = %v, x/mod %v", tt, n+1, gotT, wantT)
		}
		for _, m := range []int64{n, tt} {
			h, err := l.TreeHash(ctx, m)
			if err != nil {
				t.Fatalf("TreeHash(%d): %v", m, err)
			}
			wh, err := xtlog.TreeHash(m, x)
			if err != nil {
				t.Fatal(err)
			}
			if h != tlog.Hash(wh) {
				t.Fatalf("TreeHash(%d) = %v, x/mod %v", m, h, wh)
			}
		}
	}
}

// TestProofsMatchXmodGrowing: after every append to a log of up to 600
// records (three full tiles), every inclusion and consistency proof in the
// latest tree, and some in older trees, equal x/mod's; with a cache of one
// tile, so that tiles are evicted and read again all the time.
func TestProofsMatchXmodGrowing(t *testing.T) {
	ctx := context.Background()
	opts := storagetest.LogOptions(true)
	opts.CacheTiles = 1
	opts.CacheUpperTiles = 1
	opts.Linger = -1
	l, err := storage.Open(ctx, memstore.New(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	x := new(xmodLog)
	rng := rand.New(rand.NewPCG(3, 4))
	for N := int64(1); N <= 600; N++ {
		rec := fmt.Appendf(nil, "record %d", N-1)
		if _, err := l.Append(ctx, rec); err != nil {
			t.Fatal(err)
		}
		x.add(t, rec)
		var pairs [][2]int64
		step := int64(1)
		if N > 300 {
			step = 17
		}
		for n := N - 1 - rng.Int64N(step); n >= 0; n -= step {
			pairs = append(pairs, [2]int64{N, n})
		}
		tt := 1 + rng.Int64N(N)
		pairs = append(pairs, [2]int64{tt, rng.Int64N(tt)})
		checkProofs(t, l, x, pairs)
	}
}

// buildLog appends n records ("record i") from 64 goroutines to a new log
// in a memstore and returns the store (open, for cloneStore), with x/mod's stored hashes of the
// log (in the order the log assigned).
func buildLog(t *testing.T, n int) (*memstore.Store, *xmodLog) {
	t.Helper()
	ctx := context.Background()
	st := memstore.New()
	l, err := storage.Open(ctx, st, storagetest.LogOptions(true))
	if err != nil {
		t.Fatal(err)
	}
	recs := make([][]byte, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := g; i < n; i += 64 {
				rec := fmt.Appendf(nil, "record %d", i)
				idx, err := l.Append(ctx, rec)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				recs[idx] = rec
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	l.Close()
	if t.Failed() {
		t.FailNow()
	}
	x := &xmodLog{}
	for _, rec := range recs {
		x.add(t, rec)
	}
	st, err = st.Reopen()
	if err != nil {
		t.Fatal(err)
	}
	return st, x
}

// cloneStore returns a new memstore holding what src holds.
func cloneStore(t *testing.T, src *memstore.Store) *memstore.Store {
	t.Helper()
	ctx := context.Background()
	var b storage.Batch
	err := src.Scan(ctx, nil, nil, func(k, v []byte) error {
		b.Set(append([]byte(nil), k...), append([]byte(nil), v...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dst := memstore.New()
	if err := dst.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestProofsMatchXmodLarge: proofs from a log with full tiles of level 1
// (70000 records), with caches of several sizes (so that tiles are
// evicted), equal x/mod's for random (t, n), most of them in the latest
// tree; then again after more records are appended.
func TestProofsMatchXmodLarge(t *testing.T) {
	const n = 70000
	st, x := buildLog(t, n)
	ctx := context.Background()
	for _, cache := range []struct{ tiles, upper int }{{-1, -1}, {1, 1}, {3, 2}, {50, 1024}, {0, 0}} {
		t.Run(fmt.Sprintf("tiles=%d/upper=%d", cache.tiles, cache.upper), func(t *testing.T) {
			st := cloneStore(t, st)
			opts := storagetest.LogOptions(false)
			opts.CacheTiles, opts.CacheUpperTiles = cache.tiles, cache.upper
			l, err := storage.Open(ctx, st, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			rng := rand.New(rand.NewPCG(5, uint64(cache.tiles)))
			var pairs [][2]int64
			for range 1500 {
				tt := int64(n)
				if rng.IntN(3) == 0 {
					tt = 1 + rng.Int64N(n)
				}
				pairs = append(pairs, [2]int64{tt, rng.Int64N(tt)})
			}
			// Edges of tiles and of the tree.
			for _, i := range []int64{0, 255, 256, 65535, 65536, 65791, 65792, n - 1} {
				pairs = append(pairs, [2]int64{n, i}, [2]int64{i + 1, i})
			}
			checkProofs(t, l, x, pairs)
		})
	}
}

// TestProofsAfterAppend: the right-edge hashes kept per published tree
// follow the tree as it grows, while proofs are served concurrently.
func TestProofsAfterAppend(t *testing.T) {
	const n = 66000
	st, x := buildLog(t, n)
	ctx := context.Background()
	opts := storagetest.LogOptions(false)
	opts.CacheTiles = 4
	opts.Linger = -1
	l, err := storage.Open(ctx, cloneStore(t, st), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		// Proofs in whatever tree is latest must verify against its hash.
		rng := rand.New(rand.NewPCG(7, 8))
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, tree := l.Checkpoint()
			i := rng.Int64N(tree.N)
			p, err := l.ProveRecord(ctx, tree.N, i)
			if err != nil {
				t.Error(err)
				return
			}
			recs, err := l.ReadRecords(ctx, i, 1)
			if err != nil {
				t.Error(err)
				return
			}
			if err := tlog.CheckRecord(p, tree.N, tree.Hash, i, tlog.RecordHash(recs[0])); err != nil {
				t.Errorf("proof of %d in tree %d: %v", i, tree.N, err)
				return
			}
		}
	})
	rng := rand.New(rand.NewPCG(9, 10))
	for N := int64(n + 1); N <= n+300; N++ {
		rec := fmt.Appendf(nil, "more %d", N)
		if _, err := l.Append(ctx, rec); err != nil {
			t.Fatal(err)
		}
		x.add(t, rec)
		checkProofs(t, l, x, [][2]int64{{N, rng.Int64N(N)}, {N, N - 1 - rng.Int64N(600)}})
	}
	close(stop)
	wg.Wait()
}

// TestCorruptTileDetected: a bit flipped in a stored full tile of level 0
// or 1 is detected when the tile is first read (proofs, tile reads and
// record reads that need it fail with ErrCorrupt), whatever the cache
// size, while proofs that do not need it still match x/mod.
func TestCorruptTileDetected(t *testing.T) {
	const n = 70000
	st, x := buildLog(t, n)
	ctx := context.Background()
	for _, c := range []struct {
		L       int
		N       int64
		bit     int
		victim  int64 // a record whose proof needs the tile
		healthy int64 // a record whose proof does not
	}{
		{0, 3, 0, 3*256 + 17, 5 * 256},
		{0, 200, 8*256 - 1, 200*256 + 250, 17},
		{1, 0, 77, 12345, 65536 + 5},
	} {
		t.Run(fmt.Sprintf("tile=%d/%d/bit=%d", c.L, c.N, c.bit), func(t *testing.T) {
			st := cloneStore(t, st)
			key := append([]byte{'t', byte(c.L)}, 0, 0, 0, 0, 0, 0, 0, byte(c.N))
			v, err := st.Get(ctx, key)
			if err != nil || len(v) != 8192 {
				t.Fatalf("tile %d/%d: %d bytes, %v", c.L, c.N, len(v), err)
			}
			v[c.bit/8] ^= 1 << (c.bit % 8)
			var b storage.Batch
			b.Set(key, v)
			if err := st.Commit(ctx, &b); err != nil {
				t.Fatal(err)
			}
			for _, cache := range []int{-1, 1, 0} {
				opts := storagetest.LogOptions(false)
				opts.CacheTiles, opts.CacheUpperTiles = cache, cache
				l, err := storage.Open(ctx, cloneStore(t, st), opts)
				if err != nil {
					t.Fatal(err)
				}
				checkProofs(t, l, x, [][2]int64{{n, c.healthy}})
				for range 2 { // the failure is not cached as a success
					if _, err := l.ProveRecord(ctx, n, c.victim); !errors.Is(err, storage.ErrCorrupt) {
						t.Errorf("cache %d: ProveRecord(%d) with tile %d/%d corrupt: %v", cache, c.victim, c.L, c.N, err)
					}
					if _, err := l.ProveTree(ctx, n, c.victim+1); !errors.Is(err, storage.ErrCorrupt) {
						t.Errorf("cache %d: ProveTree(%d) with tile %d/%d corrupt: %v", cache, c.victim+1, c.L, c.N, err)
					}
					if _, err := l.ReadTile(ctx, tile.Tile{H: 8, L: 0, N: c.victim / 256, W: 256}); !errors.Is(err, storage.ErrCorrupt) {
						t.Errorf("cache %d: ReadTile(0/%d) with tile %d/%d corrupt: %v", cache, c.victim/256, c.L, c.N, err)
					}
					if _, err := l.ReadRecords(ctx, c.victim, 1); !errors.Is(err, storage.ErrCorrupt) {
						t.Errorf("cache %d: ReadRecords(%d) with tile %d/%d corrupt: %v", cache, c.victim, c.L, c.N, err)
					}
				}
				l.Close()
			}
		})
	}
}

// TestReadTileMatchesXmod: every full and partial tile served equals the
// tile x/mod reads from the same stored hashes, also from a cached tile.
func TestReadTileMatchesXmod(t *testing.T) {
	const n = 70000
	st, x := buildLog(t, n)
	ctx := context.Background()
	opts := storagetest.LogOptions(false)
	opts.CacheTiles = 64
	l, err := storage.Open(ctx, cloneStore(t, st), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rng := rand.New(rand.NewPCG(11, 12))
	tiles := tile.NewTiles(8, 0, n)
	for range 3 {
		for i, tt := range tiles {
			if i%7 != 0 && tt.L == 0 && tt.W == 256 && rng.IntN(8) != 0 {
				continue
			}
			if tt.W == 256 && rng.IntN(4) == 0 {
				tt.W = 1 + rng.IntN(255) // a partial view of a full tile
			}
			got, err := l.ReadTile(ctx, tt)
			if err != nil {
				t.Fatalf("ReadTile(%+v): %v", tt, err)
			}
			want, err := xtlog.ReadTileData(xtlog.Tile{H: tt.H, L: tt.L, N: tt.N, W: tt.W}, x)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("ReadTile(%+v) differs from x/mod", tt)
			}
		}
	}
}

// TestColdProofReadsEachTileOnce: with no tile cache, a proof reads each
// full tile it needs from the backend once, also the tile it reads to
// authenticate another.
func TestColdProofReadsEachTileOnce(t *testing.T) {
	const n = 70000
	st, x := buildLog(t, n)
	ctx := context.Background()
	st = cloneStore(t, st)
	opts := storagetest.LogOptions(false)
	opts.CacheTiles, opts.CacheUpperTiles = -1, -1
	l, err := storage.Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var gets int
	st.SetFault(func(op memstore.Op, seq int) memstore.Fault {
		if op == memstore.OpGet {
			gets++
		}
		return memstore.NoFault
	})
	for _, c := range []struct {
		i    int64
		want int // full tiles on the path: 0/i>>8 and, below 65536, 1/0
	}{{12345, 2}, {65535, 2}, {65536 + 300, 1}, {n - 1, 0}} {
		gets = 0
		checkProofs(t, l, x, [][2]int64{{n, c.i}})
		gets = 0
		if _, err := l.ProveRecord(ctx, n, c.i); err != nil {
			t.Fatal(err)
		}
		if gets != c.want {
			t.Errorf("ProveRecord(%d, %d) read %d tiles, want %d", n, c.i, gets, c.want)
		}
	}
}
