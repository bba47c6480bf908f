package tile

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/tlog"
)

func toX(t Tile) xtlog.Tile { return xtlog.Tile{H: t.H, L: t.L, N: t.N, W: t.W} }

// memHashes is an in-memory log: every stored hash of a tree.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("index %d out of range", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

func buildLog(tb testing.TB, n int) (memHashes, [][]byte) {
	tb.Helper()
	var hashes memHashes
	var recs [][]byte
	for i := 0; i < n; i++ {
		rec := []byte(fmt.Sprintf("record %d\nline two\n", i))
		recs = append(recs, rec)
		hs, err := tlog.StoredHashes(int64(i), rec, hashes)
		require.NoError(tb, err)
		hashes = append(hashes, hs...)
	}
	return hashes, recs
}

func TestTileForIndexMatchesXMod(t *testing.T) {
	for h := 1; h <= 10; h++ {
		for idx := int64(0); idx < 3000; idx++ {
			got := TileForIndex(h, idx)
			want := xtlog.TileForIndex(h, idx)
			require.Equal(t, want, toX(got), "h=%d idx=%d", h, idx)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		h := 1 + r.IntN(MaxHeight)
		idx := r.Int64N(1 << 62)
		require.Equal(t, xtlog.TileForIndex(h, idx), toX(TileForIndex(h, idx)), "h=%d idx=%d", h, idx)
	}
}

func TestHashFromTileAndReadTileData(t *testing.T) {
	const n = 700
	hashes, _ := buildLog(t, n)
	xr := xtlog.HashReaderFunc(func(idx []int64) ([]xtlog.Hash, error) {
		hs, err := hashes.ReadHashes(idx)
		out := make([]xtlog.Hash, len(hs))
		for i := range hs {
			out[i] = xtlog.Hash(hs[i])
		}
		return out, err
	})
	for _, h := range []int{1, 2, 3, 4, 8} {
		for _, tl := range NewTiles(h, 0, n) {
			data, err := ReadTileData(tl, hashes)
			require.NoError(t, err)
			xdata, err := xtlog.ReadTileData(toX(tl), xr)
			require.NoError(t, err)
			require.Equal(t, xdata, data)
			// Every stored hash in the tile reads back equal.
			for i := 0; i < tl.W; i++ {
				for k := 0; k < h && tl.H*tl.L+k < 64; k++ {
					if (i+1)%(1<<k) != 0 {
						continue
					}
					idx := tlog.StoredHashIndex(tl.H*tl.L+k, (tl.N<<uint(h)+int64(i))>>uint(k))
					got, err := HashFromTile(tl, data, idx)
					require.NoError(t, err)
					require.Equal(t, hashes[idx], got)
					xgot, err := xtlog.HashFromTile(toX(tl), data, idx)
					require.NoError(t, err)
					require.Equal(t, tlog.Hash(xgot), got)
				}
			}
			// Wrong tile, short data: errors, never panics.
			_, err = HashFromTile(tl, data[:len(data)-1], tlog.StoredHashIndex(tl.H*tl.L, tl.N<<uint(h)))
			require.ErrorIs(t, err, ErrMalformedData)
			_, err = HashFromTile(tl, data, tlog.StoredHashIndex(tl.H*tl.L, (tl.N+1)<<uint(h)))
			require.ErrorIs(t, err, ErrInvalidTile)
		}
	}
	_, err := HashFromTile(Tile{H: 31, L: 0, N: 0, W: 1}, nil, 0)
	require.ErrorIs(t, err, ErrInvalidTile)
	_, err = ReadTileData(Tile{H: 8, L: -1, N: 0, W: 1}, hashes)
	require.ErrorIs(t, err, ErrInvalidTile)
}

func TestNewTilesMatchesXMod(t *testing.T) {
	for _, h := range []int{1, 2, 3, 8} {
		for old := int64(0); old < 300; old += 7 {
			for nw := old; nw < 600; nw += 13 {
				got := NewTiles(h, old, nw)
				want := xtlog.NewTiles(h, old, nw)
				require.Equal(t, len(want), len(got), "h=%d %d->%d", h, old, nw)
				for i := range want {
					require.Equal(t, want[i], toX(got[i]))
				}
			}
		}
	}
	for _, nw := range []int64{1 << 40, 1<<62 - 5, 1<<63 - 1} {
		got := NewTiles(8, nw-1000, nw)
		want := xtlog.NewTiles(8, nw-1000, nw)
		require.Equal(t, len(want), len(got))
		for i := range want {
			require.Equal(t, want[i], toX(got[i]))
		}
	}
	require.Panics(t, func() { NewTiles(0, 0, 1) })
	require.Panics(t, func() { TileForIndex(0, 1) })
}

func TestPathMatchesXMod(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		h := 1 + r.IntN(MaxHeight)
		maxL := 63 / h
		tl := Tile{H: h, L: r.IntN(maxL+2) - 1, W: 1 + r.IntN(1<<uint(h))}
		if i%3 == 0 {
			tl.W = 1 << uint(h)
		}
		switch i % 4 {
		case 0:
			tl.N = r.Int64N(1000)
		case 1:
			tl.N = r.Int64N(1 << 20)
		default:
			tl.N = r.Int64()
		}
		require.Equal(t, toX(tl).Path(), tl.Path())
		if !tl.valid() || tl.H > MaxPathHeight {
			_, err := ParseTilePath(tl.Path())
			require.ErrorIs(t, err, ErrMalformedPath, tl.Path())
			continue
		}
		got, err := ParseTilePath(tl.Path())
		require.NoError(t, err, tl.Path())
		require.Equal(t, tl, got)
		if h == Height {
			p := tl.C2SPPath()
			got, err := ParseC2SPPath(p)
			require.NoError(t, err, p)
			require.Equal(t, tl, got)
		} else {
			require.Equal(t, "", tl.C2SPPath())
		}
	}
}

