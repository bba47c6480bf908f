package sumdbserver_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
)

// TestGoCommand runs the real go command against our handler (over the
// in-memory test log and a file:// upstream): several versions downloaded in
// turn, a server restart, go get and go mod verify in a scratch module, and
// detection of a module zip replaced after it was logged.
func TestGoCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	proxyDir := t.TempDir()
	const path = "example.com/hello"
	for _, v := range []string{"v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"} {
		sumdbtest.WriteModule(t, proxyDir, module.Version{Path: path, Version: v}, map[string]string{
			"hello.go": "package hello\n\nconst Version = \"" + v + "\"\n",
		})
	}
	sumdbtest.WriteModule(t, proxyDir, module.Version{Path: "example.com/Dep", Version: "v0.1.0"}, map[string]string{
		"dep.go": "package dep\n",
	})
	up, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(proxyDir))
	require.NoError(t, err)
	log := newMemLog(testSKey)
	newHandler := func() http.Handler {
		s, err := sumdbserver.NewServer(sumdbserver.Config{Log: log, Source: up})
		require.NoError(t, err)
		return s
	}
	addr, stop := sumdbtest.StartOn(t, "127.0.0.1:0", newHandler())
	e := sumdbtest.NewGoEnv(t, proxyDir, testVKey+" http://"+addr)

	// Several versions in turn: each lookup grows the log, and the go
	// command checks the new tree against the one it remembers.
	e.MustRun(e.Work, "mod", "download", "-json", path+"@v1.0.0")
	e.MustRun(e.Work, "mod", "download", "-json", path+"@v1.1.0")
	_, tree, _ := log.Checkpoint(context.Background())
	require.Equal(t, int64(2), tree.N)

	// Restart the server on the same port with the same log.
	stop()
	addr2, stop := sumdbtest.StartOn(t, addr, newHandler())
	require.Equal(t, addr, addr2)
	defer func() { stop() }()
	e.MustRun(e.Work, "mod", "download", "-json", path+"@v1.2.0")

	// go get and go mod verify in a scratch module.
	mod := filepath.Join(e.Work, "scratch")
	require.NoError(t, os.MkdirAll(mod, 0o777))
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/scratch\n\ngo 1.21\n"), 0o666))
	e.MustRun(mod, "get", path+"@v1.3.0", "example.com/Dep@v0.1.0")
	out := e.MustRun(mod, "mod", "verify")
	require.Contains(t, out, "all modules verified")
	sum, err := os.ReadFile(filepath.Join(mod, "go.sum"))
	require.NoError(t, err)
	for _, key := range []string{path + "@v1.3.0", "example.com/Dep@v0.1.0"} {
		id, err := log.Lookup(context.Background(), key)
		require.NoError(t, err)
		recs, _ := log.ReadRecords(context.Background(), id, 1)
		for _, line := range strings.Split(strings.TrimSuffix(string(recs[0]), "\n"), "\n") {
			require.Contains(t, string(sum), line+"\n", "go.sum line from the log")
		}
	}
	_, tree, _ = log.Checkpoint(context.Background())
	require.Equal(t, int64(5), tree.N)

	// Replace v1.0.0's zip in the proxy after it was logged. With a fresh
	// module cache (and sumdb cache) the go command must refuse it.
	sumdbtest.WriteModule(t, proxyDir, module.Version{Path: path, Version: "v1.0.0"}, map[string]string{
		"hello.go": "package hello\n\nconst Version = \"evil\"\n",
	})
	e2 := sumdbtest.NewGoEnv(t, proxyDir, e.SumDB)
	out, err = e2.Run(e2.Work, "mod", "download", "-json", path+"@v1.0.0")
	require.Error(t, err, out)
	require.Contains(t, out, "SECURITY ERROR")
	require.Contains(t, out, "checksum mismatch")
	// Keeping the old sumdb cache but cleaning the downloaded modules: the
	// same refusal.
	require.NoError(t, os.RemoveAll(filepath.Join(e.ModCache, "example.com")))
	require.NoError(t, os.RemoveAll(filepath.Join(e.ModCache, "cache", "download", "example.com")))
	out, err = e.Run(e.Work, "mod", "download", "-json", path+"@v1.0.0")
	require.Error(t, err, out)
	require.Contains(t, out, "SECURITY ERROR")
	require.Contains(t, out, "checksum mismatch")
	// Nothing new was logged.
	_, tree, _ = log.Checkpoint(context.Background())
	require.Equal(t, int64(5), tree.N)
}

