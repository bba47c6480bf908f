package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
)

// TestWithOurChecksumDatabase: a checksum database of ours on 127.0.0.1,
// this mirror in front of a file:// upstream; the go command uses only the
// mirror (GOSUMDB by key, so the database through /sumdb/) and verifies.
func TestWithOurChecksumDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	proxyDir := t.TempDir()
	sumdbtest.WriteModule(t, proxyDir, module.Version{Path: "example.com/hello", Version: "v1.0.0"}, map[string]string{"hello.go": "package hello\n"})
	vkey, dbURL := startSumDB(t, proxyDir)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-sumdb", vkey + " " + dbURL, "-upstream", "file://" + filepath.ToSlash(proxyDir),
			"-cache", t.TempDir(), "-listen", "127.0.0.1:0"}, &out, io.Discard, func(a string) { ready <- a })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("not started")
	}
	if !regexp.MustCompile(`^export GOPROXY=http://127\.0\.0\.1:\d+ GOSUMDB="[^"]+"\n$`).MatchString(out.String()) {
		t.Fatalf("printed %q", out.String())
	}
	g := sumdbtest.NewGoEnv(t, proxyDir, vkey)
	g.ProxyURL = "http://" + addr
	mod := filepath.Join(g.Work, "m")
	if err := os.MkdirAll(mod, 0o777); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/m\n\ngo 1.21\n"), 0o666)
	g.MustRun(mod, "get", "example.com/hello@v1.0.0")
	if out := g.MustRun(mod, "mod", "verify"); !strings.Contains(out, "all modules verified") {
		t.Fatal(out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