func TestPathExamples(t *testing.T) {
	tl := Tile{H: 3, L: 4, N: 1234067, W: 1}
	require.Equal(t, "tile/3/4/x001/x234/067.p/1", tl.Path())
	tl = Tile{H: 8, L: 0, N: 1234067, W: 256}
	require.Equal(t, "tile/8/0/x001/x234/067", tl.Path())
	require.Equal(t, "tile/0/x001/x234/067", tl.C2SPPath())
	tl = Tile{H: 8, L: -1, N: 5, W: 17}
	require.Equal(t, "tile/8/data/005.p/17", tl.Path())
	require.Equal(t, "tile/entries/005.p/17", tl.C2SPPath())
}

// Paths every parser must reject, including forms x/mod accepts.
var badPaths = []string{
	"", "tile", "tile/", "tile/8", "tile/8/0", "tile/8/0/", "tile/8/0/00", "tile/8/0/0000",
	"tile/08/0/000", "tile/8/00/000", "tile/+8/0/000", "tile/8/-1/000", "tile/8/+0/000",
	"tile/0/0/000", "tile/31/0/000", "tile/30/3/000", "tile/30/0/000", "tile/17/0/000.p/1", "tile/016/0/000", "tile/8/8/000", "tile/8/100000000000/000",
	"tile/8/0/x000/001", "tile/8/0/x001", "tile/8/0/x001/", "tile/8/0/001/002", "tile/8/0/xx001/002",
	"tile/8/0/000.p/0", "tile/8/0/000.p/256", "tile/8/0/000.p/01", "tile/8/0/000.p/", "tile/8/0/000.p",
	"tile/8/0/000.p/-1", "tile/8/0/000.p/+1", "tile/8/0/000/", "/tile/8/0/000", "tile/8/0/000 ",
	"tile/8/data/-1", "tile/8/data/000.p/256", "tile/8/DATA/000", "Tile/8/0/000",
	"tile/8/0/x009/x223/x372/x036/x854/x775/808", // 2^63, too many groups
	"tile/8/0/x036/x028/x797/x018/x963/968",      // start record overflows int64
	"tile/1/0/x001/x000/x000/x000/x000/x000/x000/000",
	"tile/8/0/" + strings.Repeat("x999/", 100000) + "000",
	"tile/30/0/000.p/1073741824", "tile/16/0/000.p/99999999999999999999",
}

