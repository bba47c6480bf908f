package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/sumdbserver"
)

// TestHammer runs the hammer for 3 seconds against its own server and
// requires zero errors, appends and lookups of both kinds, tile reads and
// tree heads.
func TestHammer(t *testing.T) {
	var out bytes.Buffer
	st, err := run(context.Background(), []string{"-duration", "3s", "-writers", "4", "-readers", "3", "-seed", "8", "-dir", t.TempDir()}, &out, io.Discard)
	t.Log(out.String())
	require.NoError(t, err)
	require.Zero(t, st.Errors)
	require.Positive(t, st.Appends)
	require.Greater(t, st.Lookups, st.Appends) // readers looked up too
	require.NotEmpty(t, st.NewLatency)
	require.NotEmpty(t, st.OldLatency)
	require.Len(t, st.OldRawLatency, len(st.OldLatency)) // one /lookup per verified lookup
	require.Positive(t, st.TileReads)
	require.Positive(t, st.DataTiles)
	require.Greater(t, st.TreeHeads, int64(1))
	require.Equal(t, st.TreeSizeStart+st.Appends, st.TreeSizeEnd)
	require.Equal(t, int64(8), st.TreeSizeStart)
	require.Contains(t, out.String(), "errors:     0\n")
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-duration", "0"},
		{"-writers", "0"},
		{"-readers", "-1"},
		{"-url", "http://127.0.0.1:1"}, // no -vkey, -proxy
		{"-url", "http://10.0.0.1:80", "-vkey", "k", "-proxy", "p"},    // not loopback
		{"-url", "http://example.com:80", "-vkey", "k", "-proxy", "p"}, // not loopback
		{"-url", "https://127.0.0.1:80", "-vkey", "k", "-proxy", "p"},  // scheme
		{"-url", "http://127.0.0.1:80/x", "-vkey", "k", "-proxy", "p"}, // path
		{"-vkey", "k"},
		{"-url", "http://127.0.0.1:1", "-vkey", "k"}, // no -proxy
		{"extra"},
	} {
		_, err := parseFlags(args, io.Discard)
		require.Error(t, err, "%q", args)
	}
	c, err := parseFlags([]string{"-url", "http://[::1]:8080/", "-vkey", "k", "-proxy", "p"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "http://[::1]:8080", c.url)
}

// TestLoopbackOnly checks that the hammer's HTTP client refuses to dial
// anything but loopback.
func TestLoopbackOnly(t *testing.T) {
	hc := loopbackClient(0)
	_, err := hc.Get("http://192.0.2.1:80/latest")
	require.ErrorContains(t, err, "non-loopback")
}

// startTestServer serves a log on memstore over loopback, with src as its
// go.sum source, and returns its URL and verifier key.
func startTestServer(t *testing.T, src func(proxyDir string) sumdbserver.Source, proxyDir string) (string, string) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.sumdb")
	require.NoError(t, err)
	signer, err := note.NewSigner(skey)
	require.NoError(t, err)
	verifier, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	lg, err := storage.Open(context.Background(), memstore.New(), storage.Options{
		Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true,
	})
	require.NoError(t, err)
	srv, err := sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.StorageLog(lg), Source: src(proxyDir)})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); lg.Close() })
	return ts.URL, vkey
}

// TestURL hammers a running server (-url) whose upstream is a file://
// GOPROXY directory the hammer writes.
func TestURL(t *testing.T) {
	proxyDir := t.TempDir()
	u, vkey := startTestServer(t, func(dir string) sumdbserver.Source {
		p, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(dir))
		require.NoError(t, err)
		return p
	}, proxyDir)
	st, err := run(context.Background(), []string{"-duration", "1s", "-url", u, "-vkey", vkey, "-proxy", proxyDir, "-seed", "2"}, io.Discard, io.Discard)
	require.NoError(t, err)
	require.Positive(t, st.Appends)
	require.Zero(t, st.Errors)
}

// TestDetectsWrongLines: a server that logs go.sum lines other than those of
// the zip the hammer wrote makes the hammer fail.
func TestDetectsWrongLines(t *testing.T) {
	proxyDir := t.TempDir()
	u, vkey := startTestServer(t, func(dir string) sumdbserver.Source {
		p, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(dir))
		require.NoError(t, err)
		return sumdbserver.SourceFunc(func(ctx context.Context, m module.Version) ([]byte, error) {
			rec, err := p.GoSum(ctx, m)
			if err == nil && strings.HasSuffix(m.Version, ".2.0") {
				i := strings.Index(string(rec), "h1:") + 3
				rec[i] ^= 1 // another (valid base64) hash
			}
			return rec, err
		})
	}, proxyDir)
	var out bytes.Buffer
	st, err := run(context.Background(), []string{"-duration", "1s", "-url", u, "-vkey", vkey, "-proxy", proxyDir, "-seed", "0"}, &out, io.Discard)
	require.Error(t, err)
	require.Positive(t, st.Errors)
	require.Contains(t, out.String(), "dirhash computed")
}

// TestDetectsWrongKey: tree heads signed by another key are errors.
func TestDetectsWrongKey(t *testing.T) {
	proxyDir := t.TempDir()
	u, _ := startTestServer(t, func(dir string) sumdbserver.Source {
		p, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(dir))
		require.NoError(t, err)
		return p
	}, proxyDir)
	_, other, err := note.GenerateKey(rand.Reader, "test.sumdb")
	require.NoError(t, err)
	_, err = run(context.Background(), []string{"-duration", "1s", "-url", u, "-vkey", other, "-proxy", proxyDir, "-seed", "1"}, io.Discard, io.Discard)
	var unverified *note.UnverifiedNoteError
	require.ErrorAs(t, err, &unverified)
	require.ErrorContains(t, err, "tree head")
}
