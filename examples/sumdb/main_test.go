package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
	xsumdb "golang.org/x/mod/sumdb"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/sumdbclient"
	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
)

func TestMain(m *testing.M) {
	// The signal test runs this test binary as the sumdb program.
	if os.Getenv("TLOGKIT_SUMDB_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer is a goroutine-safe output buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// instance is one in-process run of the program.
type instance struct {
	addr, metrics string
	goproxy       string // with -goproxy
	stdout        *syncBuffer
	stderr        *syncBuffer
	stop          func() error
}

// noMetrics adds -metrics off to args unless they name -metrics: tests
// must not bind the default metrics port.
func noMetrics(args []string) []string {
	for _, a := range args {
		if a == "-metrics" {
			return args
		}
	}
	return append([]string{"-metrics", "off"}, args...)
}

// start runs the program in-process with args and waits until it listens.
func start(t *testing.T, args ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	stderr := in.stderr
	args = noMetrics(args)
	ready := make(chan listening, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, in.stdout, stderr, func(l listening) { ready <- l })
	}()
	select {
	case l := <-ready:
		in.addr, in.metrics, in.goproxy = l.HTTP, l.Metrics, l.GoProxy
	case err := <-done:
		cancel()
		t.Fatalf("run %q: %v\n%s", args, err, stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("run %q did not start\n%s", args, stderr)
	}
	var once sync.Once
	var err error
	in.stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { in.stop() })
	return in
}

var gosumdbLine = regexp.MustCompile(`^export GOSUMDB="([^ "]+) (http://127\.0\.0\.1:[0-9]+)"\n`)

func TestFirstStartAndRestart(t *testing.T) {
	data := filepath.Join(t.TempDir(), "sumdb-data")
	in := start(t, "-listen", "127.0.0.1:0", "-data", data, "-name", "sumdb.test.example", "-upstream", "file:///nonexistent")
	m := gosumdbLine.FindStringSubmatch(in.stdout.String())
	require.NotNil(t, m, "output %q", in.stdout.String())
	vkey, url := m[1], m[2]
	require.Equal(t, "http://"+in.addr, url)
	require.True(t, strings.HasPrefix(vkey, "sumdb.test.example+"), vkey)

	fi, err := os.Stat(filepath.Join(data, "skey"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	stored, err := os.ReadFile(filepath.Join(data, "vkey"))
	require.NoError(t, err)
	require.Equal(t, vkey+"\n", string(stored))

	// The server answers; an empty log has a signed empty tree; a module
	// the upstream lacks is 404 (file:///nonexistent has nothing).
	resp, err := http.Get(url + "/latest")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.True(t, strings.HasPrefix(string(body), "go.sum database tree\n0\n"), string(body))
	resp, err = http.Get(url + "/lookup/example.com/a@v1.0.0")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 404, resp.StatusCode)

	require.NoError(t, in.stop())
	// Restart on the same directory, without -name: same key.
	in2 := start(t, "-listen", "127.0.0.1:0", "-data", data, "-upstream", "file:///nonexistent")
	m2 := gosumdbLine.FindStringSubmatch(in2.stdout.String())
	require.NotNil(t, m2)
	require.Equal(t, vkey, m2[1])
	require.NoError(t, in2.stop())

	// A different -name is refused, and so is a key readable by others.
	err = run(context.Background(), []string{"-listen", "127.0.0.1:0", "-data", data, "-name", "other.name", "-upstream", "file:///x"}, io.Discard, io.Discard, nil)
	require.ErrorContains(t, err, "differs")
	require.NoError(t, os.Chmod(filepath.Join(data, "skey"), 0o644))
	err = run(context.Background(), []string{"-listen", "127.0.0.1:0", "-data", data, "-upstream", "file:///x"}, io.Discard, io.Discard, nil)
	require.ErrorContains(t, err, "readable by others")
	require.NoError(t, os.Chmod(filepath.Join(data, "skey"), 0o600))

	// Bad flags.
	for _, args := range [][]string{
		{"-upstream", "ftp://x", "-data", data},
		{"-listen", "256.0.0.1:x", "-data", data, "-upstream", "file:///x"},
		{"-bogus"},
		{"extra-arg"},
		{"-log-level", "loud", "-data", data, "-upstream", "file:///x"},
		{"-checkpoint-interval", "0s", "-data", data, "-upstream", "file:///x"},
	} {
		require.Error(t, run(context.Background(), noMetrics(args), io.Discard, io.Discard, nil), "%q", args)
	}
}

// TestGoCommand runs the real go command against the real server stack
// (pebble store on disk, file:// upstream): versions downloaded in turn,
// restarts of the server on the same port and directory between runs,
// go get and go mod verify, and SECURITY ERROR for a zip replaced in the
// proxy after it was logged.
func TestGoCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	proxyDir := t.TempDir()
	const path = "example.com/hello"
	versions := []string{"v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"}
	for _, v := range versions {
		sumdbtest.WriteModule(t, proxyDir, module.Version{Path: path, Version: v}, map[string]string{
			"hello.go": "package hello\n\nconst Version = \"" + v + "\"\n",
		})
	}
	sumdbtest.WriteModule(t, proxyDir, module.Version{Path: "github.com/Some/Dep", Version: "v0.1.0"}, map[string]string{
		"dep.go": "package dep\n",
	})
	data := t.TempDir()
	args := func(listen string) []string {
		return []string{"-listen", listen, "-data", data, "-upstream", "file://" + filepath.ToSlash(proxyDir)}
	}
	in := start(t, args("127.0.0.1:0")...)
	m := gosumdbLine.FindStringSubmatch(in.stdout.String())
	require.NotNil(t, m)
	gosumdb := m[1] + " " + m[2]
	e := sumdbtest.NewGoEnv(t, proxyDir, gosumdb)

	restart := func() {
		t.Helper()
		require.NoError(t, in.stop())
		in = start(t, args(in.addr)...)
	}
	for _, v := range versions[:3] {
		e.MustRun(e.Work, "mod", "download", "-json", path+"@"+v)
		restart()
	}
	latest := func() string {
		resp, err := http.Get("http://" + in.addr + "/latest")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	require.Contains(t, latest(), "go.sum database tree\n3\n")

	mod := filepath.Join(e.Work, "scratch")
	require.NoError(t, os.MkdirAll(mod, 0o777))
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/scratch\n\ngo 1.21\n"), 0o666))
	e.MustRun(mod, "get", path+"@v1.3.0", "github.com/Some/Dep@v0.1.0")
	restart()
	require.Contains(t, e.MustRun(mod, "mod", "verify"), "all modules verified")
	require.Contains(t, latest(), "go.sum database tree\n5\n")

	// x/mod's client verifies the same lookups (and the tree it saw).
	sumFile, err := os.ReadFile(filepath.Join(mod, "go.sum"))
	require.NoError(t, err)
	ops := sumdbtest.NewClientOps("http://"+in.addr, m[1], nil)
	c := xsumdb.NewClient(ops)
	lines, err := c.Lookup("github.com/Some/Dep", "v0.1.0")
	require.NoError(t, err)
	require.Len(t, lines, 1)
	require.Contains(t, string(sumFile), lines[0]+"\n")
	require.Empty(t, ops.SecurityErrors())
	// And so does our verifying client: both lines are in go.sum.
	src, err := sumdbclient.NewHTTPSource("http://"+in.addr, nil)
	require.NoError(t, err)
	oc, err := sumdbclient.New(sumdbclient.Options{Source: src, VerifierKey: m[1]})
	require.NoError(t, err)
	for _, mv := range []module.Version{{Path: path, Version: "v1.3.0"}, {Path: "github.com/Some/Dep", Version: "v0.1.0"}} {
		lines, err := oc.Lookup(context.Background(), mv.Path, mv.Version)
		require.NoError(t, err)
		require.Len(t, lines, 2)
		for _, l := range lines {
			require.Contains(t, string(sumFile), l+"\n")
		}
	}

	// Replace v1.0.0's zip after it was logged.
	sumdbtest.WriteModule(t, proxyDir, module.Version{Path: path, Version: "v1.0.0"}, map[string]string{
		"hello.go": "package hello\n\nconst Version = \"evil\"\n",
	})
	fresh := sumdbtest.NewGoEnv(t, proxyDir, gosumdb)
	out, err := fresh.Run(fresh.Work, "mod", "download", "-json", path+"@v1.0.0")
	require.Error(t, err, out)
	require.Contains(t, out, "SECURITY ERROR")
	require.Contains(t, out, "checksum mismatch")
	// The first environment, with its sumdb cache kept but the module
	// cleaned, refuses it too.
	require.NoError(t, os.RemoveAll(filepath.Join(e.ModCache, "example.com")))
	require.NoError(t, os.RemoveAll(filepath.Join(e.ModCache, "cache", "download", "example.com")))
	out, err = e.Run(e.Work, "mod", "download", "-json", path+"@v1.0.0")
	require.Error(t, err, out)
	require.Contains(t, out, "SECURITY ERROR")
	require.Contains(t, latest(), "go.sum database tree\n5\n")
}

// TestSignal runs the program as a process and stops it with SIGINT and
// SIGTERM: it exits 0, and a second run continues with the same key.
func TestSignal(t *testing.T) {
	data := t.TempDir()
	var first string
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := exec.Command(os.Args[0], "-listen", "127.0.0.1:0", "-metrics", "off", "-data", data, "-upstream", "file:///nonexistent")
		cmd.Env = append(os.Environ(), "TLOGKIT_SUMDB_MAIN=1")
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = io.Discard
		require.NoError(t, cmd.Start())
		line, err := bufio.NewReader(stdout).ReadString('\n')
		require.NoError(t, err)
		require.Regexp(t, gosumdbLine, line)
		if first == "" {
			first = line
		}
		require.Equal(t, strings.Fields(first)[0], strings.Fields(line)[0], "same key after restart")
		require.NoError(t, cmd.Process.Signal(sig))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			require.NoError(t, err, "exit after %v", sig)
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("no exit after %v", sig)
		}
	}
	_, err := os.Stat(filepath.Join(data, "checkpoint"))
	require.NoError(t, err)
}

func TestDisplayAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080": "127.0.0.1:8080",
		"[::]:8080":      "127.0.0.1:8080",
		"0.0.0.0:1234":   "127.0.0.1:1234",
		":99":            "127.0.0.1:99",
		"[::1]:5":        "[::1]:5",
		"example.com:80": "example.com:80",
	} {
		require.Equal(t, want, displayAddr(in), in)
	}
}

// TestKillAfterLookup: a lookup answered 200 is durable. The program is
// killed (SIGKILL, no shutdown) right after answering; started again with
// an upstream that has nothing, it serves the same record from its store.
func TestKillAfterLookup(t *testing.T) {
	proxyDir := t.TempDir()
	m := module.Version{Path: "example.com/durable", Version: "v1.0.0"}
	sumdbtest.WriteModule(t, proxyDir, m, map[string]string{"d.go": "package durable\n"})
	data := t.TempDir()
	cmd, url := startProcess(t, "-listen", "127.0.0.1:0", "-data", data, "-upstream", "file://"+filepath.ToSlash(proxyDir))
	code, first := get(t, url+"/lookup/example.com/durable@v1.0.0")
	require.Equal(t, 200, code, first)
	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()

	cmd, url = startProcess(t, "-listen", "127.0.0.1:0", "-data", data, "-upstream", "file:///nonexistent")
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	code, again := get(t, url+"/lookup/example.com/durable@v1.0.0")
	require.Equal(t, 200, code, again)
	// Same record id and text; the tree head is the same tree.
	require.Equal(t, first, again)
}

