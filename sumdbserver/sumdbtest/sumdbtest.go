// Package sumdbtest holds test helpers for checksum-database servers: a
// writer of GOPROXY directories and a hermetic environment for running the
// real go command against a server on loopback. It uses only the standard
// library's testing package (and golang.org/x/mod), so importing it brings
// no assertion library into a user's tests.
package sumdbtest

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

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// WriteModule writes module version m with the given files (relative path ->
// content) into the GOPROXY directory proxyDir: .info, .mod, .zip and the
// version list. A missing go.mod is added to the zip, except for a
// "+incompatible" version, which is written as such code is published:
// no go.mod in the zip, and the .mod file "module <path>\n" that the go
// command and module proxies synthesize for it.
func WriteModule(t testing.TB, proxyDir string, m module.Version, files map[string]string) {
	t.Helper()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("sumdbtest: writing %s@%s: %v", m.Path, m.Version, err)
		}
	}
	src := t.TempDir()
	modFile, ok := files["go.mod"]
	switch {
	case !ok && strings.HasSuffix(m.Version, "+incompatible"):
		modFile = "module " + m.Path + "\n"
	case !ok:
		modFile = "module " + m.Path + "\n\ngo 1.21\n"
		files["go.mod"] = modFile
	}
	for name, data := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		check(os.MkdirAll(filepath.Dir(p), 0o777))
		check(os.WriteFile(p, []byte(data), 0o666))
	}
	escPath, err := module.EscapePath(m.Path)
	check(err)
	escVers, err := module.EscapeVersion(m.Version)
	check(err)
	dir := filepath.Join(proxyDir, filepath.FromSlash(escPath), "@v")
	check(os.MkdirAll(dir, 0o777))
	zf, err := os.Create(filepath.Join(dir, escVers+".zip"))
	check(err)
	check(modzip.CreateFromDir(zf, m, src))
	check(zf.Close())
	check(os.WriteFile(filepath.Join(dir, escVers+".mod"), []byte(modFile), 0o666))
	check(os.WriteFile(filepath.Join(dir, escVers+".info"),
		[]byte(`{"Version":"`+m.Version+`","Time":"2024-01-01T00:00:00Z"}`), 0o666))
	list, _ := os.ReadFile(filepath.Join(dir, "list"))
	if !strings.Contains(string(list), m.Version+"\n") {
		list = append(list, m.Version+"\n"...)
	}
	check(os.WriteFile(filepath.Join(dir, "list"), list, 0o666))
}

// A GoEnv is a hermetic environment for the real go command: a file://
// GOPROXY, GOSUMDB pointing at our server, fresh GOPATH and module cache.
type GoEnv struct {
	t        testing.TB
	goBin    string
	ProxyDir string
	ProxyURL string // if set, the GOPROXY value instead of file://ProxyDir
	SumDB    string // GOSUMDB value
	ModCache string // GOMODCACHE
	Work     string // a scratch directory (GOPATH is inside)
}

// NewGoEnv returns a GoEnv for the GOPROXY directory proxyDir and the
// GOSUMDB value gosumdb, with its own module cache; it skips the test if
// there is no go command.
func NewGoEnv(t testing.TB, proxyDir, gosumdb string) *GoEnv {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	e := &GoEnv{t: t, goBin: goBin, ProxyDir: proxyDir, SumDB: gosumdb, Work: t.TempDir()}
	e.ModCache = filepath.Join(t.TempDir(), "modcache")
	return e
}

// Run runs the go command in dir and returns its combined output and error.
func (e *GoEnv) Run(dir string, args ...string) (string, error) {
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
	goproxy := "file://" + filepath.ToSlash(e.ProxyDir)
	if e.ProxyURL != "" {
		goproxy = e.ProxyURL
	}
	env = append(env,
		"GOPROXY="+goproxy,
		"GOSUMDB="+e.SumDB,
		"GOFLAGS=-mod=mod -modcacherw",
		"GOPATH="+filepath.Join(e.Work, "gopath"),
		"GOMODCACHE="+e.ModCache,
		"GOENV=off",
		"GOTOOLCHAIN=local",
		"GO111MODULE=on",
		"GOWORK=off",
	)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// MustRun is Run that fails the test on error.
func (e *GoEnv) MustRun(dir string, args ...string) string {
	e.t.Helper()
	out, err := e.Run(dir, args...)
	if err != nil {
		e.t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// StartOn serves h on addr ("127.0.0.1:0" for a new port) and returns the
// address and a stop function.
func StartOn(t testing.TB, addr string, h http.Handler) (string, func()) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port of a just-stopped server may take a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("sumdbtest: listen on %s: %v", addr, err)
	}
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