func TestParseRejects(t *testing.T) {
	for _, p := range badPaths {
		_, err := ParseTilePath(p)
		require.ErrorIs(t, err, ErrMalformedPath, "%q", p)
		require.True(t, strings.HasPrefix(err.Error(), "tile: "))
		_, err = ParseC2SPPath(p)
		require.ErrorIs(t, err, ErrMalformedPath, "%q", p)
	}
	for _, p := range []string{"tile/8/000", "tile/07/000", "tile/8/000.p/256", "tile/entries/000.p/0",
		"tile/entries/x000/000", "tile/-1/000", "tile/64/000", "tile/8/0/000", "tile/0/000/", "tile/data/000"} {
		_, err := ParseC2SPPath(p)
		require.ErrorIs(t, err, ErrMalformedPath, "%q", p)
	}
	// The largest valid numbers parse.
	for _, p := range []string{"tile/16/2/000.p/1", "tile/1/62/000.p/1", "tile/8/7/000.p/255", "tile/8/0/x036/x028/x797/x018/x963/967",
		"tile/8/data/x036/x028/x797/x018/x963/967", "tile/entries/x036/x028/x797/x018/x963/967"} {
		var err error
		if strings.HasPrefix(p, "tile/entries") {
			_, err = ParseC2SPPath(p)
		} else {
			_, err = ParseTilePath(p)
		}
		require.NoError(t, err, p)
	}
}

// checkParse is the differential law shared by the test and the fuzz target.
func checkParse(t *testing.T, p string) {
	tl, err := ParseTilePath(p)
	xt, xerr := xtlog.ParseTilePath(p)
	if err == nil {
		require.Equal(t, p, tl.Path(), "Path(Parse(p)) != p")
		require.NoError(t, xerr, "we accept %q, x/mod rejects", p)
		require.Equal(t, xt, toX(tl))
	} else {
		require.ErrorIs(t, err, ErrMalformedPath)
		if xerr == nil {
			// Documented difference: x/mod accepts tiles that cannot
			// exist in a tree of at most 2^63-1 records.
			require.False(t, xt.H <= MaxPathHeight && Tile{xt.H, xt.L, xt.N, xt.W}.valid(), "x/mod accepts valid %q, we reject", p)
		}
	}
	ct, err := ParseC2SPPath(p)
	if err == nil {
		require.Equal(t, p, ct.C2SPPath())
		require.Equal(t, Height, ct.H)
	}
}

func TestParseDifferential(t *testing.T) {
	for _, p := range badPaths {
		checkParse(t, p)
	}
	for _, p := range []string{"tile/8/0/000", "tile/8/1/x123/456.p/7", "tile/8/data/000", "tile/3/4/x001/x234/067.p/1", "tile/1/0/000"} {
		checkParse(t, p)
	}
}

func FuzzParseTilePath(f *testing.F) {
	for _, p := range badPaths[:len(badPaths)-3] {
		f.Add(p)
	}
	for _, p := range []string{"tile/8/0/000", "tile/8/1/x123/456.p/7", "tile/8/data/000", "tile/0/x001/002.p/5", "tile/entries/000"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		checkParse(t, p)
	})
}

func TestDataTileMatchesXModServer(t *testing.T) {
	_, recs := buildLog(t, 10)
	data, err := FormatDataTile(recs)
	require.NoError(t, err)
	// What x/mod's server writes: each formatted record without its id line.
	var want []byte
	for i, r := range recs {
		msg, err := xtlog.FormatRecord(int64(i), r)
		require.NoError(t, err)
		_, msg, _ = bytes.Cut(msg, []byte{'\n'})
		want = append(want, msg...)
	}
	require.Equal(t, want, data)
	got, err := ParseDataTile(data, len(recs))
	require.NoError(t, err)
	require.Equal(t, recs, got)
	// Every truncation and every wrong width fails.
	for i := 0; i < len(data); i++ {
		_, err := ParseDataTile(data[:i], len(recs))
		require.ErrorIs(t, err, ErrMalformedData, i)
	}
	for _, w := range []int{0, -1, 9, 11, 1 << 40} {
		_, err := ParseDataTile(data, w)
		require.Error(t, err, w)
	}
}

