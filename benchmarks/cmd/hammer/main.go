// Command hammer is a load generator for a Go checksum database served by
// sumdbserver, in the spirit of Tessera's hammer: it writes new module
// versions, reads and verifies old ones and watches the tree heads, all at
// once, for a set time, and then reports rates, latencies and errors.
//
// Usage:
//
//	go run ./benchmarks/cmd/hammer [-duration 30s] [-writers 4] [-readers 4]
//	    [-poll 20ms] [-seed 32] [-dir DIR]
//	go run ./benchmarks/cmd/hammer -url http://127.0.0.1:8080 -vkey KEY -proxy DIR ...
//
// Without -url it starts its own server on 127.0.0.1 (a random port): the
// stack of examples/sumdb, sumdbserver on a storage.Log on pebblestore, with
// a file:// upstream GOPROXY directory that the hammer fills (-proxy, by
// default in /dev/shm where there is one). With -url it
// targets a running server, which must be on a loopback address and whose
// upstream must be the file:// directory given by -proxy; -vkey is the
// server's verifier key. The hammer never connects to anything but
// loopback addresses.
//
// Workers:
//
//   - Writers create new module versions (a go.mod and a zip of two small
//     files, with .mod/.zip/.info in GOPROXY layout), compute their go.sum
//     lines with golang.org/x/mod/sumdb/dirhash, and ask the server for
//     /lookup of them, which makes the server fetch, hash and durably append
//     them. The answer's record must be exactly the expected lines and its
//     signed tree head must verify and contain the record.
//   - Readers, each with its own verifying client (sumdbclient), look up
//     random versions already logged and check the lines against the
//     expected ones; and they read random full data tiles, recompute their
//     leaf hashes and compare them with hashes the client authenticated
//     against its latest signed tree.
//   - A tracker polls /latest with its own client, which proves every new
//     tree head consistent with the one before (through tiles); tree sizes
//     must never go back.
//
// It runs for -duration, each worker in a loop that ends at the deadline,
// and prints appends/s, lookups/s, tile reads/s, the latency of lookups of
// new versions (request to durable answer) and of verified lookups of
// existing ones (min/avg/p50/p99/max), and the errors, which must be zero:
// otherwise the exit status is 1.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/sumdbclient"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "hammer:", err)
		}
		os.Exit(1)
	}
}

type config struct {
	duration       time.Duration
	writers        int
	readers        int
	poll           time.Duration
	seed           int
	dir            string
	url            string
	vkey           string
	proxy          string
	requestTimeout time.Duration
	cpuprof        string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("hammer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long to run")
	fs.IntVar(&c.writers, "writers", 4, "concurrent writers of new module versions")
	fs.IntVar(&c.readers, "readers", 4, "concurrent readers, each with its own verifying client")
	fs.DurationVar(&c.poll, "poll", 20*time.Millisecond, "interval at which the tracker polls /latest")
	fs.IntVar(&c.seed, "seed", 32, "module versions logged before the timed run, so that readers have something to read")
	fs.StringVar(&c.dir, "dir", "", "working `directory` for the store and the GOPROXY directory (default: a temporary one, removed at the end)")
	fs.StringVar(&c.url, "url", "", "`URL` of a running server to hammer (loopback only); default: start one")
	fs.StringVar(&c.vkey, "vkey", "", "verifier `key` of the server given by -url")
	fs.StringVar(&c.proxy, "proxy", "", "GOPROXY `directory` the hammer writes modules to, which the server's file:// upstream serves; required with -url; "+
		"default: a new directory in /dev/shm if there is one (creating files there is ~100x cheaper than on a disk, and the upstream is not what is measured), else <dir>/proxy")
	fs.StringVar(&c.cpuprof, "cpuprofile", "", "write a CPU profile of the timed run (hammer and, without -url, server) to `file`")
	fs.DurationVar(&c.requestTimeout, "request-timeout", 30*time.Second, "time limit of one request")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() != 0:
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.duration <= 0 || c.duration > 24*time.Hour:
		return nil, errors.New("-duration must be positive and at most 24h")
	case c.writers < 1 || c.writers > 1024 || c.readers < 0 || c.readers > 1024:
		return nil, errors.New("-writers must be 1..1024 and -readers 0..1024")
	case c.poll <= 0:
		return nil, errors.New("-poll must be positive")
	case c.seed < 0 || c.seed > 1e6:
		return nil, errors.New("-seed must be 0..1000000")
	case c.requestTimeout <= 0:
		return nil, errors.New("-request-timeout must be positive")
	case c.url != "" && (c.vkey == "" || c.proxy == ""):
		return nil, errors.New("-url needs -vkey and -proxy")
	case c.url == "" && c.vkey != "":
		return nil, errors.New("-vkey goes with -url")
	}
	if c.url != "" {
		u, err := url.Parse(c.url)
		if err != nil || u.Scheme != "http" || u.Host == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" {
			return nil, fmt.Errorf("-url %q: want http://127.0.0.1:PORT", c.url)
		}
		if !isLoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("-url %q: only loopback addresses are allowed", c.url)
		}
		c.url = strings.TrimSuffix(c.url, "/")
	}
	return c, nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackClient returns an HTTP client that dials loopback addresses only.
