package sumdbclient

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
	xsumdb "golang.org/x/mod/sumdb"
)

// The real sum.golang.org data, as the go command cached it.
const (
	realDir  = "../testdata/sum.golang.org"
	realVkey = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
)

// realLookups returns module@version for every cached lookup. It fails
// (never skips) if the data is missing.
func realLookups(t *testing.T) [][2]string {
	t.Helper()
	var out [][2]string
	err := filepath.WalkDir(filepath.Join(realDir, "lookup"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(realDir, "lookup"), path)
		ep, ev, ok := strings.Cut(filepath.ToSlash(rel), "@")
		require.True(t, ok, rel)
		mod, err := module.UnescapePath(ep)
		require.NoError(t, err)
		ver, err := module.UnescapeVersion(ev)
		require.NoError(t, err)
		out = append(out, [2]string{mod, ver})
		return nil
	})
	require.NoError(t, err, "real sum.golang.org test data missing")
	require.Len(t, out, 10)
	return out
}

func TestRealSumGolangOrg(t *testing.T) {
	src := NewDirSource(realDir)
	c, err := New(Options{Source: src, VerifierKey: realVkey})
	require.NoError(t, err)
	latest, err := c.FetchLatest(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(66398721), latest.Tree.N)
	xc := xsumdb.NewClient(&xmodOps{t: t, src: src, vkey: realVkey})
	for _, mv := range realLookups(t) {
		got, err := c.Lookup(ctx, mv[0], mv[1])
		require.NoError(t, err, mv)
		require.Len(t, got, 2)
		require.True(t, strings.HasPrefix(got[0], mv[0]+" "+mv[1]+" h1:"), got[0])
		require.True(t, strings.HasPrefix(got[1], mv[0]+" "+mv[1]+"/go.mod h1:"), got[1])
		want, err := xmodLookup(xc, mv[0], mv[1])
		require.NoError(t, err, mv)
		require.Equal(t, want, got)
	}
	// Every tree head met is consistent with the latest.
	tl := c.Timeline()
	require.GreaterOrEqual(t, len(tl), 4)
	for _, h := range tl {
		require.NoError(t, c.CheckConsistent(ctx, h))
	}
	require.Equal(t, latest.Tree, c.Latest().Tree)
}

// Flipping one bit of any tile the lookups use makes them fail, never
// succeed with other lines.
func TestRealSumGolangOrgFlippedTiles(t *testing.T) {
	lookups := realLookups(t)
	var tiles []string
	err := filepath.WalkDir(filepath.Join(realDir, "tile"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			tiles = append(tiles, path)
		}
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, tiles)
	failures := 0
	for i, path := range tiles {
		rel, _ := filepath.Rel(realDir, path)
		dir := copyDir(t, realDir)
		data, err := os.ReadFile(filepath.Join(dir, rel))
		require.NoError(t, err)
		data[(i*977)%len(data)] ^= 1 << uint(i%8)
		require.NoError(t, os.WriteFile(filepath.Join(dir, rel), data, 0o666))
		c, err := New(Options{Source: NewDirSource(dir), VerifierKey: realVkey})
		require.NoError(t, err)
		failed := false
		if _, err := c.FetchLatest(ctx); err != nil {
			failed = true
		}
		for _, mv := range lookups {
			lines, err := c.Lookup(ctx, mv[0], mv[1])
			if err != nil {
				require.Nil(t, lines)
				require.NotErrorIs(t, err, ErrSecurity, "a flipped tile is not proof of misbehaviour")
				failed = true
				continue
			}
			require.Len(t, lines, 2)
		}
		for _, h := range c.Timeline() {
			if err := c.CheckConsistent(ctx, h); err != nil {
				failed = true
			}
		}
		if failed {
			failures++
		} else {
			t.Logf("flipped %s not used by any lookup or consistency check", rel)
		}
	}
	// Tiles only the go command's own bookkeeping used may be unused here;
	// the auditor checks those too. Most must be caught by lookups alone.
	require.Greater(t, failures, len(tiles)/2)
}

func copyDir(t *testing.T, src string) string {
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o777)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o666)
	})
	require.NoError(t, err)
	return dst
}
