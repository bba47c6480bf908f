package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

var tilePaths = []string{
	"tile/8/0/x001/x234/067",
	"tile/8/1/x123/456.p/7",
	"tile/8/data/x066/x398/720.p/1",
	"tile/8/2/001",
}

func BenchmarkParseTilePath(b *testing.B) {
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range tilePaths {
				if _, err := tile.ParseTilePath(p); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(tilePaths))/b.Elapsed().Seconds(), "paths/s")
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range tilePaths {
				if _, err := xtlog.ParseTilePath(p); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(tilePaths))/b.Elapsed().Seconds(), "paths/s")
	})
}

func BenchmarkTilePath(b *testing.B) {
	t := tile.Tile{H: 8, L: 0, N: 1234067, W: 17}
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = t.Path()
		}
	})
	b.Run("impl=xmod", func(b *testing.B) {
		xt := xtlog.Tile{H: t.H, L: t.L, N: t.N, W: t.W}
		b.ReportAllocs()
		for b.Loop() {
			_ = xt.Path()
		}
	})
}

// benchLog is a log of about a million records, every stored hash in memory.
type benchLog struct {
	hashes []tlog.Hash
	tree   tlog.Tree
}

const benchLogSize = 1<<20 + 12345

var benchLogOnce = sync.OnceValue(func() *benchLog {
	l := &benchLog{hashes: make([]tlog.Hash, 0, 2*benchLogSize+64)}
	r := tlog.HashReaderFunc(l.read)
	for i := int64(0); i < benchLogSize; i++ {
		hs, err := tlog.StoredHashesForRecordHash(i, tlog.RecordHash([]byte(fmt.Sprintf("record %d\n", i))), r)
		if err != nil {
			panic(err)
		}
		l.hashes = append(l.hashes, hs...)
	}
	th, err := tlog.TreeHash(benchLogSize, r)
	if err != nil {
		panic(err)
	}
	l.tree = tlog.Tree{N: benchLogSize, Hash: th}
	return l
})

func (l *benchLog) read(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = l.hashes[x]
	}
	return out, nil
}

// tileServer serves the log's tiles from memory, as a local tile cache
// would: each tile's bytes are computed once and then only handed out.
type tileServer struct{ l *benchLog }

var tileBytes sync.Map // tile.Tile -> []byte

func (s tileServer) Height() int { return 8 }
func (s tileServer) ReadTiles(ctx context.Context, tiles []tile.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if d, ok := tileBytes.Load(t); ok {
			out[i] = d.([]byte)
			continue
		}
		d, err := tile.ReadTileData(t, tlog.HashReaderFunc(s.l.read))
		if err != nil {
			return nil, err
		}
		tileBytes.Store(t, d)
		out[i] = d
	}
	return out, nil
}
func (s tileServer) SaveTiles([]tile.Tile, [][]byte) {}

type xtileServer struct{ l *benchLog }

func (s xtileServer) Height() int { return 8 }
func (s xtileServer) ReadTiles(tiles []xtlog.Tile) ([][]byte, error) {
	ts := make([]tile.Tile, len(tiles))
	for i, t := range tiles {
		ts[i] = tile.Tile{H: t.H, L: t.L, N: t.N, W: t.W}
	}
	return tileServer(s).ReadTiles(context.Background(), ts)
}
func (s xtileServer) SaveTiles([]xtlog.Tile, [][]byte) {}

// BenchmarkProveRecordTiles proves (and checks) that the tree contains a
// record, reading hashes: from memory (the floor: every stored hash of the
// log in one array), through tlogkit's verified tiles with a warm and a
// cold cache, and through x/mod's TileHashReader. records=all cycles
// through the whole log (every read is a cache miss, for both memory and
// tiles); records=hot stays within 4096 records (the hashes stay in the
// CPU cache, so what is left is the bookkeeping).
func BenchmarkProveRecordTiles(b *testing.B) {
	l := benchLogOnce()
	ctx := context.Background()
	leaf := func(i int64) tlog.Hash { return l.hashes[tlog.StoredHashIndex(0, i)] }
	sets := []struct {
		name string
		next func(i int64) int64
	}{
		{"all", func(i int64) int64 { return (i + 7919*13) % l.tree.N }},
		{"hot", func(i int64) int64 { return 500000 + (i-500000+7919)&4095 }},
	}
	for _, set := range sets {
		run := func(b *testing.B, check bool, r func() tlog.HashReader) {
			b.ReportAllocs()
			runtime.GC() // leave earlier sub-benchmarks' garbage out of this one
			i := int64(500000)
			for b.Loop() {
				i = set.next(i)
				p, err := tlog.ProveRecord(l.tree.N, i, r())
				if err != nil {
					b.Fatal(err)
				}
				if check {
					if err := tlog.CheckRecord(p, l.tree.N, l.tree.Hash, i, leaf(i)); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "proofs/s")
		}
		for _, check := range []bool{false, true} {
			op := "prove"
			if check {
				op = "prove+check"
			}
			name := "op=" + op + "/records=" + set.name
			b.Run(name+"/impl=memory", func(b *testing.B) {
				r := tlog.HashReaderFunc(l.read)
				run(b, check, func() tlog.HashReader { return r })
			})
			b.Run(name+"/impl=tlogkit-warm", func(b *testing.B) {
				v, err := tile.NewVerifier(tileServer{l}, tile.VerifierOptions{MaxTiles: 8192})
				if err != nil {
					b.Fatal(err)
				}
				r := v.HashReader(ctx, l.tree)
				// Warm every tile the loop will use.
				for i, k := int64(500000), 0; k < 20000; k++ {
					i = set.next(i)
					if _, err := tlog.ProveRecord(l.tree.N, i, r); err != nil {
						b.Fatal(err)
					}
				}
				run(b, check, func() tlog.HashReader { return r })
			})
			b.Run(name+"/impl=tlogkit-cold", func(b *testing.B) {
				run(b, check, func() tlog.HashReader {
					v, err := tile.NewVerifier(tileServer{l}, tile.VerifierOptions{})
					if err != nil {
						b.Fatal(err)
					}
					return v.HashReader(ctx, l.tree)
				})
			})
			b.Run(name+"/impl=xmod", func(b *testing.B) {
				xr := xtlog.TileHashReader(xtlog.Tree{N: l.tree.N, Hash: xtlog.Hash(l.tree.Hash)}, xtileServer{l})
				r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
					hs, err := xr.ReadHashes(idx)
					out := make([]tlog.Hash, len(hs))
					for i := range hs {
						out[i] = tlog.Hash(hs[i])
					}
					return out, err
				})
				run(b, check, func() tlog.HashReader { return r })
			})
		}
	}
}