func loopbackClient(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if !isLoopbackHost(host) {
				return nil, fmt.Errorf("hammer: refusing to connect to non-loopback address %s", addr)
			}
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if ra, ok := conn.RemoteAddr().(*net.TCPAddr); !ok || !ra.IP.IsLoopback() {
				conn.Close()
				return nil, fmt.Errorf("hammer: %s resolved to non-loopback %v", addr, conn.RemoteAddr())
			}
			return conn, nil
		},
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     time.Minute,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("hammer: no redirects")
		},
	}
}

// A version is a module version the hammer wrote, with its expected go.sum
// lines.
type version struct {
	m     module.Version
	lines [2]string // "<path> <version> h1:..." and "<path> <version>/go.mod h1:..."
}

// Stats are the results of a run.
type Stats struct {
	Duration      time.Duration
	Appends       int64 // new versions logged (writer lookups answered correctly)
	Lookups       int64 // all lookups answered correctly (writers' and readers')
	TileReads     int64 // tile requests of readers and tracker (hash and data tiles)
	DataTiles     int64 // data tiles verified by readers
	TreeHeads     int64 // distinct tree heads the tracker verified
	NewLatency    latencies
	OldLatency    latencies // verified lookups (the client's Lookup, with its tile reads)
	OldRawLatency latencies // the /lookup requests of those
	Errors        int64
	ErrorsByKind  map[string]int64
	FirstErrors   []string
	TreeSizeStart int64
	TreeSizeEnd   int64
}

type latencies []time.Duration

func (l latencies) summary() string {
	if len(l) == 0 {
		return "none"
	}
	s := slices.Clone(l)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	r := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	return fmt.Sprintf("n=%d min=%s avg=%s p50=%s p99=%s max=%s",
		len(s), r(s[0]), r(sum/time.Duration(len(s))), r(q(0.50)), r(q(0.99)), r(s[len(s)-1]))
}

// hammer is the state of one run.
type hammer struct {
	c        *config
	base     string // server URL without trailing slash
	vkey     string
	verifier note.Verifier
	proxyDir string
	hc       *http.Client

	next atomic.Int64 // next module number

	mu       sync.RWMutex
	versions []version // logged versions

	tileReads atomic.Int64

	errMu     sync.Mutex
	errCount  int64
	errByKind map[string]int64
	firstErrs []string
}

func (h *hammer) fail(kind string, err error) {
	h.errMu.Lock()
	defer h.errMu.Unlock()
	h.errCount++
	h.errByKind[kind]++
	if len(h.firstErrs) < 10 {
		h.firstErrs = append(h.firstErrs, kind+": "+err.Error())
	}
}

func (h *hammer) addVersion(v version) {
	h.mu.Lock()
	h.versions = append(h.versions, v)
	h.mu.Unlock()
}

func (h *hammer) randomVersion(r *mrand.Rand) (version, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.versions) == 0 {
		return version{}, false
	}
	return h.versions[r.IntN(len(h.versions))], true
}

// countingSource counts the tile reads of a sumdbclient.Source and, if
// lookups is not nil, records the time of each successful /lookup read. It
// is used by one goroutine at a time.
type countingSource struct {
	sumdbclient.Source
	tiles   *atomic.Int64
	lookups *latencies
}

