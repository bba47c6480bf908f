package tile

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strconv"

	"github.com/tlogkit/tlogkit/tlog"
)

// Height is the tile height used by sum.golang.org and by every C2SP
// tlog-tiles log: a full tile holds 2^8 = 256 hashes.
const Height = 8

// MaxHeight is the largest tile height the computing functions accept
// ([TileForIndex], [NewTiles], [HashFromTile], [ReadTileData]), as in
// golang.org/x/mod/sumdb/tlog.
const MaxHeight = 30

// MaxPathHeight is the largest tile height that [ParseTilePath] accepts
// and a [Verifier] works with. A tile of height 16 holds 2 MiB of hashes;
// a path of height 30 (32 GiB, which x/mod accepts) is rejected on sight,
// since the only reason to send one is to make the other side allocate.
const MaxPathHeight = 16

// A Tile names a block of the hash tree, with the same meaning as
// golang.org/x/mod/sumdb/tlog.Tile: the tile of height H at level L with
// number N lists W consecutive hashes of tree level H*L, starting with the
// hash at index N<<H of that level. A full tile has W == 1<<H; only the
// right edge of a tree has partial tiles (W < 1<<H).
//
// Level L == -1 names a data tile: the records themselves, whose leaf
// hashes make up the level-0 tile with the same N and W.
//
// Tile is a small value: it compares with == and works as a map key.
type Tile struct {
	H int   // height, 1 ≤ H ≤ MaxHeight
	L int   // level, -1 (data) or 0 ≤ L with H*L ≤ 63
	N int64 // number within the level, 0 ≤ N
	W int   // width, 1 ≤ W ≤ 1<<H
}

// Errors returned by this package. Errors wrap one of these, so callers
// test them with errors.Is.
var (
	// ErrMalformedPath reports a tile path that is not the canonical path
	// of any valid tile.
	ErrMalformedPath = errors.New("tile: malformed tile path")
	// ErrInvalidTile reports tile coordinates out of range.
	ErrInvalidTile = errors.New("tile: invalid tile")
	// ErrMalformedData reports tile or data-tile bytes that do not decode.
	ErrMalformedData = errors.New("tile: malformed tile data")
	// ErrInconsistent reports tile data that does not hash to the value
	// the signed tree (or an already verified parent tile) says it must.
	ErrInconsistent = errors.New("tile: downloaded inconsistent tile")
)

// valid reports whether t has coordinates this package can work with:
// a height in range, a level whose hashes can exist in a tree of at most
// 2^63-1 records, a width in range, and a start index that fits in an int64.
func (t Tile) valid() bool {
	if t.H < 1 || t.H > MaxHeight || t.L < -1 || t.W < 1 || t.W > 1<<uint(t.H) || t.N < 0 {
		return false
	}
	lev := t.L
	if lev < 0 {
		lev = 0
	}
	if t.H*lev > 63 {
		return false
	}
	// The tile's first hash is at index N<<H of level H*L, which covers
	// records from N<<(H*(L+1)); that must fit in 63 bits.
	shift := t.H * (lev + 1)
	if shift >= 63 {
		return t.N == 0
	}
	return t.N < 1<<uint(63-shift)
}

// TileForIndex returns the tile of height h that stores the hash with the
// given stored-hash index, with the least width that includes it, as
// x/mod's tlog.TileForIndex.
//
// It panics if h is not in 1..MaxHeight or index < 0: both are program
// errors, not input.
func TileForIndex(h int, index int64) Tile {
	if h < 1 || h > MaxHeight {
		panic(fmt.Sprintf("tile: TileForIndex: invalid height %d", h))
	}
	if index < 0 {
		panic(fmt.Sprintf("tile: TileForIndex: invalid index %d", index))
	}
	t, _, _ := tileForIndex(h, index)
	return t
}

