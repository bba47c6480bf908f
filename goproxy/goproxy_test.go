package goproxy_test

import (
	"context"
	"crypto/rand"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/goproxy"
	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/sumdbclient"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
)

// env is an upstream proxy directory served over HTTP (counting
// requests), our checksum database filled from it, and a mirror.
type env struct {
	proxyDir  string
	upstream  *httptest.Server
	requests  atomic.Int64
	sumdbURL  string
	vkey      string
	name      string
	cacheDir  string
	mirror    *goproxy.Server
	mirrorURL string
	log       *storage.Log // the database's log
	logIndex  bool         // the mirror's /index is the log's (Config.Log)
}

func newEnv(t testing.TB, private string) *env {
	t.Helper()
	e := &env{proxyDir: t.TempDir(), cacheDir: t.TempDir()}
	for _, m := range []module.Version{
		{Path: "example.com/hello", Version: "v1.0.0"},
		{Path: "example.com/hello", Version: "v1.1.0"},
		{Path: "github.com/Upper/Case", Version: "v0.1.0"},
		{Path: "private.example/secret", Version: "v1.0.0"},
	} {
		sumdbtest.WriteModule(t, e.proxyDir, m, map[string]string{"x.go": "package x\n// " + m.String() + "\n"})
	}
	fs := http.FileServer(http.Dir(e.proxyDir))
	e.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(e.upstream.Close)

	skey, vkey, err := note.GenerateKey(rand.Reader, "sumdb.test.example")
	require.NoError(t, err)
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	l, err := storage.Open(context.Background(), memstore.New(), storage.Options{Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	src, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(e.proxyDir))
	require.NoError(t, err)
	db, err := sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.StorageLog(l), Source: src, Private: "private.example"})
	require.NoError(t, err)
	dbs := httptest.NewServer(db)
	t.Cleanup(dbs.Close)
	e.sumdbURL, e.vkey, e.name, e.log = dbs.URL, vkey, "sumdb.test.example", l
	e.start(t, private)
	return e
}

func (e *env) start(t testing.TB, private string) {
	t.Helper()
	csrc, err := sumdbclient.NewSource(e.sumdbURL)
	require.NoError(t, err)
	client, err := sumdbclient.New(sumdbclient.Options{Source: csrc, VerifierKey: e.vkey, StateDir: filepath.Join(e.cacheDir, "sumdb-state")})
	require.NoError(t, err)
	cfg := goproxy.Config{
		Upstream: e.upstream.URL, CacheDir: e.cacheDir, SumDB: client, Private: private,
		SumDBs: map[string]string{e.name: e.sumdbURL},
	}
	if e.logIndex {
		cfg.Log = e.log
	}
	e.mirror, err = goproxy.NewServer(cfg)
	require.NoError(t, err)
	hs := httptest.NewServer(e.mirror)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { e.mirror.Close() })
	e.mirrorURL = hs.URL
}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestGoCommandThroughMirror: the go command with GOPROXY set to the
// mirror and GOSUMDB naming our database by key only (so it reaches the
// database through the mirror's /sumdb/ proxying) downloads, gets and
// verifies modules; once cached, they are served with the upstream gone.
func TestGoCommandThroughMirror(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	e := newEnv(t, "")
	e.logIndex = true
	require.NoError(t, e.mirror.Close())
	e.start(t, "")
	g := sumdbtest.NewGoEnv(t, e.proxyDir, e.vkey)
	g.ProxyURL = e.mirrorURL
	mod := filepath.Join(g.Work, "scratch")
	require.NoError(t, os.MkdirAll(mod, 0o777))
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/scratch\n\ngo 1.21\n"), 0o666))
	g.MustRun(mod, "get", "example.com/hello@v1.0.0", "github.com/Upper/Case@v0.1.0")
	require.Contains(t, g.MustRun(mod, "mod", "verify"), "all modules verified")
	code, supported := get(t, e.mirrorURL+"/sumdb/"+e.name+"/supported")
	require.Equal(t, 200, code, supported)
	_, err := os.Stat(filepath.Join(e.cacheDir, "github.com", "!upper", "!case", "@v", "v0.1.0.zip"))
	require.NoError(t, err, "cached under the escaped path")

	// The log's module index lists exactly the versions the go command
	// pulled a .mod of through the mirror (v1.1.0's too: go get reads the
	// latest go.mod for retractions), in the order logged.
	var listed []string
	for _, x := range readIndex(t, e.mirrorURL, "") {
		listed = append(listed, x.Path+"@"+x.Version)
	}
	require.ElementsMatch(t, cachedMods(t, e.cacheDir), listed)
	require.Contains(t, listed, "github.com/Upper/Case@v0.1.0")

	out := g.MustRun(mod, "list", "-m", "-versions", "example.com/hello")
	require.Equal(t, "example.com/hello v1.0.0 v1.1.0\n", out)

	// The mirror restarts on its cache; the upstream goes away; a fresh
	// go command gets the cached version.
	require.NoError(t, e.mirror.Close())
	e.start(t, "")
	g.ProxyURL = e.mirrorURL
	require.Contains(t, g.MustRun(mod, "mod", "verify"), "all modules verified")
	e.upstream.Close()
	g2 := sumdbtest.NewGoEnv(t, e.proxyDir, e.vkey)
	g2.ProxyURL = e.mirrorURL
	g2.MustRun(g2.Work, "mod", "download", "-json", "example.com/hello@v1.0.0")
}