func (s countingSource) Read(ctx context.Context, path string, max int64) ([]byte, error) {
	if strings.HasPrefix(path, "/tile/") {
		s.tiles.Add(1)
	}
	t0 := time.Now()
	b, err := s.Source.Read(ctx, path, max)
	if err == nil && s.lookups != nil && strings.HasPrefix(path, "/lookup/") {
		*s.lookups = append(*s.lookups, time.Since(t0))
	}
	return b, err
}

// newClient returns a verifying client; if lookups is not nil, it receives
// the time of every /lookup request the client makes.
func (h *hammer) newClient(lookups *latencies) (*sumdbclient.Client, error) {
	src, err := sumdbclient.NewHTTPSource(h.base, h.hc)
	if err != nil {
		return nil, err
	}
	return sumdbclient.New(sumdbclient.Options{
		Source:      countingSource{src, &h.tileReads, lookups},
		VerifierKey: h.vkey,
		Timeout:     h.c.requestTimeout,
	})
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (*Stats, error) {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return nil, err
	}
	h := &hammer{c: c, hc: loopbackClient(c.requestTimeout), errByKind: map[string]int64{}}
	defer h.hc.CloseIdleConnections()
	var startLog *storage.Log
	if c.url == "" {
		dir := c.dir
		if dir == "" {
			dir, err = os.MkdirTemp("", "hammer-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(dir)
		}
		proxyDir := c.proxy
		if proxyDir == "" {
			proxyDir = filepath.Join(dir, "proxy")
			if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
				if d, err := os.MkdirTemp("/dev/shm", "hammer-proxy-"); err == nil {
					proxyDir = d
					defer os.RemoveAll(d)
				}
			}
		}
		base, lg, stop, vkey, err := startServer(ctx, dir, proxyDir, stderr)
		if err != nil {
			return nil, err
		}
		defer stop()
		h.base, h.vkey, h.proxyDir, startLog = base, vkey, proxyDir, lg
	} else {
		h.base, h.vkey, h.proxyDir = c.url, c.vkey, c.proxy
	}
	if h.verifier, err = note.NewVerifier(h.vkey); err != nil {
		return nil, fmt.Errorf("verifier key: %w", err)
	}
	// A tag unique to this run keeps module paths new when a server
	// (-url) is hammered more than once.
	var tagBytes [4]byte
	rand.Read(tagBytes[:])
	tag := fmt.Sprintf("%x", tagBytes)

	fmt.Fprintf(stdout, "hammer: server %s, %d writers, %d readers, tracker every %v, %v\n",
		h.base, c.writers, c.readers, c.poll, c.duration)

	// Seed versions, so that readers have work from the start.
	seedR := mrand.New(mrand.NewPCG(1, 2))
	for range c.seed {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if _, err := h.writeOne(ctx, tag, seedR); err != nil {
			return nil, fmt.Errorf("seeding: %w", err)
		}
	}
	tracker, err := h.newClient(nil)
	if err != nil {
		return nil, err
	}
	first, err := tracker.FetchLatest(ctx)
	if err != nil {
		return nil, fmt.Errorf("first /latest: %w", err)
	}

	if c.cpuprof != "" {
		f, err := os.Create(c.cpuprof)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	st := &Stats{TreeSizeStart: first.Tree.N}
	deadline := time.Now().Add(c.duration)
	rctx, cancel := context.WithDeadline(ctx, deadline.Add(c.requestTimeout))
	defer cancel()
	t0 := time.Now()
	var (
		wg                          sync.WaitGroup
		appends, lookups, dataTiles atomic.Int64
		newLat                      = make([]latencies, c.writers)
		oldLat                      = make([]latencies, c.readers)
		rawLat                      = make([]latencies, c.readers)
		heads                       atomic.Int64
	)
	for w := range c.writers {
		wg.Go(func() {
			r := mrand.New(mrand.NewPCG(uint64(w), 99))
			for time.Now().Before(deadline) && rctx.Err() == nil {
				d, err := h.writeOne(rctx, tag, r)
				if err != nil {
					h.fail("writer", err)
					continue
				}
				newLat[w] = append(newLat[w], d)
				appends.Add(1)
				lookups.Add(1)
			}
		})
	}
	for i := range c.readers {
		wg.Go(func() {
			r := mrand.New(mrand.NewPCG(uint64(i), 7))
			cl, err := h.newClient(&rawLat[i])
			if err != nil {
				h.fail("reader", err)
				return
			}
			for k := 0; time.Now().Before(deadline) && rctx.Err() == nil; k++ {
				if k%4 == 3 {
					if err := h.readDataTile(rctx, cl, r); err != nil {
						h.fail("reader data tile", err)
					} else {
						dataTiles.Add(1)
					}
					continue
				}
				d, err := h.readOne(rctx, cl, r)
				if errors.Is(err, errNoVersions) {
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					h.fail("reader lookup", err)
					continue
				}
				oldLat[i] = append(oldLat[i], d)
				lookups.Add(1)
			}
		})
	}
	wg.Go(func() {
		prev := first
		heads.Add(1)
		tk := time.NewTicker(c.poll)
		defer tk.Stop()
		for time.Now().Before(deadline) && rctx.Err() == nil {
			select {
			case <-tk.C:
			case <-rctx.Done():
				return
			}
			if !time.Now().Before(deadline) {
				return
			}
			th, err := tracker.FetchLatest(rctx)
			if err != nil {
				h.fail("tracker", err)
				continue
			}
			if th.Tree.N < prev.Tree.N {
				h.fail("tracker", fmt.Errorf("tree went back from %d to %d records", prev.Tree.N, th.Tree.N))
				continue
			}
			if th.Tree != prev.Tree {
				heads.Add(1)
				prev = th
			}
		}
	})
	wg.Wait()
	st.Duration = time.Since(t0)

	// A last tree head, checked against everything the tracker saw.
	last, err := tracker.FetchLatest(ctx)
	if err != nil {
		h.fail("tracker", err)
	} else {
		st.TreeSizeEnd = last.Tree.N
		tl := tracker.Timeline()
		for i := 1; i < len(tl); i++ {
			if tl[i].Tree.N <= tl[i-1].Tree.N {
				h.fail("tracker", fmt.Errorf("timeline not increasing at %d: %d then %d", i, tl[i-1].Tree.N, tl[i].Tree.N))
			}
		}
		for _, th := range tl {
			if err := tracker.CheckConsistent(ctx, th); err != nil {
				h.fail("tracker", err)
			}
		}
	}
	st.Appends, st.Lookups = appends.Load(), lookups.Load()
	st.TileReads, st.DataTiles, st.TreeHeads = h.tileReads.Load(), dataTiles.Load(), heads.Load()
	for _, l := range newLat {
		st.NewLatency = append(st.NewLatency, l...)
	}
	for _, l := range oldLat {
		st.OldLatency = append(st.OldLatency, l...)
	}
	for _, l := range rawLat {
		st.OldRawLatency = append(st.OldRawLatency, l...)
	}
	if startLog != nil && err == nil {
		// Our own server: nothing but the hammer appends.
		if _, tree := startLog.Checkpoint(); tree.N != st.TreeSizeStart+st.Appends || st.TreeSizeEnd != tree.N {
			h.fail("final", fmt.Errorf("tree has %d records (server), %d (client); want %d seeded + %d appended",
				tree.N, st.TreeSizeEnd, st.TreeSizeStart, st.Appends))
		}
	}
	h.errMu.Lock()
	st.Errors, st.ErrorsByKind, st.FirstErrors = h.errCount, h.errByKind, h.firstErrs
	h.errMu.Unlock()

	sec := st.Duration.Seconds()
	fmt.Fprintf(stdout, "duration:   %v\n", st.Duration.Round(time.Millisecond))
	fmt.Fprintf(stdout, "tree:       %d -> %d records, %d tree heads verified consistent by the tracker\n", st.TreeSizeStart, st.TreeSizeEnd, st.TreeHeads)
	fmt.Fprintf(stdout, "appends:    %d (%.1f/s)\n", st.Appends, float64(st.Appends)/sec)
	fmt.Fprintf(stdout, "lookups:    %d (%.1f/s)\n", st.Lookups, float64(st.Lookups)/sec)
	fmt.Fprintf(stdout, "tile reads: %d (%.1f/s), %d data tiles verified\n", st.TileReads, float64(st.TileReads)/sec, st.DataTiles)
	fmt.Fprintf(stdout, "latency, new version (request to durable answer): %s\n", st.NewLatency.summary())
	fmt.Fprintf(stdout, "latency, existing version (/lookup answer):       %s\n", st.OldRawLatency.summary())
	fmt.Fprintf(stdout, "latency, existing version (verified lookup):      %s\n", st.OldLatency.summary())
	fmt.Fprintf(stdout, "errors:     %d\n", st.Errors)
	kinds := make([]string, 0, len(st.ErrorsByKind))
	for k := range st.ErrorsByKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(stdout, "  %s: %d\n", k, st.ErrorsByKind[k])
	}
	for _, e := range st.FirstErrors {
		fmt.Fprintf(stdout, "  error: %s\n", e)
	}
	if st.Errors > 0 {
		return st, fmt.Errorf("%d errors", st.Errors)
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	return st, nil
}

// startServer starts sumdbserver on a pebble store in dir/store, with
// proxyDir as its file:// upstream, on 127.0.0.1.
func startServer(ctx context.Context, dir, proxyDir string, stderr io.Writer) (base string, lg *storage.Log, stop func(), vkey string, err error) {
	if err := os.MkdirAll(proxyDir, 0o755); err != nil {
		return "", nil, nil, "", err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, "hammer.sumdb")
	if err != nil {
		return "", nil, nil, "", err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return "", nil, nil, "", err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return "", nil, nil, "", err
	}
	up, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(proxyDir))
	if err != nil {
		return "", nil, nil, "", err
	}
	store, err := pebblestore.Open(filepath.Join(dir, "store"), nil)
	if err != nil {
		return "", nil, nil, "", err
	}
	lg, err = storage.Open(ctx, store, storage.Options{
		Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true,
	})
	if err != nil {
		return "", nil, nil, "", err
	}
	srv, err := sumdbserver.NewServer(sumdbserver.Config{
		Log:    sumdbserver.StorageLog(lg),
		Source: up,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		lg.Close()
		return "", nil, nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		lg.Close()
		return "", nil, nil, "", err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(ln)
	}()
	stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		<-done
		lg.Close()
	}
	return "http://" + ln.Addr().String(), lg, stop, vkey, nil
}

