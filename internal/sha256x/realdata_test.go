package sha256x

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// realData is the captured sum.golang.org data kept in the repository's
// testdata.
var realData = filepath.Join("..", "..", "testdata", "sum.golang.org")

// TestRealSumdbData checks Leaves against the record hashes that
// sum.golang.org published in its level-0 tiles, and Nodes against its
// level-1 tiles: each full level-0 tile, reduced 8 times, must give the
// hash stored for it one level up.
func TestRealSumdbData(t *testing.T) {
	if _, err := os.Stat(realData); err != nil {
		t.Fatalf("real sum.golang.org data missing: %v", err)
	}
	readTile := func(tile tlog.Tile) []byte {
		b, err := os.ReadFile(filepath.Join(realData, filepath.FromSlash(tile.Path())))
		if err != nil || len(b) != tile.W*32 {
			return nil
		}
		return b
	}

	// Records from the lookups, hashed as one batch.
	var records [][]byte
	var ids []int64
	err := filepath.WalkDir(filepath.Join(realData, "lookup"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		line, rest, _ := bytes.Cut(b, []byte("\n"))
		id, err := strconv.ParseInt(string(line), 10, 64)
		if err != nil {
			t.Fatalf("%s: bad record id: %v", path, err)
		}
		text, _, ok := bytes.Cut(rest, []byte("\n\n"))
		if !ok {
			t.Fatalf("%s: no blank line after the record", path)
		}
		records = append(records, append(text, '\n'))
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) == 0 {
		t.Fatal("no lookups in the real test data")
	}
	checkedLeaves := 0
	for _, im := range impls() {
		hashes := make([][32]byte, len(records))
		im.leaves(hashes, records)
		for i, id := range ids {
			tile := tlog.Tile{H: 8, L: 0, N: id / 256, W: 256}
			data := readTile(tile)
			for w := int(id%256) + 1; data == nil && w < 256; w++ {
				tile.W = w
				data = readTile(tile)
			}
			if data == nil {
				continue // the go command fetched no tile holding this record
			}
			want := [32]byte(data[32*(id%256):])
			if hashes[i] != want {
				t.Errorf("%s: leaf hash of record %d = %x, sum.golang.org has %x", im.name, id, hashes[i], want)
			}
			if got := im.leaf(records[i]); got != want {
				t.Errorf("%s: Leaf of record %d = %x, sum.golang.org has %x", im.name, id, got, want)
			}
			checkedLeaves++
		}
	}
	if checkedLeaves == 0 {
		t.Fatal("no record could be checked against a tile")
	}

	// Full tiles reduced to their subtree root.
	checkedNodes := 0
	err = filepath.WalkDir(filepath.Join(realData, "tile", "8", "0"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(realData, path)
		tile, err := tlog.ParseTilePath(filepath.ToSlash(rel))
		if err != nil || tile.W != 256 {
			return nil
		}
		up := tlog.Tile{H: 8, L: 1, N: tile.N / 256, W: 256}
		upData := readTile(up)
		for w := int(tile.N%256) + 1; upData == nil && w < 256; w++ {
			up.W = w
			upData = readTile(up)
		}
		if upData == nil {
			return nil
		}
		want := [32]byte(upData[32*(tile.N%256):])
		data := readTile(tile)
		for _, im := range impls() {
			level := asArrays(data)
			for len(level) > 1 {
				im.nodes(level[:len(level)/2], level)
				level = level[:len(level)/2]
			}
			if level[0] != want {
				t.Errorf("%s: root of %s = %x, sum.golang.org has %x", im.name, rel, level[0], want)
			}
		}
		checkedNodes++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checkedNodes == 0 {
		t.Fatal("no full tile could be checked against the level above")
	}
	t.Logf("checked %d leaf hashes and %d tile roots against sum.golang.org", checkedLeaves, checkedNodes)
}

// asArrays copies b (len a multiple of 32) into hashes.
func asArrays(b []byte) [][32]byte {
	out := make([][32]byte, len(b)/32)
	for i := range out {
		out[i] = [32]byte(b[32*i:])
	}
	return out
}