// tileForIndex returns the least-width tile of height h that stores index,
// and the byte range [start, end) of the tile data whose hashes fold into
// that stored hash.
func tileForIndex(h int, index int64) (t Tile, start, end int) {
	level, n := tlog.SplitStoredHashIndex(index)
	t.H = h
	t.L = level / h
	k := uint(level - t.L*h) // level inside the tile
	// The hash is node n at tile-relative level k; it covers tile
	// positions [n<<k, (n+1)<<k) of the tile's bottom level.
	first := n << k
	t.N = first >> uint(h)
	pos := first - t.N<<uint(h)
	t.W = int(pos + 1<<k)
	return t, int(pos) * tlog.HashSize, t.W * tlog.HashSize
}

// HashFromTile returns the hash with the given stored-hash index, computed
// from data, the contents of tile t. t must be TileForIndex(t.H, index) or a
// wider tile with the same L and N, and data must hold at least t.W hashes.
// The result is only as trustworthy as data.
func HashFromTile(t Tile, data []byte, index int64) (tlog.Hash, error) {
	if !t.valid() || t.L < 0 || index < 0 {
		return tlog.Hash{}, fmt.Errorf("%w %+v", ErrInvalidTile, t)
	}
	if len(data) < t.W*tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("%w: %d bytes is too short for %s", ErrMalformedData, len(data), t.Path())
	}
	t1, start, end := tileForIndex(t.H, index)
	if t.L != t1.L || t.N != t1.N || t.W < t1.W {
		return tlog.Hash{}, fmt.Errorf("%w: index %d is in %s, not %s", ErrInvalidTile, index, t1.Path(), t.Path())
	}
	return foldTile(data[start:end]), nil
}

// foldTile returns the hash of the complete subtree whose bottom-level
// hashes are data (a power of two of them, at least one).
func foldTile(data []byte) tlog.Hash {
	var h tlog.Hash
	if len(data) == tlog.HashSize {
		copy(h[:], data)
		return h
	}
	half := len(data) / 2
	return tlog.NodeHash(foldTile(data[:half]), foldTile(data[half:]))
}

// NewTiles returns the tiles of height h that change when a tree grows from
// oldN to newN records: for each level, the full tiles completed by the
// growth and the new partial tile at the right edge, as x/mod's
// tlog.NewTiles. It returns nil if newN <= oldN.
//
// It panics if h is not in 1..MaxHeight.
func NewTiles(h int, oldN, newN int64) []Tile {
	if h < 1 || h > MaxHeight {
		panic(fmt.Sprintf("tile: NewTiles: invalid height %d", h))
	}
	if oldN < 0 {
		oldN = 0
	}
	var tiles []Tile
	for lev := uint(0); lev*uint(h) < 64 && newN>>(lev*uint(h)) > 0; lev++ {
		oldW := oldN >> (lev * uint(h)) // hashes at this level before
		newW := newN >> (lev * uint(h)) // and after
		if oldW >= newW {
			continue
		}
		for n := oldW >> uint(h); n < newW>>uint(h); n++ {
			tiles = append(tiles, Tile{H: h, L: int(lev), N: n, W: 1 << uint(h)})
		}
		n := newW >> uint(h)
		if w := newW - n<<uint(h); w > 0 {
			tiles = append(tiles, Tile{H: h, L: int(lev), N: n, W: int(w)})
		}
	}
	return tiles
}

// ReadTileData reads the W hashes of hash tile t from r and returns the
// tile's contents: the hashes concatenated. Unlike x/mod, which reads a
// full tile when W is 0, it requires a valid tile.
func ReadTileData(t Tile, r tlog.HashReader) ([]byte, error) {
	if !t.valid() || t.L < 0 {
		return nil, fmt.Errorf("%w %+v", ErrInvalidTile, t)
	}
	start := t.N << uint(t.H)
	indexes := make([]int64, t.W)
	for i := range indexes {
		indexes[i] = tlog.StoredHashIndex(t.H*t.L, start+int64(i))
	}
	hashes, err := r.ReadHashes(indexes)
	if err != nil {
		return nil, err
	}
	if len(hashes) != len(indexes) {
		return nil, fmt.Errorf("tile: ReadHashes(%d indexes) returned %d hashes", len(indexes), len(hashes))
	}
	data := make([]byte, 0, t.W*tlog.HashSize)
	for i := range hashes {
		data = append(data, hashes[i][:]...)
	}
	return data, nil
}