// TestMismatchNeverServed: after the database logged a version, the
// upstream's zip and go.mod are replaced: the mirror refuses both with an
// error naming the version and both hashes, caches nothing, and serves
// the right files once the upstream is fixed.
func TestMismatchNeverServed(t *testing.T) {
	e := newEnv(t, "")
	m := module.Version{Path: "example.com/hello", Version: "v1.1.0"}
	// The database logs the genuine version first.
	code, body := get(t, e.sumdbURL+"/lookup/example.com/hello@v1.1.0")
	require.Equal(t, 200, code, body)
	good, err := os.ReadFile(filepath.Join(e.proxyDir, "example.com/hello/@v/v1.1.0.zip"))
	require.NoError(t, err)
	goodMod, err := os.ReadFile(filepath.Join(e.proxyDir, "example.com/hello/@v/v1.1.0.mod"))
	require.NoError(t, err)
	sumdbtest.WriteModule(t, e.proxyDir, m, map[string]string{"x.go": "package x\n// evil\n"})
	require.NoError(t, os.WriteFile(filepath.Join(e.proxyDir, "example.com/hello/@v/v1.1.0.mod"), []byte("module example.com/hello\n// evil\n"), 0o666))

	for _, ext := range []string{".zip", ".mod"} {
		code, body := get(t, e.mirrorURL+"/example.com/hello/@v/v1.1.0"+ext)
		require.Equal(t, 502, code, body)
		require.Contains(t, body, "SECURITY ERROR: example.com/hello@v1.1.0 "+ext+": downloaded h1:")
		require.Contains(t, body, "checksum database has h1:")
		_, err := os.Stat(filepath.Join(e.cacheDir, "example.com/hello/@v/v1.1.0"+ext))
		require.ErrorIs(t, err, os.ErrNotExist, "a mismatching %s was cached", ext)
	}
	code, body = get(t, e.mirrorURL+"/index")
	require.Equal(t, 200, code)
	require.NotContains(t, body, "v1.1.0", "a refused version is not indexed")
	if !testing.Short() {
		// A fresh go command behind the mirror never gets the replaced zip.
		g := sumdbtest.NewGoEnv(t, e.proxyDir, e.vkey)
		g.ProxyURL = e.mirrorURL
		out, err := g.Run(g.Work, "mod", "download", "-json", "example.com/hello@v1.1.0")
		require.Error(t, err, out)
		require.Contains(t, out, "502 Bad Gateway")
		_, err = os.Stat(filepath.Join(g.ModCache, "example.com", "hello@v1.1.0"))
		require.ErrorIs(t, err, os.ErrNotExist, "the go command extracted the replaced module")
	}

	require.NoError(t, os.WriteFile(filepath.Join(e.proxyDir, "example.com/hello/@v/v1.1.0.zip"), good, 0o666))
	require.NoError(t, os.WriteFile(filepath.Join(e.proxyDir, "example.com/hello/@v/v1.1.0.mod"), goodMod, 0o666))
	code, body = get(t, e.mirrorURL+"/example.com/hello/@v/v1.1.0.zip")
	require.Equal(t, 200, code)
	require.Equal(t, string(good), body)
}

// TestPrivatePassThrough: a module matching Private is served unverified
// (the database refuses to look it up) and not indexed; without the
// pattern it is refused.
func TestPrivatePassThrough(t *testing.T) {
	e := newEnv(t, "")
	code, body := get(t, e.mirrorURL+"/private.example/secret/@v/v1.0.0.zip")
	require.NotEqual(t, 200, code, body)
	e2 := newEnv(t, "private.example")
	code, body = get(t, e2.mirrorURL+"/private.example/secret/@v/v1.0.0.zip")
	require.Equal(t, 200, code, body)
	_, idx := get(t, e2.mirrorURL+"/index")
	require.NotContains(t, idx, "private.example")
}