// writeModule writes module version m, with a go.mod and one source file,
// into the GOPROXY directory and returns its expected go.sum lines, computed
// with x/mod's dirhash from the files written.
func (h *hammer) writeModule(m module.Version, salt uint64) (version, error) {
	escPath, err := module.EscapePath(m.Path)
	if err != nil {
		return version{}, err
	}
	escVers, err := module.EscapeVersion(m.Version)
	if err != nil {
		return version{}, err
	}
	dir := filepath.Join(h.proxyDir, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return version{}, err
	}
	gomod := "module " + m.Path + "\n\ngo 1.21\n"
	src := fmt.Sprintf("package %s\n\n// Salt makes this version's zip unique.\nconst Salt = %d\n", pkgName(m.Path), salt)
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	prefix := m.Path + "@" + m.Version + "/"
	for _, f := range []struct{ name, data string }{{"go.mod", gomod}, {"salt.go", src}} {
		w, err := zw.Create(prefix + f.name)
		if err != nil {
			return version{}, err
		}
		if _, err := io.WriteString(w, f.data); err != nil {
			return version{}, err
		}
	}
	if err := zw.Close(); err != nil {
		return version{}, err
	}
	zipFile := filepath.Join(dir, escVers+".zip")
	info := fmt.Sprintf(`{"Version":%q,"Time":"2026-01-01T00:00:00Z"}`, m.Version)
	for _, f := range []struct {
		name string
		data []byte
	}{{escVers + ".mod", []byte(gomod)}, {escVers + ".info", []byte(info)}, {escVers + ".zip", zbuf.Bytes()}} {
		// The server reads the files only after the lookup below, and
		// no one else knows the path yet: a plain write is enough.
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return version{}, err
		}
	}
	zh, err := dirhash.HashZip(zipFile, dirhash.Hash1)
	if err != nil {
		return version{}, err
	}
	mh, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(gomod)), nil
	})
	if err != nil {
		return version{}, err
	}
	return version{m: m, lines: [2]string{
		m.Path + " " + m.Version + " " + zh,
		m.Path + " " + m.Version + "/go.mod " + mh,
	}}, nil
}

