package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/storage/pgstore/pgtest"
	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
)

// TestPostgresWriterStandbyReplicas runs the README's deployment on one
// PostgreSQL database: a writer, a standby waiting for its lease and two
// replicas. The go command through a replica gets new modules (the
// replica forwards them to the writer); the writer stops, the standby
// takes over and logs on; the replicas follow it.
func TestPostgresWriterStandbyReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL and the go command")
	}
	srv := pgtest.Start(t)
	proxyDir := t.TempDir()
	const path = "example.com/hello"
	for _, v := range []string{"v1.0.0", "v1.1.0", "v1.2.0"} {
		sumdbtest.WriteModule(t, proxyDir, module.Version{Path: path, Version: v}, map[string]string{
			"hello.go": "package hello\n\nconst Version = \"" + v + "\"\n",
		})
	}
	sumdbtest.WriteModule(t, proxyDir, module.Version{Path: "example.com/other", Version: "v1.0.0"}, map[string]string{"other.go": "package other\n"})
	upstream := "file://" + filepath.ToSlash(proxyDir)
	writerData, standbyData := t.TempDir(), t.TempDir()
	w := start(t, "-listen", "127.0.0.1:0", "-data", writerData, "-store", srv.URL, "-lease", "1s", "-upstream", upstream)
	m := gosumdbLine.FindStringSubmatch(w.stdout.String())
	require.NotNil(t, m, w.stdout.String())
	vkey := m[1]

	// A writer's second process without -standby is refused at once.
	err := run(context.Background(), noMetrics([]string{"-listen", "127.0.0.1:0", "-data", writerData, "-store", srv.URL}), &syncBuffer{}, &syncBuffer{}, nil)
	require.ErrorContains(t, err, "-standby")

	// The standby: the same key, waiting for the lease.
	skey, err := os.ReadFile(filepath.Join(writerData, "skey"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(standbyData, "skey"), skey, 0o600))
	standbyReady := make(chan listening, 1)
	sctx, stopStandby := context.WithCancel(context.Background())
	standbyDone := make(chan error, 1)
	standbyErr := &syncBuffer{}
	go func() {
		standbyDone <- run(sctx, noMetrics([]string{"-listen", "127.0.0.1:0", "-data", standbyData, "-store", srv.URL, "-lease", "1s", "-standby", "-upstream", upstream}),
			&syncBuffer{}, standbyErr, func(l listening) { standbyReady <- l })
	}()
	defer func() { stopStandby(); <-standbyDone }()

	replica := func() *instance {
		return start(t, "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-store", srv.URL, "-read-only",
			"-vkey", vkey, "-writer", "http://"+w.addr, "-follow", "20ms")
	}
	r1, r2 := replica(), replica()
	m1 := gosumdbLine.FindStringSubmatch(r1.stdout.String())
	require.NotNil(t, m1)
	require.Equal(t, vkey, m1[1], "a replica prints the writer's key")

	e := sumdbtest.NewGoEnv(t, proxyDir, vkey+" http://"+r1.addr)
	mod := filepath.Join(e.Work, "scratch")
	require.NoError(t, os.MkdirAll(mod, 0o777))
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/scratch\n\ngo 1.21\n"), 0o666))
	e.MustRun(mod, "get", path+"@v1.0.0")
	require.Contains(t, e.MustRun(mod, "mod", "verify"), "all modules verified")

	latest := func(addr string) string {
		code, body := get(t, "http://"+addr+"/latest")
		require.Equal(t, 200, code)
		return body
	}
	require.Eventually(t, func() bool { return latest(r2.addr) == latest(w.addr) }, 10*time.Second, 10*time.Millisecond)
	select {
	case <-standbyReady:
		t.Fatal("the standby took over from a live writer")
	default:
	}

	// The writer stops; the standby takes over within about a lease.
	t0 := time.Now()
	require.NoError(t, w.stop())
	var sb listening
	select {
	case sb = <-standbyReady:
	case err := <-standbyDone:
		t.Fatalf("standby: %v\n%s", err, standbyErr)
	case <-time.After(10 * time.Second):
		t.Fatalf("the standby did not take over\n%s", standbyErr)
	}
	t.Logf("standby took over after %v", time.Since(t0).Round(time.Millisecond))
	e2 := sumdbtest.NewGoEnv(t, proxyDir, vkey+" http://"+sb.HTTP)
	e2.Work, e2.ModCache = e.Work, e.ModCache // the same go command state: the tree it saw must be in the standby's
	e2.MustRun(mod, "get", path+"@v1.1.0")

	// The replicas follow the new writer; the go command through one of
	// them finds v1.1.0 logged; a version never looked up cannot be
	// logged through it, its -writer being gone.
	require.Eventually(t, func() bool { return latest(r2.addr) == latest(sb.HTTP) }, 10*time.Second, 10*time.Millisecond)
	e3 := sumdbtest.NewGoEnv(t, proxyDir, vkey+" http://"+r2.addr)
	e3.Work, e3.ModCache = e.Work, e.ModCache
	require.Contains(t, e3.MustRun(mod, "mod", "verify"), "all modules verified")
	code, _ := get(t, "http://"+r2.addr+"/lookup/"+path+"@v1.1.0")
	require.Equal(t, 200, code)
	code, _ = get(t, "http://"+r2.addr+"/lookup/example.com/other@v1.0.0")
	require.Equal(t, 502, code, "a replica whose writer is gone cannot log")
}
