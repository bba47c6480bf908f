package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
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