// TestGoCommandVersionKinds runs the real go command on the kinds of
// version that a first test of a checksum database tends to miss:
// "+incompatible" versions of modules without go.mod (upper case in the path
// too), a version retracted by a later one (the go command checks the
// latest go.mod through the database to find retractions), and go.mod-only
// lookups (go list -m needs the go.mod hash, never the zip).
func TestGoCommandVersionKinds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	proxyDir := t.TempDir()
	docker := module.Version{Path: "github.com/docker/docker", Version: "v24.0.7+incompatible"}
	azure := module.Version{Path: "github.com/Azure/azure-sdk-for-go", Version: "v68.0.0+incompatible"}
	sumdbtest.WriteModule(t, proxyDir, docker, map[string]string{"client/client.go": "package client\n"})
	sumdbtest.WriteModule(t, proxyDir, azure, map[string]string{"sdk.go": "package sdk\n"})
	const ret = "example.com/ret"
	for _, v := range []string{"v1.0.0", "v1.1.0", "v1.2.0"} {
		goMod := "module " + ret + "\n\ngo 1.21\n"
		if v == "v1.2.0" {
			goMod += "\nretract v1.1.0 // broken\n"
		}
		sumdbtest.WriteModule(t, proxyDir, module.Version{Path: ret, Version: v}, map[string]string{
			"go.mod": goMod, "ret.go": "package ret\n",
		})
	}
	modOnly := module.Version{Path: "example.com/modonly", Version: "v1.0.0"}
	sumdbtest.WriteModule(t, proxyDir, modOnly, map[string]string{"m.go": "package modonly\n"})

	up, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(proxyDir))
	require.NoError(t, err)
	log := newMemLog(testSKey)
	s, err := sumdbserver.NewServer(sumdbserver.Config{Log: log, Source: up})
	require.NoError(t, err)
	addr, stop := sumdbtest.StartOn(t, "127.0.0.1:0", s)
	defer stop()
	e := sumdbtest.NewGoEnv(t, proxyDir, testVKey+" http://"+addr)
	mod := filepath.Join(e.Work, "scratch")
	require.NoError(t, os.MkdirAll(mod, 0o777))
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/scratch\n\ngo 1.21\n"), 0o666))

	// logged returns the record the log holds for m.
	logged := func(m module.Version) string {
		t.Helper()
		id, err := log.Lookup(context.Background(), m.Path+"@"+m.Version)
		require.NoError(t, err, "%s not logged", m)
		recs, err := log.ReadRecords(context.Background(), id, 1)
		require.NoError(t, err)
		return string(recs[0])
	}

	// +incompatible: go get, then go mod verify; the go.sum lines are the
	// log's.
	e.MustRun(mod, "get", docker.String(), azure.String())
	require.Contains(t, e.MustRun(mod, "mod", "verify"), "all modules verified")
	sum, err := os.ReadFile(filepath.Join(mod, "go.sum"))
	require.NoError(t, err)
	for _, m := range []module.Version{docker, azure} {
		rec := logged(m)
		require.Contains(t, rec, m.Path+" "+m.Version+" h1:")
		require.Contains(t, rec, m.Path+" "+m.Version+"/go.mod h1:")
		for _, line := range strings.Split(strings.TrimSuffix(rec, "\n"), "\n") {
			require.Contains(t, string(sum), line+"\n", "go.sum line from the log")
		}
	}

	// A retracted version: go get warns, and the listing without
	// -retracted leaves it out. Both needed the latest go.mod, verified
	// through the database.
	out := e.MustRun(mod, "get", ret+"@v1.1.0")
	require.Contains(t, out, "retracted by module author")
	require.Contains(t, out, "broken")
	out = e.MustRun(mod, "list", "-m", "-versions", ret)
	require.Equal(t, ret+" v1.0.0 v1.2.0", strings.TrimSpace(out))
	out = e.MustRun(mod, "list", "-m", "-retracted", "-versions", ret)
	require.Equal(t, ret+" v1.0.0 v1.1.0 v1.2.0", strings.TrimSpace(out))
	logged(module.Version{Path: ret, Version: "v1.1.0"})
	logged(module.Version{Path: ret, Version: "v1.2.0"})

	// go.mod only: go list -m downloads the .mod, checks its hash through
	// the database, and never fetches the zip.
	out = e.MustRun(mod, "list", "-m", "-json", modOnly.String())
	require.Contains(t, out, `"GoMod":`)
	rec := logged(modOnly)
	sumdbCache := filepath.Join(e.ModCache, "cache", "download", "sumdb", "localhost.sumdb", "lookup", modOnly.String())
	_, err = os.Stat(sumdbCache)
	require.NoError(t, err, "the go command looked up %s in the database", modOnly)
	zips, _ := filepath.Glob(filepath.Join(e.ModCache, "cache", "download", "example.com", "modonly", "@v", "*.zip"))
	require.Empty(t, zips, "go list -m fetched no zip")
	// A go.mod-only lookup in the database is answered with the whole
	// record, as sum.golang.org does: the go command takes the line it needs.
	require.Contains(t, rec, modOnly.Path+" "+modOnly.Version+"/go.mod h1:")
}
