package tile

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/tlog"
)

// memTiles serves the tiles of an in-memory log, optionally tampered.
type memTiles struct {
	h      int
	hashes memHashes
	mu     sync.Mutex
	reads  int // tiles read
	saved  int
	savedT map[Tile]bool
	tamper func(t Tile, data []byte) []byte
}

func (m *memTiles) Height() int { return m.h }

func (m *memTiles) ReadTiles(ctx context.Context, tiles []Tile) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		d, err := ReadTileData(t, m.hashes)
		if err != nil {
			return nil, err
		}
		if m.tamper != nil {
			d = m.tamper(t, d)
		}
		out[i] = d
	}
	m.mu.Lock()
	m.reads += len(tiles)
	m.mu.Unlock()
	return out, nil
}

func (m *memTiles) SaveTiles(tiles []Tile, data [][]byte) {
	m.mu.Lock()
	m.saved += len(tiles)
	if m.savedT == nil {
		m.savedT = make(map[Tile]bool)
	}
	for _, t := range tiles {
		m.savedT[t] = true
	}
	m.mu.Unlock()
}

// xmemTiles adapts memTiles to x/mod's TileReader.
type xmemTiles struct{ m *memTiles }

func (x xmemTiles) Height() int { return x.m.h }
func (x xmemTiles) ReadTiles(tiles []xtlog.Tile) ([][]byte, error) {
	ts := make([]Tile, len(tiles))
	for i, t := range tiles {
		ts[i] = Tile{t.H, t.L, t.N, t.W}
	}
	return x.m.ReadTiles(context.Background(), ts)
}
func (x xmemTiles) SaveTiles([]xtlog.Tile, [][]byte) {}

func treeOf(tb testing.TB, hashes memHashes, n int64) tlog.Tree {
	th, err := tlog.TreeHash(n, hashes)
	require.NoError(tb, err)
	return tlog.Tree{N: n, Hash: th}
}

func TestVerifierProofsMatchInMemory(t *testing.T) {
	ctx := context.Background()
	const size = 300
	hashes, _ := buildLog(t, size)
	for _, h := range []int{1, 2, 3, 8} {
		m := &memTiles{h: h, hashes: hashes}
		v, err := NewVerifier(m, VerifierOptions{MaxTiles: 7})
		require.NoError(t, err)
		for n := int64(1); n <= size; n += 1 + n/8 {
			tree := treeOf(t, hashes, n)
			xr := xtlog.TileHashReader(xtlog.Tree{N: tree.N, Hash: xtlog.Hash(tree.Hash)}, xmemTiles{m})
			for i := int64(0); i < n; i += 1 + n/5 {
				got, err := v.ProveRecord(ctx, tree, i)
				require.NoError(t, err, "h=%d n=%d i=%d", h, n, i)
				want, err := tlog.ProveRecord(n, i, hashes)
				require.NoError(t, err)
				require.Equal(t, want, got)
				xp, err := xtlog.ProveRecord(n, i, xr)
				require.NoError(t, err)
				require.Equal(t, len(xp), len(got))
				for j := range xp {
					require.Equal(t, tlog.Hash(xp[j]), got[j])
				}
				require.NoError(t, tlog.CheckRecord(got, n, tree.Hash, i, hashes[tlog.StoredHashIndex(0, i)]))
			}
			for old := int64(1); old <= n; old += 1 + old/3 {
				got, err := v.ProveTree(ctx, tree, old)
				require.NoError(t, err)
				want, err := tlog.ProveTree(n, old, hashes)
				require.NoError(t, err)
				require.Equal(t, want, got)
			}
			// Every stored hash of the tree reads back right.
			limit := tlog.StoredHashIndex(0, n)
			idx := make([]int64, 0, limit)
			for x := int64(0); x < limit; x++ {
				idx = append(idx, x)
			}
			got, err := v.ReadHashes(ctx, tree, idx)
			require.NoError(t, err)
			require.Equal(t, []tlog.Hash(hashes[:limit]), got)
			_, err = v.ReadHashes(ctx, tree, []int64{limit})
			require.ErrorIs(t, err, ErrNotInTree)
			_, err = v.ReadHashes(ctx, tree, []int64{-1})
			require.ErrorIs(t, err, ErrNotInTree)
		}
	}
}