// A TileReader reads the tiles of one log. It is x/mod's tlog.TileReader
// with a context on the method that does I/O.
type TileReader interface {
	// Height returns the height of the log's tiles (8 for sumdb and C2SP).
	Height() int

	// ReadTiles returns the contents of each tile, in order. On success
	// len(data) == len(tiles) and len(data[i]) == tiles[i].W*HashSize;
	// callers check this. Data read from a server is untrusted: it must
	// not be stored persistently before SaveTiles confirms it.
	ReadTiles(ctx context.Context, tiles []Tile) (data [][]byte, err error)

	// SaveTiles tells the reader that the given tiles were authenticated
	// against a signed tree and may now be kept.
	SaveTiles(tiles []Tile, data [][]byte)
}

// Paths.
//
// N is written in groups of three decimal digits, most significant first,
// every group but the last prefixed by "x": 1234067 is x001/x234/067.
// An int64 needs at most seven groups.
const maxNGroups = 7

// appendN appends the path encoding of n >= 0.
func appendN(b []byte, n int64) []byte {
	var groups [maxNGroups]int
	k := 0
	for {
		groups[k] = int(n % 1000)
		k++
		n /= 1000
		if n == 0 {
			break
		}
	}
	for i := k - 1; i >= 0; i-- {
		if i > 0 {
			b = append(b, 'x')
		}
		g := groups[i]
		b = append(b, byte('0'+g/100), byte('0'+g/10%10), byte('0'+g%10))
		if i > 0 {
			b = append(b, '/')
		}
	}
	return b
}

// Path returns the sumdb tile path of t, as x/mod's tlog.Tile.Path:
// tile/H/L/N, or tile/H/data/N for a data tile, with a .p/W suffix for a
// partial tile. Example: tile/8/0/x001/x234/067.p/9.
func (t Tile) Path() string {
	b := make([]byte, 0, 40)
	b = append(b, "tile/"...)
	b = strconv.AppendInt(b, int64(t.H), 10)
	b = append(b, '/')
	if t.L == -1 {
		b = append(b, "data"...)
	} else {
		b = strconv.AppendInt(b, int64(t.L), 10)
	}
	b = append(b, '/')
	return string(t.appendTail(b))
}

// appendTail appends N and the optional .p/W suffix.
func (t Tile) appendTail(b []byte) []byte {
	n := t.N
	if n < 0 { // invalid tile: keep Path total, never panic
		b = append(b, '-')
		n = -(n + 1)
	}
	b = appendN(b, n)
	if t.H < 1 || t.H > 62 || t.W != 1<<uint(t.H) {
		b = append(b, ".p/"...)
		b = strconv.AppendInt(b, int64(t.W), 10)
	}
	return b
}

// C2SPPath returns the C2SP tlog-tiles path of t: tile/L/N for a hash
// tile, tile/entries/N for a data tile (an entry bundle), with a .p/W
// suffix for a partial tile. The C2SP layout has no height element; it is
// only defined for t.H == Height, and C2SPPath returns "" for other heights.
func (t Tile) C2SPPath() string {
	if t.H != Height {
		return ""
	}
	b := make([]byte, 0, 40)
	b = append(b, "tile/"...)
	if t.L == -1 {
		b = append(b, "entries"...)
	} else {
		b = strconv.AppendInt(b, int64(t.L), 10)
	}
	b = append(b, '/')
	return string(t.appendTail(b))
}

