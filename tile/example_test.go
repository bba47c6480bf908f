package tile_test

import (
	"context"
	"fmt"

	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

func ExampleParseTilePath() {
	t, err := tile.ParseTilePath("tile/8/0/x001/x234/067.p/9")
	fmt.Println(t, err)
	fmt.Println(t.Path())
	fmt.Println(t.C2SPPath())
	_, err = tile.ParseTilePath("tile/8/0/x001/x234/067.p/09")
	fmt.Println(err)
	// Output:
	// {8 0 1234067 9} <nil>
	// tile/8/0/x001/x234/067.p/9
	// tile/0/x001/x234/067.p/9
	// tile: malformed tile path "tile/8/0/x001/x234/067.p/09"
}

func ExampleNewTiles() {
	// Growing a tree from 250 to 600 records publishes these tiles.
	for _, t := range tile.NewTiles(8, 250, 600) {
		fmt.Println(t.Path())
	}
	// Output:
	// tile/8/0/000
	// tile/8/0/001
	// tile/8/0/002.p/88
	// tile/8/1/000.p/2
}

func ExampleFormatDataTile() {
	data, _ := tile.FormatDataTile([][]byte{
		[]byte("example.com/a v1.0.0 h1:AAAA\nexample.com/a v1.0.0/go.mod h1:BBBB\n"),
		[]byte("example.com/b v1.0.0 h1:CCCC\nexample.com/b v1.0.0/go.mod h1:DDDD\n"),
	})
	fmt.Printf("%s", data)
	records, err := tile.ParseDataTile(data, 2)
	fmt.Println(len(records), err)
	bundle, _ := tile.FormatEntryBundle([][]byte{[]byte("hi"), []byte("there")})
	fmt.Printf("% x\n", bundle)
	// Output:
	// example.com/a v1.0.0 h1:AAAA
	// example.com/a v1.0.0/go.mod h1:BBBB
	//
	// example.com/b v1.0.0 h1:CCCC
	// example.com/b v1.0.0/go.mod h1:DDDD
	//
	// 2 <nil>
	// 00 02 68 69 00 05 74 68 65 72 65
}

// memLog is a log whose stored hashes are all in memory; it serves its
// tiles like a tile server would.
type memLog []tlog.Hash

func (l *memLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = (*l)[x]
	}
	return out, nil
}
func (l *memLog) Height() int { return 8 }
func (l *memLog) ReadTiles(ctx context.Context, tiles []tile.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		d, err := tile.ReadTileData(t, l)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}
func (l *memLog) SaveTiles([]tile.Tile, [][]byte) {}

func ExampleVerifier() {
	var l memLog
	for i := int64(0); i < 1000; i++ {
		hs, _ := tlog.StoredHashes(i, []byte(fmt.Sprintf("record %d\n", i)), &l)
		l = append(l, hs...)
	}
	th, _ := tlog.TreeHash(1000, &l)
	tree := tlog.Tree{N: 1000, Hash: th} // as a signed tree head says

	v, _ := tile.NewVerifier(&l, tile.VerifierOptions{})
	p, err := v.ProveRecord(context.Background(), tree, 617)
	fmt.Println(len(p), err)
	fmt.Println(tlog.CheckRecord(p, tree.N, tree.Hash, 617, tlog.RecordHash([]byte("record 617\n"))))

	// A tile server that lies is caught.
	l[tlog.StoredHashIndex(0, 5)][0] ^= 1 // record 5's leaf hash
	v, _ = tile.NewVerifier(&l, tile.VerifierOptions{})
	_, err = v.ProveRecord(context.Background(), tree, 3)
	fmt.Println(err)
	// Output:
	// 10 <nil>
	// <nil>
	// tile: downloaded inconsistent tile: tile/8/0/000 does not hash to the value in tile/8/1/000.p/3 (tree 1000)
}
