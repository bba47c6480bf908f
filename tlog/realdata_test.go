package tlog

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"
)

// The real data of sum.golang.org is kept in the repository's testdata
// (see testdata/README.md). The tests fail, not skip, without it.
const (
	sumdbDir = "../testdata/sum.golang.org"
	sumdbKey = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
)

func readSumdb(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sumdbDir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("real sum.golang.org data missing (want testdata/sum.golang.org in the repository): %v", err)
	}
	return data
}

// tileHashes reads the hash tile at the given sumdb path.
func tileHashes(t *testing.T, path string) []Hash {
	data := readSumdb(t, path)
	if len(data) == 0 || len(data)%HashSize != 0 || len(data) > 256*HashSize {
		t.Fatalf("%s: bad tile size %d", path, len(data))
	}
	h := make([]Hash, len(data)/HashSize)
	for i := range h {
		copy(h[i][:], data[i*HashSize:])
	}
	return h
}

// tilePath is the sumdb path of the full hash tile (level L, index n).
func tilePath(level int, n int64) string {
	return xtlog.Tile{H: 8, L: level, N: n, W: 256}.Path()
}

// openTree verifies a signed sum.golang.org tree head.
func openTree(t *testing.T, msg []byte) Tree {
	v, err := note.NewVerifier(sumdbKey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		t.Fatalf("tree head does not verify: %v", err)
	}
	tree, err := xtlog.ParseTree([]byte(n.Text))
	if err != nil {
		t.Fatal(err)
	}
	return Tree{tree.N, Hash(tree.Hash)}
}

// A lookup is a /lookup response: record id, record text, signed tree.
type lookup struct {
	name   string
	id     int64
	record []byte
	tree   Tree
}

func readLookups(t *testing.T) []lookup {
	var out []lookup
	root := filepath.Join(sumdbDir, "lookup")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		idLine, rest, _ := bytes.Cut(data, []byte("\n"))
		record, signed, ok := bytes.Cut(rest, []byte("\n\n"))
		if !ok {
			t.Fatalf("%s: malformed lookup", path)
		}
		id, err := strconv.ParseInt(string(idLine), 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, lookup{path, id, append(record, '\n'), openTree(t, signed)})
		return nil
	})
	if err != nil || len(out) < 10 {
		t.Fatalf("real sum.golang.org lookups missing (%d found): %v", len(out), err)
	}
	return out
}

// TestRealRecordHashes recomputes each real record's leaf hash and finds it
// at its place in the real level-0 tile.
func TestRealRecordHashes(t *testing.T) {
	for _, l := range readLookups(t) {
		tile := tileHashes(t, tilePath(0, l.id/256))
		got := RecordHash(l.record)
		if tile[l.id%256] != got {
			t.Errorf("%s: record %d hashes to %v, tile has %v", l.name, l.id, got, tile[l.id%256])
		}
		if AppendRecordHashes(nil, [][]byte{l.record})[0] != got {
			t.Errorf("%s: AppendRecordHashes differs from RecordHash", l.name)
		}
		// Not the record's neighbour, nor the record altered.
		if tile[(l.id+1)%256] == got || RecordHash(l.record[:len(l.record)-1]) == tile[l.id%256] {
			t.Errorf("%s: hash found where it must not be", l.name)
		}
	}
}

// TestRealTileLevels recomputes real level-1, level-2 and level-3 hashes
// from the lower-level tiles at hand: the hash at position i of a level
// L+1 tile is the root of the 256 hashes of level-L tile 256*k+i. The
// roots are computed three ways: AppendNodeHashes level by level, an
// Appender fed the 256 hashes, and TreeHash over x/mod-style stored hashes.
func TestRealTileLevels(t *testing.T) {
	type tileRef struct {
		level int
		n     int64
	}
	// Every full tile at hand, and for each level the tiles (full or
	// partial) that hold hashes of the level below.
	full := map[tileRef][]Hash{}
	upper := map[tileRef][]Hash{}
	root := filepath.Join(sumdbDir, "tile", "8")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(sumdbDir), path)
		tile, err := xtlog.ParseTilePath(filepath.ToSlash(rel))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		h := tileHashes(t, filepath.ToSlash(rel))
		if len(h) != tile.W {
			t.Fatalf("%s: %d hashes", rel, len(h))
		}
		if tile.W == 256 {
			full[tileRef{tile.L, tile.N}] = h
		}
		if old, ok := upper[tileRef{tile.L, tile.N}]; !ok || len(h) > len(old) {
			upper[tileRef{tile.L, tile.N}] = h
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := map[int]int{}
	for ref, hashes := range full {
		up, ok := upper[tileRef{ref.level + 1, ref.n / 256}]
		if !ok || int(ref.n%256) >= len(up) {
			continue
		}
		want := up[ref.n%256]
		// Level by level.
		level := hashes
		for len(level) > 1 {
			level = AppendNodeHashes(nil, level)
		}
		// An Appender.
		var a Appender
		if _, _, err := a.AppendHashes(hashes); err != nil {
			t.Fatal(err)
		}
		// TreeHash over the stored hashes an x/mod log would hold.
		var m memLog
		for i, h := range hashes {
			s, err := StoredHashesForRecordHash(int64(i), h, m)
			if err != nil {
				t.Fatal(err)
			}
			m = append(m, s...)
		}
		th, err := TreeHash(256, m)
		if err != nil {
			t.Fatal(err)
		}
		if level[0] != want || a.TreeHash() != want || th != want {
			t.Errorf("tile L%d/%d: root %v / %v / %v, level %d tile has %v", ref.level, ref.n, level[0], a.TreeHash(), th, ref.level+1, want)
		}
		checked[ref.level+1]++
	}
	t.Logf("recomputed real hashes per level: %v", checked)
	if checked[1] < 4 || checked[2] < 4 || checked[3] < 2 {
		t.Fatalf("too few real hashes recomputed: %v", checked)
	}
}