func TestRecordTextRules(t *testing.T) {
	good := []string{"a\n", "golang.org/x/mod v0.1.0 h1:abc=\ngolang.org/x/mod v0.1.0/go.mod h1:def=\n", "é\n", "\x7f\n"}
	bad := []string{"", "\n", "a", "a\n\n", "\na\n", "a\n\nb\n", "a\x00\n", "a\r\n", "\xff\n", "a\tb\n"}
	for _, s := range good {
		require.True(t, ValidRecordText([]byte(s)), "%q", s)
		_, err := xtlog.FormatRecord(0, []byte(s))
		require.NoError(t, err, "x/mod rejects %q", s)
	}
	for _, s := range bad {
		require.False(t, ValidRecordText([]byte(s)), "%q", s)
		_, err := AppendRecord(nil, []byte(s))
		require.ErrorIs(t, err, ErrMalformedData)
	}
}

func checkDataTile(t *testing.T, data []byte, w int) {
	recs, err := ParseDataTile(data, w)
	if err != nil {
		require.True(t, errors.Is(err, ErrMalformedData) || errors.Is(err, ErrInvalidTile))
		return
	}
	require.Len(t, recs, w)
	again, err := FormatDataTile(recs)
	require.NoError(t, err)
	require.Equal(t, data, again, "decode-encode is not the identity")
	for _, r := range recs {
		_, err := xtlog.FormatRecord(0, r)
		require.NoError(t, err, "accepted a record x/mod rejects: %q", r)
	}
}

func FuzzParseDataTile(f *testing.F) {
	f.Add([]byte("a\n\nb\nc\n\n"), 2)
	f.Add([]byte("a\n\n\nb\n\n"), 2)
	f.Add([]byte("a\n\n"), 1)
	f.Add([]byte("\xff\n\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, w int) {
		checkDataTile(t, data, w)
	})
}

func TestEntryBundle(t *testing.T) {
	entries := [][]byte{{}, []byte("x"), bytes.Repeat([]byte{7}, 300), bytes.Repeat([]byte{1}, MaxEntrySize)}
	data, err := FormatEntryBundle(entries)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0, 0, 1, 'x', 1, 44}, data[:7])
	got, err := ParseEntryBundle(data, len(entries))
	require.NoError(t, err)
	require.Equal(t, len(entries), len(got))
	for i := range entries {
		require.True(t, bytes.Equal(entries[i], got[i]))
	}
	for i := 0; i < len(data); i += 1 + i/50 {
		_, err := ParseEntryBundle(data[:i], len(entries))
		require.ErrorIs(t, err, ErrMalformedData, i)
	}
	_, err = ParseEntryBundle(append(data, 0), len(entries))
	require.ErrorIs(t, err, ErrMalformedData)
	_, err = ParseEntryBundle(data, len(entries)+1)
	require.ErrorIs(t, err, ErrMalformedData)
	_, err = AppendEntry(nil, make([]byte, MaxEntrySize+1))
	require.ErrorIs(t, err, ErrMalformedData)
}

func FuzzParseEntryBundle(f *testing.F) {
	f.Add([]byte{0, 1, 'a', 0, 0}, 2)
	f.Add([]byte{0, 5, 'a'}, 1)
	f.Fuzz(func(t *testing.T, data []byte, w int) {
		es, err := ParseEntryBundle(data, w)
		if err != nil {
			require.True(t, errors.Is(err, ErrMalformedData) || errors.Is(err, ErrInvalidTile))
			return
		}
		again, err := FormatEntryBundle(es)
		require.NoError(t, err)
		require.Equal(t, data, again)
	})
}

func FuzzTileForIndex(f *testing.F) {
	f.Add(8, int64(0))
	f.Add(8, int64(1<<40+12345))
	f.Add(1, int64(7))
	f.Add(30, int64(1<<62))
	f.Fuzz(func(t *testing.T, h int, index int64) {
		if h < 1 || h > MaxHeight || index < 0 || index >= 1<<62 {
			return
		}
		got := TileForIndex(h, index)
		require.Equal(t, xtlog.TileForIndex(h, index), toX(got))
		p, err := ParseTilePath(got.Path())
		if err == nil {
			require.Equal(t, got, p)
		} else {
			require.False(t, got.valid() && got.H <= MaxPathHeight)
		}
	})
}