// ParseTilePath parses a sumdb tile path (as produced by [Tile.Path]). It
// accepts only canonical paths of valid tiles: ParseTilePath(p) succeeds
// exactly when p == t.Path() for some valid tile t, and then returns t.
//
// Unlike x/mod's tlog.ParseTilePath, it rejects heights above
// [MaxPathHeight] and tiles that cannot exist in a tree of at most 2^63-1
// records (levels with H*L > 63, numbers N whose first record index
// overflows an int64); x/mod accepts these.
func ParseTilePath(path string) (Tile, error) {
	p := pathParser{s: path}
	if !p.lit("tile/") {
		return Tile{}, badPath(path)
	}
	h, ok := p.num(MaxPathHeight)
	if !ok || h < 1 || !p.lit("/") {
		return Tile{}, badPath(path)
	}
	l := -1
	if !p.lit("data/") {
		l, ok = p.num(63)
		if !ok || !p.lit("/") {
			return Tile{}, badPath(path)
		}
	}
	return p.tail(path, h, l)
}

// ParseC2SPPath parses a C2SP tlog-tiles path (as produced by
// [Tile.C2SPPath]): tile/L/N[.p/W] or tile/entries/N[.p/W]. The result
// has H == Height. Only canonical paths of valid tiles are accepted.
func ParseC2SPPath(path string) (Tile, error) {
	p := pathParser{s: path}
	if !p.lit("tile/") {
		return Tile{}, badPath(path)
	}
	l := -1
	if !p.lit("entries/") {
		var ok bool
		l, ok = p.num(63)
		if !ok || !p.lit("/") {
			return Tile{}, badPath(path)
		}
	}
	return p.tail(path, Height, l)
}

func badPath(path string) error {
	if len(path) > 80 {
		path = path[:80] + "..."
	}
	return fmt.Errorf("%w %q", ErrMalformedPath, path)
}

// pathParser consumes a path from the left. Every number it reads is
// canonical decimal (no sign, no leading zero) and bounded.
type pathParser struct {
	s string
}

func (p *pathParser) lit(prefix string) bool {
	if len(p.s) >= len(prefix) && p.s[:len(prefix)] == prefix {
		p.s = p.s[len(prefix):]
		return true
	}
	return false
}

// num reads a canonical decimal number in 0..max.
func (p *pathParser) num(max int) (int, bool) {
	i, v := 0, 0
	for i < len(p.s) && '0' <= p.s[i] && p.s[i] <= '9' {
		if i > 0 && v == 0 { // leading zero
			return 0, false
		}
		v = v*10 + int(p.s[i]-'0')
		if v > max {
			return 0, false
		}
		i++
	}
	if i == 0 {
		return 0, false
	}
	p.s = p.s[i:]
	return v, true
}

// group reads three decimal digits.
func (p *pathParser) group() (int64, bool) {
	if len(p.s) < 3 {
		return 0, false
	}
	v := int64(0)
	for i := 0; i < 3; i++ {
		c := p.s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	p.s = p.s[3:]
	return v, true
}

// tail parses N[.p/W] through the end of the path and checks the tile.
func (p *pathParser) tail(path string, h, l int) (Tile, error) {
	var n int64
	for k := 0; ; k++ {
		if k >= maxNGroups {
			return Tile{}, badPath(path)
		}
		more := p.lit("x")
		g, ok := p.group()
		if !ok {
			return Tile{}, badPath(path)
		}
		if n > (1<<63-1-g)/1000 {
			return Tile{}, badPath(path)
		}
		n = n*1000 + g
		if !more {
			break
		}
		if k == 0 && g == 0 || !p.lit("/") { // x000 cannot lead
			return Tile{}, badPath(path)
		}
	}
	w := 1 << uint(h)
	if p.lit(".p/") {
		var ok bool
		w, ok = p.num(1<<uint(h) - 1)
		if !ok || w == 0 {
			return Tile{}, badPath(path)
		}
	}
	if p.s != "" {
		return Tile{}, badPath(path)
	}
	t := Tile{H: h, L: l, N: n, W: w}
	if !t.valid() {
		return Tile{}, badPath(path)
	}
	return t, nil
}

// Utilities shared by the verifier.

// log2 of a power of two.
func log2(x int) uint { return uint(bits.TrailingZeros(uint(x))) }