// fileTiles is an x/mod TileReader over the real tiles.
type fileTiles struct{ t *testing.T }

func (fileTiles) Height() int { return 8 }

func (f fileTiles) ReadTiles(tiles []xtlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		data, err := os.ReadFile(filepath.Join(sumdbDir, filepath.FromSlash(tile.Path())))
		if errors.Is(err, fs.ErrNotExist) && tile.W < 256 {
			// A wider tile serves too: the go command keeps the widest.
			matches, _ := filepath.Glob(filepath.Join(sumdbDir, filepath.FromSlash(strings.TrimSuffix(tile.Path(), strconv.Itoa(tile.W))+"*")))
			for _, m := range matches {
				if d, e := os.ReadFile(m); e == nil && len(d) >= tile.W*HashSize {
					data, err = d[:tile.W*HashSize], nil
					break
				}
			}
			if err != nil {
				if d, e := os.ReadFile(filepath.Join(sumdbDir, filepath.FromSlash(xtlog.Tile{H: 8, L: tile.L, N: tile.N, W: 256}.Path()))); e == nil {
					data, err = d[:tile.W*HashSize], nil
				}
			}
		}
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (fileTiles) SaveTiles([]xtlog.Tile, [][]byte) {}

// realReader returns a HashReader of the real log at the signed tree,
// which authenticates every tile it uses against the tree's hash.
func realReader(t *testing.T, tree Tree) (HashReader, xtlog.HashReader) {
	xr := xtlog.TileHashReader(xtlog.Tree{N: tree.N, Hash: xtlog.Hash(tree.Hash)}, fileTiles{t})
	return HashReaderFunc(func(indexes []int64) ([]Hash, error) {
		h, err := xr.ReadHashes(indexes)
		return fromX(h), err
	}), xr
}

// TestRealProofs proves each real record in the real signed tree of its
// lookup, with this package over the authenticated real tiles, checks the
// proof against the signed tree hash, and compares it with x/mod's. It
// then proves each of those trees consistent with the latest signed tree.
func TestRealProofs(t *testing.T) {
	latest := openTree(t, readSumdb(t, "latest"))
	lr, lxr := realReader(t, latest)
	// The real tree hash from the real tiles, directly and through an
	// Appender resumed from them.
	if th, err := TreeHash(latest.N, lr); err != nil || th != latest.Hash {
		t.Fatalf("TreeHash(%d) over the real tiles = %v, %v; signed %v", latest.N, th, err, latest.Hash)
	}
	a, err := NewAppender(latest.N, lr)
	if err != nil || a.Tree() != latest {
		t.Fatalf("NewAppender(%d) over the real tiles: %v", latest.N, err)
	}
	for _, l := range readLookups(t) {
		r, xr := realReader(t, l.tree)
		if th, err := TreeHash(l.tree.N, r); err != nil || th != l.tree.Hash {
			t.Fatalf("%s: TreeHash(%d) = %v, %v; signed %v", l.name, l.tree.N, th, err, l.tree.Hash)
		}
		p, err := ProveRecord(l.tree.N, l.id, r)
		if err != nil {
			t.Fatalf("%s: ProveRecord: %v", l.name, err)
		}
		xp, err := xtlog.ProveRecord(l.tree.N, l.id, xr)
		if err != nil || !equalHashes(p, xp) {
			t.Fatalf("%s: ProveRecord differs from x/mod (%v)", l.name, err)
		}
		leaf := RecordHash(l.record)
		if err := CheckRecord(p, l.tree.N, l.tree.Hash, l.id, leaf); err != nil {
			t.Errorf("%s: CheckRecord: %v", l.name, err)
		}
		other := latest.Hash
		if other == l.tree.Hash {
			other = RecordHash(nil)
		}
		mutateRecordProof(t, p, l.tree.N, l.tree.Hash, l.id, leaf, other)

		if l.tree.N == latest.N {
			if l.tree != latest {
				t.Fatalf("two signed trees of size %d differ", latest.N)
			}
			continue
		}
		tp, err := ProveTree(latest.N, l.tree.N, lr)
		if err != nil {
			t.Fatalf("%s: ProveTree(%d, %d): %v", l.name, latest.N, l.tree.N, err)
		}
		xtp, err := xtlog.ProveTree(latest.N, l.tree.N, lxr)
		if err != nil || !equalHashes(tp, xtp) {
			t.Fatalf("%s: ProveTree differs from x/mod (%v)", l.name, err)
		}
		if err := CheckTree(tp, latest.N, latest.Hash, l.tree.N, l.tree.Hash); err != nil {
			t.Errorf("%s: CheckTree(%d, %d): %v", l.name, latest.N, l.tree.N, err)
		}
		mutateTreeProof(t, tp, latest.N, latest.Hash, l.tree.N, l.tree.Hash)
	}
}