func TestVerifierWarmCacheReadsNothing(t *testing.T) {
	ctx := context.Background()
	hashes, _ := buildLog(t, 5000)
	m := &memTiles{h: 2, hashes: hashes}
	v, err := NewVerifier(m, VerifierOptions{})
	require.NoError(t, err)
	tree := treeOf(t, hashes, 4999)
	_, err = v.ProveRecord(ctx, tree, 1234)
	require.NoError(t, err)
	require.Greater(t, m.reads, 0)
	require.Equal(t, m.reads, m.saved)
	reads := m.reads
	for i := 0; i < 3; i++ {
		_, err = v.ProveRecord(ctx, tree, 1234)
		require.NoError(t, err)
	}
	require.Equal(t, reads, m.reads, "warm proof read tiles again")
	// A newer tree reuses the full tiles: it reads only its right edge
	// and what the new proof needs beyond that.
	tree2 := treeOf(t, hashes, 5000)
	_, err = v.ProveRecord(ctx, tree2, 1234)
	require.NoError(t, err)
	require.LessOrEqual(t, m.reads-reads, len(v.anchors(5000))+1)
}

func TestVerifierDetectsEveryFlippedTile(t *testing.T) {
	ctx := context.Background()
	const n = 150
	hashes, _ := buildLog(t, n)
	tree := treeOf(t, hashes, n)
	limit := tlog.StoredHashIndex(0, n)
	idx := make([]int64, 0, limit)
	for x := int64(0); x < limit; x++ {
		idx = append(idx, x)
	}
	for _, h := range []int{1, 2, 3} {
		tiles := NewTiles(h, 0, n)
		for _, target := range tiles {
			for _, bit := range []int{0, 7, target.W*tlog.HashSize*8 - 1} {
				m := &memTiles{h: h, hashes: hashes, tamper: func(t Tile, d []byte) []byte {
					if t == target {
						d[bit/8] ^= 1 << uint(bit%8)
					}
					return d
				}}
				v, err := NewVerifier(m, VerifierOptions{})
				require.NoError(t, err)
				_, err = v.ReadHashes(ctx, tree, idx)
				require.ErrorIs(t, err, ErrInconsistent, "h=%d tile %s bit %d", h, target.Path(), bit)
				require.False(t, m.savedT[target], "saved the tampered tile")
			}
		}
	}
}