// TestOneFetchAndCaching: concurrent first requests for one zip make one
// upstream fetch; immutable files get long-lived cache headers; list is
// served from the cache within its TTL.
func TestOneFetchAndCaching(t *testing.T) {
	e := newEnv(t, "")
	var wg sync.WaitGroup
	codes := make([]int, 16)
	for i := range codes {
		wg.Go(func() { codes[i], _ = get(t, e.mirrorURL+"/example.com/hello/@v/v1.0.0.zip") })
	}
	wg.Wait()
	for _, c := range codes {
		require.Equal(t, 200, c)
	}
	require.Equal(t, int64(1), e.requests.Load(), "one upstream fetch")
	resp, err := http.Get(e.mirrorURL + "/example.com/hello/@v/v1.0.0.zip")
	require.NoError(t, err)
	resp.Body.Close()
	require.Contains(t, resp.Header.Get("Cache-Control"), "immutable")
	require.Equal(t, "application/zip", resp.Header.Get("Content-Type"))

	code, list := get(t, e.mirrorURL+"/example.com/hello/@v/list")
	require.Equal(t, 200, code)
	require.Equal(t, "v1.0.0\nv1.1.0\n", list)
	n := e.requests.Load()
	get(t, e.mirrorURL+"/example.com/hello/@v/list")
	require.Equal(t, n, e.requests.Load(), "list served from the cache")
	code, info := get(t, e.mirrorURL+"/example.com/hello/@v/v1.0.0.info")
	require.Equal(t, 200, code)
	require.Contains(t, info, `"Version":"v1.0.0"`)

	// The .info of a query (a branch) is not immutable.
	require.NoError(t, os.WriteFile(filepath.Join(e.proxyDir, "example.com/hello/@v/master.info"), []byte(`{"Version":"v1.1.0"}`), 0o666))
	resp, err = http.Get(e.mirrorURL + "/example.com/hello/@v/master.info")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "public, max-age=60", resp.Header.Get("Cache-Control"))
	_, err = os.Stat(filepath.Join(e.cacheDir, "example.com/hello/@v/master.info"))
	require.ErrorIs(t, err, os.ErrNotExist, "a query's answer cached as immutable")
}

// cachedMods returns the versions whose .mod the mirror cached.
func cachedMods(t *testing.T, cacheDir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(cacheDir, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".mod") {
			return err
		}
		rel, _ := filepath.Rel(cacheDir, name)
		epath, file, ok := strings.Cut(filepath.ToSlash(rel), "/@v/")
		require.True(t, ok, rel)
		path, err := module.UnescapePath(epath)
		require.NoError(t, err)
		vers, err := module.UnescapeVersion(strings.TrimSuffix(file, ".mod"))
		require.NoError(t, err)
		out = append(out, path+"@"+vers)
		return nil
	})
	require.NoError(t, err)
	return out
}

func readIndex(t *testing.T, mirrorURL, query string) []goproxy.IndexEntry {
	t.Helper()
	code, body := get(t, mirrorURL+"/index"+query)
	require.Equal(t, 200, code, body)
	out, err := goproxy.ParseIndex([]byte(body))
	require.NoError(t, err)
	return out
}

// TestLogIndex: with Config.Log, /index lists every version added to the
// log, also those looked up at the database directly, each with the time
// it was logged, in order; paging by since walks it all.
func TestLogIndex(t *testing.T) {
	e := newEnv(t, "")
	e.logIndex = true
	require.NoError(t, e.mirror.Close())
	e.start(t, "")

	before := time.Now()
	code, body := get(t, e.sumdbURL+"/lookup/example.com/hello@v1.1.0")
	require.Equal(t, 200, code, body)
	for _, p := range []string{"/example.com/hello/@v/v1.0.0.zip", "/github.com/!upper/!case/@v/v0.1.0.zip"} {
		code, body := get(t, e.mirrorURL+p)
		require.Equal(t, 200, code, body)
	}
	after := time.Now()

	all := readIndex(t, e.mirrorURL, "")
	var got []string
	for _, x := range all {
		got = append(got, x.Path+"@"+x.Version)
	}
	require.Equal(t, []string{"example.com/hello@v1.1.0", "example.com/hello@v1.0.0", "github.com/Upper/Case@v0.1.0"}, got)
	times, err := e.log.Times(context.Background(), 0, 3)
	require.NoError(t, err)
	for i, x := range all {
		require.True(t, x.Timestamp.Equal(times[i]), "entry %d at %v, logged at %v", i, x.Timestamp, times[i])
		require.False(t, x.Timestamp.Before(before) || x.Timestamp.After(after), "entry %d at %v, outside %v..%v", i, x.Timestamp, before, after)
		if i > 0 {
			require.True(t, x.Timestamp.After(all[i-1].Timestamp))
		}
	}

	// Paging by since, one entry a page: each page repeats the last entry
	// of the one before (since is inclusive) and adds the next.
	page := readIndex(t, e.mirrorURL, "?limit=1")
	require.Equal(t, all[:1], page)
	for i := 1; i < len(all); i++ {
		page = readIndex(t, e.mirrorURL, "?limit=2&since="+page[len(page)-1].Timestamp.Format(time.RFC3339Nano))
		require.Equal(t, all[i-1:i+1], page)
		page = page[1:]
	}
	require.Equal(t, all[2:], readIndex(t, e.mirrorURL, "?since="+all[2].Timestamp.Format(time.RFC3339Nano)))
	require.Empty(t, readIndex(t, e.mirrorURL, "?since="+after.Add(time.Second).Format(time.RFC3339Nano)))
	require.Empty(t, readIndex(t, e.mirrorURL, "?limit=0"))
	code, _ = get(t, e.mirrorURL+"/index?since=2026-13-01T00:00:00Z")
	require.Equal(t, 400, code)
}