// startProcess runs the program as a child process (this test binary) with
// args, waits for its GOSUMDB line and returns the process and the URL.
func startProcess(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], noMetrics(args)...)
	cmd.Env = append(os.Environ(), "TLOGKIT_SUMDB_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	sm := gosumdbLine.FindStringSubmatch(line)
	require.NotNil(t, sm, line)
	return cmd, sm[2]
}

// get fetches url and returns the status code and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestRollbackAfterKill: the last-known checkpoint is kept current while
// serving, so a store put back to an older copy is refused even when the
// server never shut down cleanly (kill -9 each time).
func TestRollbackAfterKill(t *testing.T) {
	proxyDir := t.TempDir()
	for _, name := range []string{"a", "b", "c"} {
		sumdbtest.WriteModule(t, proxyDir, module.Version{Path: "example.com/" + name, Version: "v1.0.0"},
			map[string]string{"x.go": "package " + name + "\n"})
	}
	data := t.TempDir()
	args := []string{"-listen", "127.0.0.1:0", "-data", data, "-upstream", "file://" + filepath.ToSlash(proxyDir),
		"-checkpoint-interval", "20ms"}
	// savedSize waits until <data>/checkpoint holds a tree of size n.
	savedSize := func(n int) {
		t.Helper()
		want := "go.sum database tree\n" + strconv.Itoa(n) + "\n"
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(filepath.Join(data, "checkpoint"))
			if strings.HasPrefix(string(b), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("checkpoint file never reached size %d: %q", n, b)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	kill := func(cmd *exec.Cmd) {
		require.NoError(t, cmd.Process.Kill())
		cmd.Wait()
	}

	cmd, url := startProcess(t, args...)
	code, body := get(t, url+"/lookup/example.com/a@v1.0.0")
	require.Equal(t, 200, code, body)
	savedSize(1)
	kill(cmd)
	backup := filepath.Join(t.TempDir(), "store-at-1")
	require.NoError(t, os.CopyFS(backup, os.DirFS(filepath.Join(data, "store"))))

	cmd, url = startProcess(t, args...)
	for _, name := range []string{"b", "c"} {
		code, body := get(t, url+"/lookup/example.com/"+name+"@v1.0.0")
		require.Equal(t, 200, code, body)
	}
	savedSize(3)
	kill(cmd)

	// Put the older store back: refused, naming both sizes.
	current := filepath.Join(t.TempDir(), "store-at-3")
	require.NoError(t, os.Rename(filepath.Join(data, "store"), current))
	require.NoError(t, os.CopyFS(filepath.Join(data, "store"), os.DirFS(backup)))
	err := run(context.Background(), args, io.Discard, io.Discard, nil)
	require.ErrorIs(t, err, storage.ErrRollback)
	require.ErrorContains(t, err, "store has 1 records, last known checkpoint 3")

	// The right store opens and serves all three.
	require.NoError(t, os.RemoveAll(filepath.Join(data, "store")))
	require.NoError(t, os.Rename(current, filepath.Join(data, "store")))
	cmd, url = startProcess(t, args...)
	defer kill(cmd)
	code, body = get(t, url+"/latest")
	require.Equal(t, 200, code)
	require.Contains(t, body, "go.sum database tree\n3\n")
}

// TestPrintedLinesPaste runs the two lines the program prints through a
// shell and through go env -w: both set GOSUMDB to the key and URL.
func TestPrintedLinesPaste(t *testing.T) {
	in := start(t, "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-upstream", "file:///nonexistent")
	out := in.stdout.String()
	m := gosumdbLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	want := m[1] + " " + m[2]
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 2, out)

	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	// Pasting both lines into a shell exports GOSUMDB (the second is a
	// comment there).
	got, err := exec.Command(sh, "-c", out+`sh -c 'printf %s "$GOSUMDB"'`).Output()
	require.NoError(t, err)
	require.Equal(t, want, string(got))

	// The go env -w form, after the comment marker.
	cmdLine, ok := strings.CutPrefix(lines[1], "# or, for every shell: ")
	require.True(t, ok, lines[1])
	require.True(t, strings.HasPrefix(cmdLine, "go env -w GOSUMDB="), cmdLine)
	if testing.Short() {
		return
	}
	goenv := filepath.Join(t.TempDir(), "goenv")
	env := append(os.Environ(), "GOENV="+goenv)
	c := exec.Command(sh, "-c", cmdLine+" && go env GOSUMDB")
	c.Env = env
	got, err = c.CombinedOutput()
	require.NoError(t, err, "%s", got)
	require.Equal(t, want+"\n", string(got))
}

// TestPublicURL: -public-url is the URL printed (for a server listening on
// all addresses behind a name); bad values are refused.
func TestPublicURL(t *testing.T) {
	in := start(t, "-listen", "0.0.0.0:0", "-data", t.TempDir(), "-upstream", "file:///nonexistent",
		"-public-url", "https://sumdb.example.com/")
	require.Regexp(t, `^export GOSUMDB="localhost\.sumdb\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+ https://sumdb\.example\.com"\n`, in.stdout.String())
	for _, bad := range []string{"sumdb.example.com", "ftp://x", "http://", "http://x/?q=1", "http://x/#f", "http://x/ y", `http://x"`} {
		err := run(context.Background(), []string{"-data", t.TempDir(), "-upstream", "file:///x", "-public-url", bad}, io.Discard, io.Discard, nil)
		require.ErrorContains(t, err, "-public-url", bad)
	}
}

// TestHelp: -h prints the usage with every flag and exits 0.
func TestHelp(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-h")
	cmd.Env = append(os.Environ(), "TLOGKIT_SUMDB_MAIN=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, f := range []string{"-listen", "-data", "-name", "-upstream", "-private", "-public-url", "-log-level", "-checkpoint-file", "-checkpoint-interval"} {
		require.Contains(t, string(out), f)
	}
}

// TestMetricsAndHealth: after known traffic the metrics address reports
// it (log, upstream fetches, HTTP routes, Pebble, the Go runtime), and
// the health endpoints answer on the server.
func TestMetricsAndHealth(t *testing.T) {
	proxyDir := t.TempDir()
	for _, name := range []string{"a", "b"} {
		sumdbtest.WriteModule(t, proxyDir, module.Version{Path: "example.com/" + name, Version: "v1.0.0"},
			map[string]string{"x.go": "package " + name + "\n"})
	}
	in := start(t, "-listen", "127.0.0.1:0", "-metrics", "127.0.0.1:0", "-data", t.TempDir(),
		"-upstream", "file://"+filepath.ToSlash(proxyDir), "-name", "metrics.test")
	require.NotEmpty(t, in.metrics)
	url := "http://" + in.addr
	for _, p := range []string{"/lookup/example.com/a@v1.0.0", "/lookup/example.com/b@v1.0.0", "/lookup/example.com/a@v1.0.0"} {
		code, body := get(t, url+p)
		require.Equal(t, 200, code, body)
	}
	code, _ := get(t, url+"/lookup/example.com/c@v1.0.0")
	require.Equal(t, 404, code)
	code, body := get(t, url+"/healthz")
	require.Equal(t, 200, code)
	require.Equal(t, "ok\n", body)
	code, body = get(t, url+"/readyz")
	require.Equal(t, 200, code)
	require.Equal(t, "ok: tree 2\n", body)

	code, page := get(t, "http://"+in.metrics+"/metrics")
	require.Equal(t, 200, code)
	for _, line := range []string{
		`tlog_appends_total{log="metrics.test",outcome="ok"} 2`,
		`tlog_records_total{log="metrics.test"} 2`,
		`tlog_tree_size{log="metrics.test"} 2`,
		`tlog_stopped{log="metrics.test"} 0`,
		`tlog_upstream_fetches_total{log="metrics.test",outcome="ok"} 2`,
		`tlog_upstream_fetches_total{log="metrics.test",outcome="not_found"} 1`,
		`tlog_http_requests_total{code="200",log="metrics.test",route="lookup"} 3`,
		`tlog_http_requests_total{code="404",log="metrics.test",route="lookup"} 1`,
		`tlog_http_requests_total{code="200",log="metrics.test",route="healthz"} 1`,
	} {
		require.Contains(t, page, "\n"+line+"\n")
	}
	require.Regexp(t, `\npebble_disk_bytes\{log="metrics.test"\} [1-9]`, page)
	require.Contains(t, page, "\ngo_goroutines ")
	require.Contains(t, page, "\nprocess_resident_memory_bytes ")
	// The metrics are not on the public address.
	code, _ = get(t, url+"/metrics")
	require.Equal(t, 404, code)
}