func TestVerifierBadReader(t *testing.T) {
	ctx := context.Background()
	hashes, _ := buildLog(t, 100)
	tree := treeOf(t, hashes, 100)
	for name, tamper := range map[string]func(Tile, []byte) []byte{
		"short": func(t Tile, d []byte) []byte { return d[:len(d)-1] },
		"long":  func(t Tile, d []byte) []byte { return append(d, 0) },
		"empty": func(t Tile, d []byte) []byte { return nil },
		"html":  func(t Tile, d []byte) []byte { return []byte("<html>not found</html>") },
	} {
		m := &memTiles{h: 2, hashes: hashes, tamper: tamper}
		v, err := NewVerifier(m, VerifierOptions{})
		require.NoError(t, err)
		_, err = v.ProveRecord(ctx, tree, 3)
		require.ErrorIs(t, err, ErrMalformedData, name)
	}
	// Wrong tree hash, wrong sizes, canceled context.
	m := &memTiles{h: 8, hashes: hashes}
	v, err := NewVerifier(m, VerifierOptions{})
	require.NoError(t, err)
	bad := tree
	bad.Hash[0] ^= 1
	_, err = v.ProveRecord(ctx, bad, 3)
	require.ErrorIs(t, err, ErrInconsistent)
	_, err = v.ReadHashes(ctx, tlog.Tree{N: 1<<62 + 1}, []int64{0})
	require.Error(t, err)
	_, err = v.ReadHashes(ctx, tlog.Tree{N: -1}, []int64{0})
	require.Error(t, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = v.ProveRecord(cctx, tree, 3)
	require.ErrorIs(t, err, context.Canceled)
	_, err = NewVerifier(&memTiles{h: 0}, VerifierOptions{})
	require.ErrorIs(t, err, ErrInvalidTile)
}

// A server that switches to a forked log with the same tile coordinates
// must not get its tiles mixed with the ones authenticated for the first.
func TestVerifierForkNotMixed(t *testing.T) {
	ctx := context.Background()
	a, _ := buildLog(t, 600)
	var b memHashes
	for i := 0; i < 600; i++ {
		rec := []byte(fmt.Sprintf("record %d\nline two\n", i))
		if i == 10 {
			rec = []byte("forked\n")
		}
		hs, err := tlog.StoredHashes(int64(i), rec, b)
		require.NoError(t, err)
		b = append(b, hs...)
	}
	m := &memTiles{h: 2, hashes: a}
	v, err := NewVerifier(m, VerifierOptions{})
	require.NoError(t, err)
	treeA := treeOf(t, a, 600)
	treeB := treeOf(t, b, 600)
	for i := int64(0); i < 600; i += 37 {
		_, err := v.ProveRecord(ctx, treeA, i)
		require.NoError(t, err)
	}
	m.hashes = b
	for i := int64(0); i < 600; i += 37 {
		got, err := v.ProveRecord(ctx, treeB, i)
		require.NoError(t, err)
		want, err := tlog.ProveRecord(600, i, b)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.NoError(t, tlog.CheckRecord(got, 600, treeB.Hash, i, b[tlog.StoredHashIndex(0, i)]))
	}
	// Reading tree A again from the forked server fails closed for any
	// tile not already authenticated for A.
	v2, err := NewVerifier(m, VerifierOptions{})
	require.NoError(t, err)
	_, err = v2.ProveRecord(ctx, treeA, 5)
	require.ErrorIs(t, err, ErrInconsistent)
}

func TestVerifierConcurrent(t *testing.T) {
	ctx := context.Background()
	hashes, _ := buildLog(t, 3000)
	m := &memTiles{h: 2, hashes: hashes}
	v, err := NewVerifier(m, VerifierOptions{MaxTiles: 50, MaxTrees: 3})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	// One reader shared by all, whose tree gets evicted and re-read.
	sharedTree := treeOf(t, hashes, 3000)
	shared := v.HashReader(ctx, sharedTree)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				n := int64(2000 + (g*131+i*17)%1000)
				tree := treeOf(t, hashes, n)
				rec := int64((g*7919 + i*104729) % int(n))
				p, err := v.ProveRecord(ctx, tree, rec)
				if err == nil {
					err = tlog.CheckRecord(p, n, tree.Hash, rec, hashes[tlog.StoredHashIndex(0, rec)])
				}
				if err != nil {
					errs <- err
					return
				}
				p, err = tlog.ProveRecord(3000, rec, shared)
				if err == nil {
					err = tlog.CheckRecord(p, 3000, sharedTree.Hash, rec, hashes[tlog.StoredHashIndex(0, rec)])
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// The caches stay within their bounds.
	require.LessOrEqual(t, len(v.full), 50)
	require.LessOrEqual(t, v.memo, 50)
	require.LessOrEqual(t, len(v.trees), 3)
	memo := 0
	for _, ts := range v.trees {
		memo += len(ts.resolved) - ts.anchors
	}
	require.Equal(t, v.memo, memo)
}

// FuzzVerifierProofs proves records and trees through verified tiles and
// checks the proofs, optionally with one flipped bit in one tile: a proof
// either checks or the read fails with ErrInconsistent; never a wrong
// proof that checks, never a panic.
func FuzzVerifierProofs(f *testing.F) {
	hashes, _ := buildLog(f, 600)
	f.Add(uint16(600), uint16(5), uint16(300), uint8(2), uint16(0), false)
	f.Add(uint16(257), uint16(256), uint16(1), uint8(8), uint16(100), true)
	f.Add(uint16(1), uint16(0), uint16(1), uint8(1), uint16(0), true)
	f.Add(uint16(513), uint16(512), uint16(512), uint8(3), uint16(7), true)
	f.Fuzz(func(t *testing.T, n, rec, old uint16, h uint8, flip uint16, tamper bool) {
		N := int64(n)%600 + 1
		r := int64(rec) % N
		o := int64(old)%N + 1
		hh := int(h)%8 + 1
		m := &memTiles{h: hh, hashes: hashes}
		if tamper {
			m.tamper = func(tl Tile, d []byte) []byte {
				if int(tl.N+int64(tl.L))%3 == int(flip)%3 {
					d[int(flip)%len(d)] ^= 1 << (flip % 8)
				}
				return d
			}
		}
		v, err := NewVerifier(m, VerifierOptions{MaxTiles: int(flip%5) + 1})
		require.NoError(t, err)
		tree := treeOf(t, hashes, N)
		p, err := v.ProveRecord(context.Background(), tree, r)
		if err != nil {
			require.True(t, tamper, "untampered read failed: %v", err)
			require.ErrorIs(t, err, ErrInconsistent)
		} else {
			require.NoError(t, tlog.CheckRecord(p, N, tree.Hash, r, hashes[tlog.StoredHashIndex(0, r)]))
		}
		tp, err := v.ProveTree(context.Background(), tree, o)
		if err != nil {
			require.True(t, tamper, "untampered read failed: %v", err)
			require.ErrorIs(t, err, ErrInconsistent)
		} else {
			require.NoError(t, tlog.CheckTree(tp, N, tree.Hash, o, treeOf(t, hashes, o).Hash))
		}
	})
}

func TestCheckRecords(t *testing.T) {
	ctx := context.Background()
	hashes, recs := buildLog(t, 700)
	v, err := NewVerifier(&memTiles{h: 8, hashes: hashes}, VerifierOptions{})
	require.NoError(t, err)
	tree := treeOf(t, hashes, 700)
	// A full data tile and the partial one, in both encodings.
	for _, dt := range []Tile{{8, -1, 1, 256}, {8, -1, 2, 700 - 512}} {
		start := dt.N << 8
		data, err := FormatDataTile(recs[start : start+int64(dt.W)])
		require.NoError(t, err)
		got, err := ParseDataTile(data, dt.W)
		require.NoError(t, err)
		require.NoError(t, v.CheckRecords(ctx, tree, start, got))
		bundle, err := FormatEntryBundle(recs[start : start+int64(dt.W)])
		require.NoError(t, err)
		entries, err := ParseEntryBundle(bundle, dt.W)
		require.NoError(t, err)
		require.NoError(t, v.CheckRecords(ctx, tree, start, entries))
		// One changed byte, a swapped pair, a shifted start: rejected.
		bad := bytes.Clone(data)
		bad[len(bad)/2] ^= 1
		if got, err := ParseDataTile(bad, dt.W); err == nil {
			require.ErrorIs(t, v.CheckRecords(ctx, tree, start, got), ErrRecordMismatch)
		}
		sw := slices.Clone(got)
		sw[0], sw[1] = sw[1], sw[0]
		require.ErrorIs(t, v.CheckRecords(ctx, tree, start, sw), ErrRecordMismatch)
		require.ErrorIs(t, v.CheckRecords(ctx, tree, start+1, got[:len(got)-1]), ErrRecordMismatch)
	}
	require.ErrorIs(t, v.CheckRecords(ctx, tree, 650, recs[:51]), ErrNotInTree)
	require.ErrorIs(t, v.CheckRecords(ctx, tree, -1, recs[:1]), ErrNotInTree)
}