// TestIndex: /index lists verified versions in order with timestamps,
// honours since and limit (capped at 2000), and survives a restart.
func TestIndex(t *testing.T) {
	e := newEnv(t, "")
	for _, p := range []string{"/example.com/hello/@v/v1.0.0.zip", "/github.com/!upper/!case/@v/v0.1.0.zip", "/example.com/hello/@v/v1.1.0.zip"} {
		code, body := get(t, e.mirrorURL+p)
		require.Equal(t, 200, code, body)
	}
	read := func(q string) []goproxy.IndexEntry { return readIndex(t, e.mirrorURL, q) }
	all := read("")
	require.Len(t, all, 3)
	require.Equal(t, "github.com/Upper/Case", all[1].Path)
	require.False(t, all[2].Timestamp.Before(all[1].Timestamp))
	require.Len(t, read("?limit=1"), 1)
	require.Len(t, read("?since="+all[1].Timestamp.Format("2006-01-02T15:04:05.999999999Z07:00")), 2)
	require.Len(t, read("?limit=999999"), 3)
	code, _ := get(t, e.mirrorURL+"/index?since=yesterday")
	require.Equal(t, 400, code)
	code, _ = get(t, e.mirrorURL+"/index?limit=-1")
	require.Equal(t, 400, code)

	// Restart on the same cache directory.
	require.NoError(t, e.mirror.Close())
	e.start(t, "")
	require.Equal(t, all, read(""))
}

// TestBadRequests: hostile paths get a clear 4xx, never a 500.
func TestBadRequests(t *testing.T) {
	e := newEnv(t, "")
	for path, want := range map[string]int{
		"/example.com/Hello/@v/list":                                  400, // upper case must be !-escaped
		"/example.com/hello/@v/v1.0.0.exe":                            400,
		"/example.com/hello/@v/v1.0.zip":                              400,
		"/example.com/hello/@v/v1.9.9.zip":                            404,
		"/example.com/hello/@v/v9.9.9.zip":                            400, // v9 needs a /v9 path or +incompatible
		"/example.com/none/@v/list":                                   404,
		"/example.com/hello/@v/":                                      404,
		"/nothing":                                                    404,
		"/example.com/hello/@v/../../x.info":                          400,
		"/example.com/hello/@v/..info":                                400,
		"/example.com/hello/@v/" + strings.Repeat("v", 300) + ".info": 400,
		"/sumdb/other.example/supported":                              404,
		"/sumdb/sumdb.test.example/../../x":                           404,
		"/sumdb/sumdb.test.example/tile/../../x":                      400,
		"/sumdb/sumdb.test.example/lookup/x@bad":                      400,
	} {
		code, body := get(t, e.mirrorURL+path)
		require.Equal(t, want, code, "%s: %s", path, body)
	}
	// A database error is passed on and never cached.
	n := 0
	for range 2 {
		code, _ := get(t, e.mirrorURL+"/sumdb/sumdb.test.example/lookup/example.com/none@v1.0.0")
		require.Equal(t, 404, code)
		n++
	}
	_, err := os.Stat(filepath.Join(e.cacheDir, "sumdb", "sumdb.test.example", "lookup", "example.com", "none@v1.0.0"))
	require.ErrorIs(t, err, os.ErrNotExist)
	code, latest := get(t, e.mirrorURL+"/sumdb/sumdb.test.example/latest")
	require.Equal(t, 200, code)
	require.True(t, strings.HasPrefix(latest, "go.sum database tree\n"), latest)
}
