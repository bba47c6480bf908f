package main

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/goproxy"
	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
)

var goproxyLine = regexp.MustCompile(`(?m)^export GOPROXY=(http://127\.0\.0\.1:[0-9]+) GOSUMDB="([^ "]+)"$`)

// TestGoProxyFlag: with -goproxy, the go command with GOPROXY set to the
// mirror and GOSUMDB naming the log by key only (reached through the
// mirror's /sumdb/ proxying) downloads and verifies modules, and the
// mirror's /index lists every version logged, across a restart.
func TestGoProxyFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	proxyDir := t.TempDir()
	for _, m := range []module.Version{{Path: "example.com/hello", Version: "v1.0.0"}, {Path: "example.com/other", Version: "v0.2.0"}} {
		sumdbtest.WriteModule(t, proxyDir, m, map[string]string{"x.go": "package x\n"})
	}
	data := t.TempDir()
	args := []string{"-listen", "127.0.0.1:0", "-goproxy", "127.0.0.1:0", "-data", data, "-upstream", "file://" + filepath.ToSlash(proxyDir)}
	in := start(t, args...)
	m := goproxyLine.FindStringSubmatch(in.stdout.String())
	require.NotNil(t, m, in.stdout.String())
	require.Equal(t, "http://"+in.goproxy, m[1])

	g := sumdbtest.NewGoEnv(t, proxyDir, m[2])
	g.ProxyURL = m[1]
	g.MustRun(g.Work, "mod", "download", "-json", "example.com/hello@v1.0.0")
	// A lookup at the database directly is logged and listed too.
	code, body := get(t, "http://"+in.addr+"/lookup/example.com/other@v0.2.0")
	require.Equal(t, 200, code, body)

	index := func() []goproxy.IndexEntry {
		code, body := get(t, m[1]+"/index")
		require.Equal(t, 200, code, body)
		out, err := goproxy.ParseIndex([]byte(body))
		require.NoError(t, err)
		return out
	}
	before := index()
	require.Len(t, before, 2)
	require.Equal(t, "example.com/hello", before[0].Path)
	require.Equal(t, "example.com/other", before[1].Path)
	require.True(t, before[1].Timestamp.After(before[0].Timestamp))

	require.NoError(t, in.stop())
	in = start(t, args...)
	m = goproxyLine.FindStringSubmatch(in.stdout.String())
	require.NotNil(t, m)
	require.Equal(t, before, index(), "the index after a restart")
	g2 := sumdbtest.NewGoEnv(t, proxyDir, m[2])
	g2.ProxyURL = m[1]
	for _, v := range []string{"example.com/hello@v1.0.0", "example.com/other@v0.2.0"} {
		require.Contains(t, g2.MustRun(g2.Work, "mod", "download", "-json", v), `"Sum": "h1:`)
	}
}
