package sumdbclient

import (
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	xsumdb "golang.org/x/mod/sumdb"
	xnote "golang.org/x/mod/sumdb/note"

	"github.com/tlogkit/tlogkit/tile"
)

// Against x/mod's own checksum database server: our client and x/mod's
// agree on every lookup, and the server's data tiles decode to exactly the
// authenticated records.
func TestAgainstXModServer(t *testing.T) {
	skey, vkey, err := xnote.GenerateKey(rand.Reader, "xmod.example")
	require.NoError(t, err)
	gosum := func(path, vers string) ([]byte, error) {
		return goSumRecord(path, vers, "xmod"), nil
	}
	ops := xsumdb.NewTestServer(skey, gosum)
	srv := httptest.NewServer(xsumdb.NewServer(ops))
	defer srv.Close()

	c := newTestClient(t, srv.URL, vkey, "")
	src, _ := NewHTTPSource(srv.URL, nil)
	xc := xsumdb.NewClient(&xmodOps{t: t, src: src, vkey: vkey})
	var texts [][]byte
	// x/mod's test server appends a record at the first lookup of a
	// module version: grow the log past a full tile.
	for i := 0; i < 300; i++ {
		mod := fmt.Sprintf("example.org/mod%d", i)
		got, err := c.Lookup(ctx, mod, "v0.1.0")
		require.NoError(t, err, mod)
		texts = append(texts, goSumRecord(mod, "v0.1.0", "xmod"))
		if i%37 == 0 || i == 299 {
			want, err := xmodLookup(xc, mod, "v0.1.0")
			require.NoError(t, err)
			require.Equal(t, want, got)
		}
	}
	require.Equal(t, int64(300), c.Latest().Tree.N)
	for _, tc := range []struct {
		t    tile.Tile
		from int
	}{
		{tile.Tile{H: 8, L: -1, N: 0, W: 256}, 0},
		{tile.Tile{H: 8, L: -1, N: 1, W: 44}, 256},
		{tile.Tile{H: 8, L: -1, N: 1, W: 3}, 256},
	} {
		data, err := src.Read(ctx, "/"+tc.t.Path(), 1<<20)
		require.NoError(t, err)
		records, err := tile.ParseDataTile(data, tc.t.W)
		require.NoError(t, err, tc.t.Path())
		require.Equal(t, texts[tc.from:tc.from+tc.t.W], records)
		again, err := tile.FormatDataTile(records)
		require.NoError(t, err)
		require.Equal(t, data, again)
	}
}