func pkgName(path string) string {
	return "m" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, path[strings.LastIndexByte(path, '/')+1:])
}

// writeOne creates a new module version, looks it up on the server (which
// logs it) and checks the answer. It returns the time from the request to
// the answer.
func (h *hammer) writeOne(ctx context.Context, tag string, r *mrand.Rand) (time.Duration, error) {
	i := h.next.Add(1) - 1
	// Four versions per module, some paths with upper case (!-escaped).
	m := module.Version{
		Path:    fmt.Sprintf("example.com/hammer%s/m%d", tag, i/4),
		Version: fmt.Sprintf("v1.%d.0", i%4),
	}
	if i%8 >= 4 {
		m.Path = fmt.Sprintf("example.com/Hammer%s/M%d", tag, i/4)
	}
	v, err := h.writeModule(m, r.Uint64())
	if err != nil {
		return 0, fmt.Errorf("writing %v: %w", m, err)
	}
	escPath, _ := module.EscapePath(m.Path)
	escVers, _ := module.EscapeVersion(m.Version)
	req, err := http.NewRequestWithContext(ctx, "GET", h.base+"/lookup/"+escPath+"@"+escVers, nil)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	resp, err := h.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("lookup %v: %w", m, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("lookup %v: %w", m, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("lookup %v: %s: %.200q", m, resp.Status, body)
	}
	id, text, rest, err := note.ParseRecord(body)
	if err != nil {
		return 0, fmt.Errorf("lookup %v: %w", m, err)
	}
	if want := v.lines[0] + "\n" + v.lines[1] + "\n"; string(text) != want {
		return 0, fmt.Errorf("lookup %v: record %d is %q, dirhash computed %q", m, id, text, want)
	}
	nt, err := note.Open(rest, note.VerifierList(h.verifier))
	if err != nil {
		return 0, fmt.Errorf("lookup %v: tree head: %w", m, err)
	}
	tree, err := note.ParseTree([]byte(nt.Text))
	if err != nil {
		return 0, fmt.Errorf("lookup %v: tree head: %w", m, err)
	}
	if id >= tree.N {
		return 0, fmt.Errorf("lookup %v: record %d not in the signed tree of %d records", m, id, tree.N)
	}
	h.addVersion(v)
	return d, nil
}

var errNoVersions = errors.New("no versions logged yet")

// readOne looks up a logged version with the verifying client cl and checks
// the lines. It returns the time the verified lookup took.
func (h *hammer) readOne(ctx context.Context, cl *sumdbclient.Client, r *mrand.Rand) (time.Duration, error) {
	v, ok := h.randomVersion(r)
	if !ok {
		return 0, errNoVersions
	}
	t0 := time.Now()
	lines, err := cl.Lookup(ctx, v.m.Path, v.m.Version)
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("lookup %v: %w", v.m, err)
	}
	if len(lines) != 2 || lines[0] != v.lines[0] || lines[1] != v.lines[1] {
		return 0, fmt.Errorf("lookup %v: lines %q, want %q", v.m, lines, v.lines)
	}
	return d, nil
}

