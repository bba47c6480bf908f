package sumdbserver_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
	xsumdb "golang.org/x/mod/sumdb"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
)

func fakeSource(calls *atomic.Int64) sumdbserver.Source {
	return sumdbserver.SourceFunc(func(ctx context.Context, m module.Version) ([]byte, error) {
		if calls != nil {
			calls.Add(1)
		}
		if strings.HasPrefix(m.Path, "missing.example") {
			return nil, fmt.Errorf("%w: %s", sumdbserver.ErrNotFound, m)
		}
		return fakeGoSum(m.Path, m.Version), nil
	})
}

// newStorageLog returns a storage.Log on an in-memory backend, through
// sumdbserver.StorageLog.
func newStorageLog(t testing.TB) sumdbserver.Log {
	signer, err := note.NewSigner(testSKey)
	require.NoError(t, err)
	verifier, err := note.NewVerifier(testVKey)
	require.NoError(t, err)
	l, err := storage.Open(context.Background(), memstore.New(), storage.Options{
		Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return sumdbserver.StorageLog(l)
}

func newTestServer(t testing.TB, cfg sumdbserver.Config) (*sumdbserver.Server, *memLog) {
	t.Helper()
	l := newMemLog(testSKey)
	cfg.Log = l
	s, err := sumdbserver.NewServer(cfg)
	require.NoError(t, err)
	return s, l
}

type result struct {
	code  int
	ctype string
	body  []byte
	hdr   http.Header
}

func do(h http.Handler, method, path string, hdr ...string) result {
	req := httptest.NewRequest(method, "http://sumdb.test/", nil)
	req.URL.Path = path // no cleaning or unescaping: the handler sees the path as is
	req.RequestURI = path
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return result{rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes(), rec.Header()}
}

// modName names the i'th test module version; some need !-escaping, and
// some are +incompatible versions of modules without go.mod.
func modName(i int) module.Version {
	switch i % 4 {
	case 3:
		return module.Version{Path: fmt.Sprintf("github.com/Docker%d/docker", i), Version: fmt.Sprintf("v%d.0.%d+incompatible", 2+i%30, i)}
	case 0:
		return module.Version{Path: fmt.Sprintf("example.com/m%d", i/7), Version: fmt.Sprintf("v1.%d.0", i%7)}
	case 1:
		return module.Version{Path: fmt.Sprintf("github.com/Upper/Case%d", i), Version: "v0.0.0-20200101000000-abcdefabcdef"}
	default:
		return module.Version{Path: fmt.Sprintf("example.org/p%d/v2", i), Version: "v2.0.0-RC.1"}
	}
}

func lookupPath(m module.Version) string {
	p, err := module.EscapePath(m.Path)
	if err != nil {
		panic(err)
	}
	v, err := module.EscapeVersion(m.Version)
	if err != nil {
		panic(err)
	}
	return "/lookup/" + p + "@" + v
}

// TestDifferentialXMod serves the same log with x/mod's sumdb.Server over its
// TestServer and with ours over memLog, and compares every response byte for
// byte: lookups in the same order, /latest after each growth, and every tile
// (hash and data, full and partial) of every tree size seen.
func TestDifferentialXMod(t *testing.T) {
	for _, tt := range []struct {
		impl  string
		cache int64
	}{{"memlog", 0}, {"storage", 0}, {"memlog", -1}, {"storage", 20000}} {
		t.Run(fmt.Sprintf("log=%s/cache=%d", tt.impl, tt.cache), func(t *testing.T) {
			var l sumdbserver.Log = newMemLog(testSKey)
			if tt.impl == "storage" {
				l = newStorageLog(t)
			}
			ours, err := sumdbserver.NewServer(sumdbserver.Config{Log: l, Source: fakeSource(nil), TileCacheBytes: tt.cache})
			require.NoError(t, err)
			testDifferential(t, ours)
		})
	}
}

func testDifferential(t *testing.T, ours http.Handler) {
	ref := xsumdb.NewServer(xsumdb.NewTestServer(testSKey, func(path, vers string) ([]byte, error) {
		return fakeGoSum(path, vers), nil
	}))

	same := func(path string) {
		t.Helper()
		a, b := do(ours, "GET", path), do(ref, "GET", path)
		require.Equal(t, b.code, a.code, "status of %s", path)
		require.Equal(t, b.ctype, a.ctype, "Content-Type of %s", path)
		require.Equal(t, string(b.body), string(a.body), "body of %s", path)
	}

	sizes := []int{0, 1, 2, 3, 5, 8, 255, 256, 257, 300, 511, 512, 513, 600}
	n := 0
	var oldSizes []int64
	for _, size := range sizes {
		for ; n < size; n++ {
			same(lookupPath(modName(n)))
		}
		same("/latest")
		oldSizes = append(oldSizes, int64(n))
		// Every tile of every tree seen so far, served by the current tree.
		for _, old := range oldSizes {
			for _, tl := range xtlog.NewTiles(8, 0, old) {
				same("/" + tl.Path())
				d := tl
				d.L = -1
				if tl.L == 0 {
					same("/" + d.Path())
				}
			}
		}
	}
	// Lookups of existing records, in a different order, answer the same.
	for i := n - 1; i >= 0; i -= 37 {
		same(lookupPath(modName(i)))
	}
	require.Equal(t, 200, do(ours, "GET", "/tile/8/1/000.p/2").code)
}

// TestXModClient verifies lookups with golang.org/x/mod/sumdb.Client against
// our handler over HTTP, including growth of the tree between lookups.
func TestXModClient(t *testing.T) {
	s, _ := newTestServer(t, sumdbserver.Config{Source: fakeSource(nil)})
	ts := httptest.NewServer(s)
	defer ts.Close()
	ops := sumdbtest.NewClientOps(ts.URL, testVKey, ts.Client())
	c := xsumdb.NewClient(ops)
	for i := range 300 {
		m := modName(i)
		lines, err := c.Lookup(m.Path, m.Version)
		require.NoError(t, err, "lookup %v", m)
		want := strings.Split(strings.TrimSuffix(string(fakeGoSum(m.Path, m.Version)), "\n"), "\n")
		require.Equal(t, want[:1], lines)
		lines, err = c.Lookup(m.Path, m.Version+"/go.mod")
		require.NoError(t, err, "lookup %v/go.mod", m)
		require.Equal(t, want[1:], lines)
		if i%50 == 0 {
			// A fresh client with the remembered tree in its config.
			c = xsumdb.NewClient(ops)
		}
	}
	require.Empty(t, ops.SecurityErrors())
	_, err := c.Lookup("missing.example/x", "v1.0.0")
	require.Error(t, err)
}

// TestHostilePaths runs malformed and hostile requests through the handler:
// each gets its exact status, never a 500, and quickly.
func TestHostilePaths(t *testing.T) {
	for _, impl := range []string{"memlog", "storage"} {
		t.Run(impl, func(t *testing.T) {
			var l sumdbserver.Log = newMemLog(testSKey)
			if impl == "storage" {
				l = newStorageLog(t)
			}
			testHostilePaths(t, l)
		})
	}
}

func testHostilePaths(t *testing.T, l sumdbserver.Log) {
	var calls atomic.Int64
	s, err := sumdbserver.NewServer(sumdbserver.Config{Log: l, Source: fakeSource(&calls), Private: "private.example,*.corp.example", C2SP: true})
	require.NoError(t, err)
	for i := range 300 {
		require.Equal(t, 200, do(s, "GET", lookupPath(modName(i))).code)
	}
	calls.Store(0)
	long := strings.Repeat("a", 1<<20)
	tests := []struct {
		method, path string
		code         int
	}{
		{"GET", "/", 404},
		{"GET", "/latest/", 404},
		{"GET", "/latestx", 404},
		{"GET", "/" + long, 404},
		{"GET", "/lookup/", 400},
		{"GET", "/lookup/@", 400},
		{"GET", "/lookup/@v1.0.0", 400},
		{"GET", "/lookup/example.com/m0", 400},
		{"GET", "/lookup/example.com/m0@", 400},
		{"GET", "/lookup/example.com/m0@v1", 400},
		{"GET", "/lookup/example.com/m0@v1.0", 400},
		{"GET", "/lookup/example.com/m0@1.0.0", 400},
		{"GET", "/lookup/example.com/m0@v1.0.0+build", 400},
		{"GET", "/lookup/example.com/m0@v01.0.0", 400},
		{"GET", "/lookup/example.com/m0@latest", 400},
		{"GET", "/lookup/example.com/m0@v1.0.0@v1.0.0", 400},
		{"GET", "/lookup/example.com/m0@v1.0.0/go.mod", 400},
		{"GET", "/lookup/example.com/m0@v2.0.0", 400},                 // needs /v2 or +incompatible
		{"GET", "/lookup/example.com/m0@v1.0.0+incompatible", 400},    // +incompatible only from v2 on
		{"GET", "/lookup/example.com/m0/v2@v2.0.0+incompatible", 400}, // not with a /vN path
		{"GET", "/lookup/gopkg.in/yaml.v2@v2.0.0+incompatible", 400},  // nor with gopkg.in
		{"GET", "/lookup/example.com/m0@v2.0+incompatible", 400},      // not canonical
		{"GET", "/lookup/example.com/m0@v2.0.0+!incompatible", 400},   // upper case
		{"GET", "/lookup/example.com/m0@v2.0.0+incompatible.1", 400},  // another build suffix
		{"GET", "/lookup/example.com/m0@v2.0.0+incompatible+incompatible", 400},
		{"GET", "/lookup/missing.example/x@v2.0.0-pre+incompatible", 404},                 // valid: reaches the source
		{"GET", "/lookup/example.com/m0/v2@v1.0.0", 400},                                  // major mismatch
		{"GET", "/lookup/github.com/Upper/Case1@v0.0.0-20200101000000-abcdefabcdef", 400}, // unescaped upper case
		{"GET", "/lookup/example.com/!!m@v1.0.0", 400},
		{"GET", "/lookup/example.com/m!@v1.0.0", 400},
		{"GET", "/lookup/example.com/m0@v1.0.0-!R!C", 400}, // escaped version upper case must be... checked below
		{"GET", "/lookup/example.com/../m@v1.0.0", 400},
		{"GET", "/lookup/example.com//m@v1.0.0", 400},
		{"GET", "/lookup/example.com/m%20@v1.0.0", 400},
		{"GET", "/lookup/example.com/m\x00@v1.0.0", 400},
		{"GET", "/lookup/example.com/m\n@v1.0.0", 400},
		{"GET", "/lookup/-example.com/m@v1.0.0", 400},
		{"GET", "/lookup/" + long + "@v1.0.0", 400},
		{"GET", "/lookup/example.com/m@v1.0.0-" + long, 400},
		{"GET", "/lookup/missing.example/x@v1.0.0", 404},
		{"GET", "/lookup/private.example/x@v1.0.0", 404},
		{"GET", "/lookup/private.example@v1.0.0", 404},
		{"GET", "/lookup/a.corp.example/x@v1.0.0", 404},
		{"GET", "/tile/", 400},
		{"GET", "/tile/8", 400},
		{"GET", "/tile/8/", 400},
		{"GET", "/tile/8/0", 400},
		{"GET", "/tile/8/0/", 400},
		{"GET", "/tile/8/0/000", 200},
		{"GET", "/tile/8/0/001.p/44", 200},
		{"GET", "/tile/8/0/001.p/45", 404},
		{"GET", "/tile/8/0/001", 404},
		{"GET", "/tile/8/0/002", 404},
		{"GET", "/tile/8/1/000.p/1", 200},
		{"GET", "/tile/8/1/000.p/2", 404},
		{"GET", "/tile/8/1/000", 404},
		{"GET", "/tile/8/2/000.p/1", 404},
		{"GET", "/tile/8/7/000.p/1", 404},
		{"GET", "/tile/8/data/000", 200},
		{"GET", "/tile/8/data/001.p/44", 200},
		{"GET", "/tile/8/data/001.p/45", 404},
		{"GET", "/tile/8/data/x999/999", 404},
		{"GET", "/tile/8/0/x009/x223/x372/x036/x854/x775/807", 400},
		{"GET", "/tile/8/0/x036/x028/x797/x018/x963/967", 404}, // largest N that fits
		{"GET", "/tile/8/0/x036/x028/x797/x018/x963/968", 400},
		{"GET", "/tile/8/0/x999/x999/x999/x999/x999/x999/x999/x999/999", 400},
		{"GET", "/tile/8/0/" + strings.Repeat("x999/", 10000) + "999", 400},
		{"GET", "/tile/8/0/000.p/0", 400},
		{"GET", "/tile/8/0/000.p/256", 400},
		{"GET", "/tile/8/0/000.p/257", 400},
		{"GET", "/tile/8/0/000.p/-1", 400},
		{"GET", "/tile/8/0/000.p/01", 400},
		{"GET", "/tile/8/0/000.p/99999999999999999999", 400},
		{"GET", "/tile/8/0/000.p/", 400},
		{"GET", "/tile/8/0/0", 400},
		{"GET", "/tile/8/0/00", 400},
		{"GET", "/tile/8/0/0000", 400},
		{"GET", "/tile/8/0/x000/000", 400},
		{"GET", "/tile/8/0/x1/000", 400},
		{"GET", "/tile/8/0/-01", 400},
		{"GET", "/tile/8/0/+01", 400},
		{"GET", "/tile/8/00/000", 400},
		{"GET", "/tile/08/0/000", 400},
		{"GET", "/tile/8/-1/000", 400},
		{"GET", "/tile/8/8/000", 400},
		{"GET", "/tile/8/99999999999999999999/000", 400},
		{"GET", "/tile/99999999999999999999/0/000", 400},
		{"GET", "/tile/0/0/000", 400},
		{"GET", "/tile/4/0/000", 404},
		{"GET", "/tile/31/0/000", 400},
		{"GET", "/tile/8/0/000/", 400},
		{"GET", "/tile/8/0/000.p/5/", 400},
		{"GET", "/tile/8/data/000.p/5x", 400},
		{"GET", "/tile/8/DATA/000", 400},
		// C2SP paths (mounted).
		{"GET", "/checkpoint", 200},
		{"GET", "/tile/0/000", 200},
		{"GET", "/tile/0/001.p/44", 200},
		{"GET", "/tile/0/001", 404},
		{"GET", "/tile/1/000.p/1", 200},
		{"GET", "/tile/entries/000", 200},
		{"GET", "/tile/entries/001.p/44", 200},
		{"GET", "/tile/entries/001", 404},
		{"GET", "/tile/entries/000.p/0", 400},
		{"GET", "/tile/8/000", 400}, // a C2SP tile at level 8 cannot exist
		{"GET", "/tile/64/000", 400},
		// Methods.
		{"POST", "/latest", 405},
		{"PUT", "/lookup/example.com/m0@v1.0.0", 405},
		{"DELETE", "/tile/8/0/000", 405},
		{"OPTIONS", "/latest", 405},
		{"HEAD", "/latest", 200},
		{"HEAD", "/tile/8/0/000", 200},
	}
	for _, tt := range tests {
		name := tt.method + " " + tt.path
		if len(name) > 100 {
			name = name[:100]
		}
		r := do(s, tt.method, tt.path)
		require.Equal(t, tt.code, r.code, "%s: body %q", name, r.body)
		if tt.code != 200 {
			require.Equal(t, "no-store", r.hdr.Get("Cache-Control"), name)
		}
		if tt.code == 405 {
			require.Equal(t, "GET, HEAD", r.hdr.Get("Allow"), name)
		}
		if tt.method == "HEAD" {
			require.Empty(t, r.body, name)
			require.NotEmpty(t, r.hdr.Get("Content-Length"), name)
		}
	}
	// Only the missing.example lookups reached the source: private modules
	// and bad input never do.
	require.Equal(t, int64(2), calls.Load())
	_, tree, err := l.Checkpoint(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(300), tree.N)
}

// TestHTTPHeaders checks Content-Type, Cache-Control and conditional
// requests.
func TestHTTPHeaders(t *testing.T) {
	s, _ := newTestServer(t, sumdbserver.Config{Source: fakeSource(nil), C2SP: true})
	for i := range 260 {
		require.Equal(t, 200, do(s, "GET", lookupPath(modName(i))).code)
	}
	for _, tt := range []struct{ path, ctype, cache string }{
		{"/latest", "text/plain; charset=UTF-8", "public, max-age=5"},
		{"/checkpoint", "text/plain; charset=UTF-8", "public, max-age=5"},
		{lookupPath(modName(3)), "text/plain; charset=UTF-8", "public, max-age=60"},
		{"/tile/8/0/000", "application/octet-stream", "public, max-age=31536000, immutable"},
		{"/tile/8/0/001.p/4", "application/octet-stream", "public, max-age=60"},
		{"/tile/8/data/000", "text/plain; charset=UTF-8", "public, max-age=31536000, immutable"},
		{"/tile/8/data/001.p/4", "text/plain; charset=UTF-8", "public, max-age=60"},
		{"/tile/0/000", "application/octet-stream", "public, max-age=31536000, immutable"},
		{"/tile/entries/000", "application/octet-stream", "public, max-age=31536000, immutable"},
		{"/tile/entries/001.p/4", "application/octet-stream", "public, max-age=60"},
	} {
		r := do(s, "GET", tt.path)
		require.Equal(t, 200, r.code, tt.path)
		require.Equal(t, tt.ctype, r.ctype, tt.path)
		require.Equal(t, tt.cache, r.hdr.Get("Cache-Control"), tt.path)
		require.Equal(t, fmt.Sprint(len(r.body)), r.hdr.Get("Content-Length"), tt.path)
		h := do(s, "HEAD", tt.path)
		require.Equal(t, r.hdr.Get("Content-Length"), h.hdr.Get("Content-Length"), tt.path)
		require.Empty(t, h.body)
	}

	// Full tiles carry an ETag; If-None-Match answers 304 with no body,
	// a different tag answers the tile.
	for _, p := range []string{"/tile/8/0/000", "/tile/8/data/000", "/tile/0/000", "/tile/entries/000"} {
		r := do(s, "GET", p)
		etag := r.hdr.Get("ETag")
		require.NotEmpty(t, etag, p)
		require.Equal(t, 304, do(s, "GET", p, "If-None-Match", etag).code)
		require.Equal(t, 304, do(s, "GET", p, "If-None-Match", `"x", W/`+etag).code)
		r2 := do(s, "GET", p, "If-None-Match", `"other"`)
		require.Equal(t, 200, r2.code)
		require.Equal(t, r.body, r2.body)
		// The same tile with the cache cold gives the same ETag.
		s2, l2 := newTestServer(t, sumdbserver.Config{C2SP: true, TileCacheBytes: -1})
		for i := range 260 {
			m := modName(i)
			_, err := l2.AppendKeyed(context.Background(), m.String(), fakeGoSum(m.Path, m.Version))
			require.NoError(t, err)
		}
		r3 := do(s2, "GET", p)
		require.Equal(t, etag, r3.hdr.Get("ETag"))
		require.Equal(t, r.body, r3.body)
	}
	require.Empty(t, do(s, "GET", "/tile/8/0/001.p/4").hdr.Get("ETag"))

	// C2SP tiles are the same bytes as the sumdb hash tiles.
	require.Equal(t, do(s, "GET", "/tile/8/0/000").body, do(s, "GET", "/tile/0/000").body)
	require.Equal(t, do(s, "GET", "/latest").body, do(s, "GET", "/checkpoint").body)
	// Without C2SP the C2SP paths are not served.
	s3, _ := newTestServer(t, sumdbserver.Config{})
	require.Equal(t, 404, do(s3, "GET", "/checkpoint").code)
	require.Equal(t, 400, do(s3, "GET", "/tile/0/000").code)
}

// TestEntryBundle checks the C2SP entry bundle encoding of a data tile.
func TestEntryBundle(t *testing.T) {
	s, l := newTestServer(t, sumdbserver.Config{C2SP: true})
	var want []byte
	for i := range 5 {
		m := modName(i)
		rec := fakeGoSum(m.Path, m.Version)
		_, err := l.AppendKeyed(context.Background(), m.String(), rec)
		require.NoError(t, err)
		want = append(want, byte(len(rec)>>8), byte(len(rec)))
		want = append(want, rec...)
	}
	r := do(s, "GET", "/tile/entries/000.p/5")
	require.Equal(t, 200, r.code)
	require.Equal(t, want, r.body)
}

// TestSingleFlight: concurrent lookups of one new version make one source
// call and one record, and all get the same answer.
func TestSingleFlight(t *testing.T) {
	var calls atomic.Int64
	release := make(chan struct{})
	src := sumdbserver.SourceFunc(func(ctx context.Context, m module.Version) ([]byte, error) {
		calls.Add(1)
		<-release
		return fakeGoSum(m.Path, m.Version), nil
	})
	s, l := newTestServer(t, sumdbserver.Config{Source: src})
	const n = 32
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = do(s, "GET", "/lookup/example.com/new@v1.2.3")
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	for i := range n {
		require.Equal(t, 200, results[i].code)
		require.Equal(t, results[0].body, results[i].body)
	}
	require.Equal(t, int64(1), calls.Load())
	require.Equal(t, 1, l.appends)
	require.True(t, bytes.HasPrefix(results[0].body, []byte("0\nexample.com/new v1.2.3 h1:")))
}

// TestSourceFailures: upstream failures give 502 (or 404) and record
// nothing; failures are not cached; a canceled client does not cancel the
// fetch others wait for.
func TestSourceFailures(t *testing.T) {
	var mode atomic.Int64
	var calls atomic.Int64
	src := sumdbserver.SourceFunc(func(ctx context.Context, m module.Version) ([]byte, error) {
		calls.Add(1)
		switch mode.Load() {
		case 0:
			return nil, fmt.Errorf("%w: connection refused", sumdbserver.ErrUpstream)
		case 1:
			return nil, fmt.Errorf("%w: gone", sumdbserver.ErrNotFound)
		case 2:
			return nil, fmt.Errorf("%w: zip has a bad file name", sumdbserver.ErrInvalidModule)
		case 3:
			return []byte("not\n\nvalid record text"), nil
		case 4:
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return fakeGoSum(m.Path, m.Version), nil
	})
	s, l := newTestServer(t, sumdbserver.Config{Source: src, FetchTimeout: 100 * time.Millisecond})
	const p = "/lookup/example.com/flaky@v1.0.0"
	for _, want := range []int{502, 404, 404, 500, 502} {
		r := do(s, "GET", p)
		require.Equal(t, want, r.code, "mode %d: %s", mode.Load(), r.body)
		require.Equal(t, "no-store", r.hdr.Get("Cache-Control"))
		require.Equal(t, 0, l.appends)
		mode.Add(1)
	}
	r := do(s, "GET", p)
	require.Equal(t, 200, r.code)
	require.Equal(t, int64(6), calls.Load())
	require.Equal(t, 1, l.appends)
	// Now logged: no more source calls.
	require.Equal(t, r.body, do(s, "GET", p).body)
	require.Equal(t, int64(6), calls.Load())
}

func TestNewServerNeedsLog(t *testing.T) {
	_, err := sumdbserver.NewServer(sumdbserver.Config{})
	require.Error(t, err)
}

// TestLogging checks the log lines an operator relies on: one Info line per
// upstream fetch (with its outcome), one Debug line per rejected request
// (with its path cut short), and nothing at Info for a lookup already
// logged.
func TestLogging(t *testing.T) {
	// slog's handler serializes its writes, and each request has
	// returned (its fetch done) before the buffer is read.
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, _ := newTestServer(t, sumdbserver.Config{Source: fakeSource(nil), Logger: logger})
	require.Equal(t, 200, do(s, "GET", "/lookup/example.com/logged@v1.0.0").code)
	out := buf.String()
	require.Contains(t, out, `level=INFO msg="sumdbserver: fetched and logged" module=example.com/logged@v1.0.0 record=0`)
	require.Equal(t, 1, strings.Count(out, "\n"), out)

	require.Equal(t, 200, do(s, "GET", "/lookup/example.com/logged@v1.0.0").code)
	require.Equal(t, out, buf.String(), "no fetch, no line")

	require.Equal(t, 404, do(s, "GET", "/lookup/missing.example/x@v1.0.0").code)
	require.Contains(t, buf.String(), `level=INFO msg="sumdbserver: upstream fetch failed" module=missing.example/x@v1.0.0`)
	require.Contains(t, buf.String(), `level=DEBUG msg="sumdbserver: rejected request" method=GET path=/lookup/missing.example/x@v1.0.0 status=404`)

	long := "/lookup/" + strings.Repeat("a", 5000) + "@v1.0.0"
	require.Equal(t, 400, do(s, "GET", long).code)
	last := buf.String()[strings.LastIndex(strings.TrimSuffix(buf.String(), "\n"), "\n")+1:]
	require.Contains(t, last, `msg="sumdbserver: rejected request"`)
	require.Contains(t, last, "status=400")
	require.Less(t, len(last), 600, "long paths are cut short in the log")

	// At the default Info level, rejects are not logged.
	buf2 := &bytes.Buffer{}
	s2, _ := newTestServer(t, sumdbserver.Config{Source: fakeSource(nil), Logger: slog.New(slog.NewTextHandler(buf2, nil))})
	require.Equal(t, 400, do(s2, "GET", "/lookup/bad").code)
	require.Empty(t, buf2.String())
}
