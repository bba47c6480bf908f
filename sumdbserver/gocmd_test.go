package sumdbserver_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/sumdbserver"
)

// goEnv is a hermetic environment for the real go command: a file://
// GOPROXY, GOSUMDB pointing at our server, fresh GOPATH and module cache.
type goEnv struct {
	t        *testing.T
	goBin    string
	proxyDir string
	sumdb    string // GOSUMDB value
	modcache string
	work     string
}

func newGoEnv(t *testing.T, proxyDir, gosumdb string) *goEnv {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	e := &goEnv{t: t, goBin: goBin, proxyDir: proxyDir, sumdb: gosumdb, work: t.TempDir()}
	e.modcache = filepath.Join(t.TempDir(), "modcache")
	return e
}

// run runs the go command in dir and returns its combined output and error.
func (e *goEnv) run(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.goBin, args...)
	cmd.Dir = dir
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GONOSUMCHECK", "GONOPROXY",
			"GOFLAGS", "GOPATH", "GOMODCACHE", "GOENV", "GOTOOLCHAIN", "GOINSECURE", "GO111MODULE", "GOWORK":
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"GOPROXY=file://"+filepath.ToSlash(e.proxyDir),
		"GOSUMDB="+e.sumdb,
		"GOFLAGS=-mod=mod -modcacherw",
		"GOPATH="+filepath.Join(e.work, "gopath"),
		"GOMODCACHE="+e.modcache,
		"GOENV=off",
		"GOTOOLCHAIN=local",
		"GO111MODULE=on",
		"GOWORK=off",
	)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *goEnv) mustRun(dir string, args ...string) string {
	e.t.Helper()
	out, err := e.run(dir, args...)
	require.NoError(e.t, err, "go %s:\n%s", strings.Join(args, " "), out)
	return out
}

// startOn serves h on addr ("127.0.0.1:0" for a new port) and returns the
// address and a stop function.
func startOn(t *testing.T, addr string, h http.Handler) (string, func()) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port of a just-stopped server may take a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}
}

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
		writeModule(t, proxyDir, module.Version{Path: path, Version: v}, map[string]string{
			"hello.go": "package hello\n\nconst Version = \"" + v + "\"\n",
		})
	}
	writeModule(t, proxyDir, module.Version{Path: "example.com/Dep", Version: "v0.1.0"}, map[string]string{
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
	addr, stop := startOn(t, "127.0.0.1:0", newHandler())
	e := newGoEnv(t, proxyDir, testVKey+" http://"+addr)

	// Several versions in turn: each lookup grows the log, and the go
	// command checks the new tree against the one it remembers.
	e.mustRun(e.work, "mod", "download", "-json", path+"@v1.0.0")
	e.mustRun(e.work, "mod", "download", "-json", path+"@v1.1.0")
	_, tree, _ := log.Checkpoint(context.Background())
	require.Equal(t, int64(2), tree.N)

	// Restart the server on the same port with the same log.
	stop()
	addr2, stop := startOn(t, addr, newHandler())
	require.Equal(t, addr, addr2)
	defer func() { stop() }()
	e.mustRun(e.work, "mod", "download", "-json", path+"@v1.2.0")

	// go get and go mod verify in a scratch module.
	mod := filepath.Join(e.work, "scratch")
	require.NoError(t, os.MkdirAll(mod, 0o777))
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/scratch\n\ngo 1.21\n"), 0o666))
	e.mustRun(mod, "get", path+"@v1.3.0", "example.com/Dep@v0.1.0")
	out := e.mustRun(mod, "mod", "verify")
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
	writeModule(t, proxyDir, module.Version{Path: path, Version: "v1.0.0"}, map[string]string{
		"hello.go": "package hello\n\nconst Version = \"evil\"\n",
	})
	e2 := newGoEnv(t, proxyDir, e.sumdb)
	out, err = e2.run(e2.work, "mod", "download", "-json", path+"@v1.0.0")
	require.Error(t, err, out)
	require.Contains(t, out, "SECURITY ERROR")
	require.Contains(t, out, "checksum mismatch")
	// Keeping the old sumdb cache but cleaning the downloaded modules: the
	// same refusal.
	require.NoError(t, os.RemoveAll(filepath.Join(e.modcache, "example.com")))
	require.NoError(t, os.RemoveAll(filepath.Join(e.modcache, "cache", "download", "example.com")))
	out, err = e.run(e.work, "mod", "download", "-json", path+"@v1.0.0")
	require.Error(t, err, out)
	require.Contains(t, out, "SECURITY ERROR")
	require.Contains(t, out, "checksum mismatch")
	// Nothing new was logged.
	_, tree, _ = log.Checkpoint(context.Background())
	require.Equal(t, int64(5), tree.N)
}