// readDataTile reads a random full data tile of cl's latest tree (or the
// partial one at its end if there is no full one), and checks its records
// against leaf hashes authenticated by cl.
func (h *hammer) readDataTile(ctx context.Context, cl *sumdbclient.Client, r *mrand.Rand) error {
	th, err := cl.FetchLatest(ctx)
	if err != nil {
		return err
	}
	n := th.Tree.N
	if n == 0 {
		return nil
	}
	const width = 1 << tile.Height
	var t tile.Tile
	if full := n / width; full > 0 {
		t = tile.Tile{H: tile.Height, L: -1, N: r.Int64N(full), W: width}
	} else {
		t = tile.Tile{H: tile.Height, L: -1, N: 0, W: int(n)}
	}
	h.tileReads.Add(1)
	req, err := http.NewRequestWithContext(ctx, "GET", h.base+"/"+t.Path(), nil)
	if err != nil {
		return err
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", t.Path(), resp.Status)
	}
	recs, err := tile.ParseDataTile(body, t.W)
	if err != nil {
		return fmt.Errorf("%s: %w", t.Path(), err)
	}
	idx := make([]int64, t.W)
	for j := range idx {
		idx[j] = tlog.StoredHashIndex(0, t.N*width+int64(j))
	}
	want, err := cl.Tiles().ReadHashes(ctx, th.Tree, idx)
	if err != nil {
		return fmt.Errorf("%s: authenticated hashes: %w", t.Path(), err)
	}
	got := tlog.AppendRecordHashes(nil, recs)
	for j := range got {
		if got[j] != want[j] {
			return fmt.Errorf("%s: record %d hashes to %v, the signed tree has %v", t.Path(), t.N*width+int64(j), got[j], want[j])
		}
	}
	return nil
}
