package sumdbserver_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	xsumdb "golang.org/x/mod/sumdb"

	"github.com/tlogkit/tlogkit/sumdbserver"
)

// FuzzServePath sends arbitrary paths to a read-only server (no source) of a
// 300-record log: it never panics or answers 500, and every 200 is exactly
// what x/mod's Server answers for the same log.
func FuzzServePath(f *testing.F) {
	l := newMemLog(testSKey)
	ctx := context.Background()
	for i := range 300 {
		m := modName(i)
		_, err := l.AppendKeyed(ctx, m.String(), fakeGoSum(m.Path, m.Version))
		require.NoError(f, err)
	}
	// x/mod's TestServer learns the same records in the same order.
	xts := xsumdb.NewTestServer(testSKey, func(path, vers string) ([]byte, error) {
		return fakeGoSum(path, vers), nil
	})
	for i := range 300 {
		m := modName(i)
		_, err := xts.Lookup(ctx, m)
		require.NoError(f, err)
	}
	ours, err := sumdbserver.NewServer(sumdbserver.Config{Log: l, C2SP: true})
	require.NoError(f, err)
	// The reference is asked only about paths ours answers 200, so it
	// never learns a new record.
	ref := xsumdb.NewServer(xts)

	for _, p := range []string{
		"/latest", "/checkpoint", lookupPath(modName(0)), lookupPath(modName(1)), lookupPath(modName(299)),
		"/tile/8/0/000", "/tile/8/0/001.p/44", "/tile/8/1/000.p/1", "/tile/8/data/000", "/tile/8/data/001.p/3",
		"/tile/0/000", "/tile/entries/000", "/lookup/example.com/m0@v1.0.0+incompatible", "/tile/8/0/x001/000",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if len(path) == 0 || path[0] != '/' {
			path = "/" + path
		}
		a := do(ours, "GET", path)
		if a.code >= 500 {
			t.Fatalf("GET %q: %d %s", path, a.code, a.body)
		}
		if a.code != 200 {
			return
		}
		b := do(ref, "GET", path)
		if path == "/checkpoint" || len(path) > 6 && path[:6] == "/tile/" && isC2SP(path) {
			return // no x/mod counterpart
		}
		if b.code != 200 || string(a.body) != string(b.body) || a.ctype != b.ctype {
			t.Fatalf("GET %q: ours %d %q, x/mod %d %q", path, a.code, a.body, b.code, b.body)
		}
	})
}

// isC2SP reports whether a tile path is in the C2SP layout (no height).
func isC2SP(path string) bool {
	rest := path[len("/tile/"):]
	return len(rest) < 2 || rest[:2] != "8/"
}
