package benchmarks

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
	xsumdb "golang.org/x/mod/sumdb"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
)

// The server benchmarks compare, on loopback TCP and in one run, our
// sumdbserver on a pebble store (storage.Log) with golang.org/x/mod/sumdb's
// Server over its in-memory TestServer, serving the same log of srvRecords
// module versions. Requests come from a minimal keep-alive HTTP/1.1 client
// (one connection per parallel worker, like wrk), so that the client's own
// cost does not drown the servers' difference.

const (
	srvRecords = 1 << 16
	srvSKey    = "PRIVATE+KEY+bench.sumdb+c2e4edff+AS+4O/d+lcARGg4gU/7z2DvggaN//eHuTy6KAzAQtkum"
	srvVKey    = "bench.sumdb+c2e4edff+AW/qMpnCR1TjF6O9y8/ycITZa1ph7BQp+DPo0c6MEa0l"
)

func srvModule(i int) module.Version {
	return module.Version{Path: fmt.Sprintf("github.com/Bench%d/mod%d", i%97, i), Version: fmt.Sprintf("v1.%d.%d", i%13, i)}
}

func srvGoSum(m module.Version) []byte {
	h := sha256.Sum256([]byte(m.String()))
	b := base64.StdEncoding.EncodeToString(h[:])
	return fmt.Appendf(nil, "%s %s h1:%s\n%s %s/go.mod h1:%s\n", m.Path, m.Version, b, m.Path, m.Version, b)
}

func srvLookupPath(m module.Version) string {
	p, _ := module.EscapePath(m.Path)
	v, _ := module.EscapeVersion(m.Version)
	return "/lookup/" + p + "@" + v
}

// srvOpenOurs opens a storage.Log on pebble in a temporary directory.
func srvOpenOurs(b *testing.B) *storage.Log {
	signer, err := note.NewSigner(srvSKey)
	require.NoError(b, err)
	verifier, err := note.NewVerifier(srvVKey)
	require.NoError(b, err)
	store, err := pebblestore.Open(filepath.Join(b.TempDir(), "store"), nil)
	require.NoError(b, err)
	l, err := storage.Open(context.Background(), store, storage.Options{
		Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true,
	})
	require.NoError(b, err)
	b.Cleanup(func() { l.Close() })
	return l
}

// srvServers returns loopback servers of the same log of n records: ours
// (sumdbserver on pebble) and x/mod's (sumdb.Server on TestServer).
//
// nocache, if set, is a third server: ours with the tile cache off, so
// that every lookup reads its record from pebble.
func srvServers(b *testing.B, n int) (ours, xmod, nocache *httptest.Server) {
	l := srvOpenOurs(b)
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Value
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				m := srvModule(i)
				if _, _, err := l.AppendKeyed(context.Background(), []byte(m.String()), srvGoSum(m)); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	s, err := sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.StorageLog(l)})
	require.NoError(b, err)
	ours = httptest.NewServer(s)
	b.Cleanup(ours.Close)
	s, err = sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.StorageLog(l), TileCacheBytes: -1})
	require.NoError(b, err)
	nocache = httptest.NewServer(s)
	b.Cleanup(nocache.Close)

	// x/mod's test server gets the records in our log's order, so that
	// both serve the same tree.
	ts := xsumdb.NewTestServer(srvSKey, func(path, vers string) ([]byte, error) {
		return srvGoSum(module.Version{Path: path, Version: vers}), nil
	})
	ctx := context.Background()
	recs, err := l.ReadRecords(ctx, 0, int64(n))
	require.NoError(b, err)
	for _, r := range recs {
		path, rest, _ := strings.Cut(string(r), " ")
		vers, _, _ := strings.Cut(rest, " ")
		_, err := ts.Lookup(ctx, module.Version{Path: path, Version: vers})
		require.NoError(b, err)
	}
	xmod = httptest.NewServer(xsumdb.NewServer(ts))
	b.Cleanup(xmod.Close)

	// Same bytes for /latest.
	c := srvDial(b, ours.Listener.Addr().String())
	a := c.get(b, "/latest", true)
	c2 := srvDial(b, xmod.Listener.Addr().String())
	require.Equal(b, string(c2.get(b, "/latest", true)), string(a))
	return ours, xmod, nocache
}

// srvClient is a minimal HTTP/1.1 keep-alive client on one connection.
type srvClient struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	body []byte
}

func srvDial(b *testing.B, addr string) *srvClient {
	conn, err := net.Dial("tcp", addr)
	require.NoError(b, err)
	b.Cleanup(func() { conn.Close() })
	return &srvClient{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), w: bufio.NewWriter(conn)}
}

// get requests path and returns the body (kept only if keep is set; the
// buffer is reused). It fails the benchmark unless the status is 200.
func (c *srvClient) get(b *testing.B, path string, keep bool) []byte {
	c.w.WriteString("GET ")
	c.w.WriteString(path)
	c.w.WriteString(" HTTP/1.1\r\nHost: bench\r\n\r\n")
	if err := c.w.Flush(); err != nil {
		b.Fatal(err)
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		b.Fatal(err)
	}
	if len(line) < 12 || string(line[9:12]) != "200" {
		b.Fatalf("GET %s: %q", path, line)
	}
	n := -1
	chunked := false
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			b.Fatal(err)
		}
		if len(h) <= 2 {
			break
		}
		if len(h) > 16 && strings.EqualFold(string(h[:15]), "Content-Length:") {
			n, err = strconv.Atoi(strings.TrimSpace(string(h[15:])))
			if err != nil {
				b.Fatal(err)
			}
		}
		if len(h) > 18 && strings.EqualFold(string(h[:18]), "Transfer-Encoding:") {
			chunked = strings.TrimSpace(string(h[18:])) == "chunked"
		}
	}
	if chunked {
		c.body = c.body[:0]
		for {
			line, err := c.r.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			size, err := strconv.ParseInt(strings.TrimSpace(string(line)), 16, 64)
			if err != nil || size < 0 || size > 1<<24 {
				b.Fatalf("GET %s: bad chunk size %q", path, line)
			}
			start := len(c.body)
			c.body = append(c.body, make([]byte, size)...)
			if _, err := io.ReadFull(c.r, c.body[start:]); err != nil {
				b.Fatal(err)
			}
			if _, err := c.r.Discard(2); err != nil { // CRLF after the chunk
				b.Fatal(err)
			}
			if size == 0 {
				break
			}
		}
		if keep {
			return append([]byte(nil), c.body...)
		}
		return c.body
	}
	if n < 0 {
		b.Fatalf("GET %s: no Content-Length", path)
	}
	if cap(c.body) < n {
		c.body = make([]byte, n)
	}
	c.body = c.body[:n]
	if _, err := io.ReadFull(c.r, c.body); err != nil {
		b.Fatal(err)
	}
	if keep {
		return append([]byte(nil), c.body...)
	}
	return c.body
}

// srvLoad runs parallel workers (8 per CPU) that request paths[i] for
// pseudo-random i, and reports requests per second.
func srvLoad(b *testing.B, srv *httptest.Server, paths []string, unit string) {
	addr := srv.Listener.Addr().String()
	var seed atomic.Uint64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := srvDial(b, addr)
		x := seed.Add(0x9e3779b97f4a7c15) | 1
		for pb.Next() {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			c.get(b, paths[x%uint64(len(paths))], false)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit+"/s")
}

// BenchmarkServerLookup: /lookup of existing records, uniformly at random.
// The log's 256 full data tiles fit in the server's default tile cache, so
// after warm-up ours reads only the key index from pebble.
func BenchmarkServerLookup(b *testing.B) {
	ours, xmod, nocache := srvServers(b, srvRecords)
	paths := make([]string, srvRecords)
	for i := range paths {
		paths[i] = srvLookupPath(srvModule(i))
	}
	b.Run("impl=tlogkit", func(b *testing.B) { srvLoad(b, ours, paths, "lookups") })
	b.Run("impl=xmod", func(b *testing.B) { srvLoad(b, xmod, paths, "lookups") })
	// Ours with every record read from pebble (a log far larger than the
	// cache, with lookups spread uniformly).
	b.Run("cache=off/impl=tlogkit", func(b *testing.B) { srvLoad(b, nocache, paths, "lookups") })
}

// BenchmarkServerTile: full hash tiles (levels 0 and 1) and full data
// tiles of the log.
func BenchmarkServerTile(b *testing.B) {
	ours, xmod, _ := srvServers(b, srvRecords)
	var hashPaths, dataPaths []string
	for _, t := range xtlog.NewTiles(8, 0, srvRecords) {
		hashPaths = append(hashPaths, "/"+t.Path())
		if t.L == 0 {
			t.L = -1
			dataPaths = append(dataPaths, "/"+t.Path())
		}
	}
	// Identical bytes for a sample.
	a, x := srvDial(b, ours.Listener.Addr().String()), srvDial(b, xmod.Listener.Addr().String())
	for _, p := range []string{hashPaths[0], hashPaths[len(hashPaths)-1], dataPaths[7]} {
		require.Equal(b, x.get(b, p, true), a.get(b, p, true), p)
	}
	b.Run("kind=hash/impl=tlogkit", func(b *testing.B) { b.SetBytes(8192); srvLoad(b, ours, hashPaths, "tiles") })
	b.Run("kind=hash/impl=xmod", func(b *testing.B) { b.SetBytes(8192); srvLoad(b, xmod, hashPaths, "tiles") })
	b.Run("kind=data/impl=tlogkit", func(b *testing.B) { srvLoad(b, ours, dataPaths, "tiles") })
	b.Run("kind=data/impl=xmod", func(b *testing.B) { srvLoad(b, xmod, dataPaths, "tiles") })
}

// BenchmarkServerFirstLookup: the latency of a lookup of a module version
// not yet logged, with a file:// upstream: fetch .mod and .zip, check and
// hash the zip, append durably (pebble, synced) and answer. x/mod's
// TestServer does the same fetch (through our Proxy) but appends in memory.
func BenchmarkServerFirstLookup(b *testing.B) {
	proxyDir := b.TempDir()
	up, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(proxyDir))
	require.NoError(b, err)
	var made int
	mod := func(i int) module.Version {
		return module.Version{Path: "example.com/first", Version: fmt.Sprintf("v1.0.%d", i)}
	}
	ensure := func(b *testing.B, n int) {
		b.StopTimer()
		for ; made < n; made++ {
			sumdbtest.WriteModule(b, proxyDir, mod(made), map[string]string{
				"first.go": fmt.Sprintf("package first\n\nconst N = %d\n", made),
				"LICENSE":  strings.Repeat("license text\n", 100),
			})
		}
		b.StartTimer()
	}
	run := func(b *testing.B, h http.Handler) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		c := srvDial(b, srv.Listener.Addr().String())
		start := made
		ensure(b, start+b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			c.get(b, srvLookupPath(mod(start+i)), false)
		}
	}
	b.Run("impl=tlogkit", func(b *testing.B) {
		s, err := sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.StorageLog(srvOpenOurs(b)), Source: up})
		require.NoError(b, err)
		run(b, s)
	})
	b.Run("impl=xmod", func(b *testing.B) {
		ts := xsumdb.NewTestServer(srvSKey, func(path, vers string) ([]byte, error) {
			return up.GoSum(context.Background(), module.Version{Path: path, Version: vers})
		})
		run(b, xsumdb.NewServer(ts))
	})
}

// BenchmarkServerHandler is BenchmarkServerLookup and BenchmarkServerTile
// without the network: requests go straight to each server's ServeHTTP
// with a ResponseWriter that only counts bytes, so what is measured is the
// handler's own work (finding, framing and writing the response), not
// net/http's connection handling and the loopback system calls that
// dominate the loopback benchmarks.
func BenchmarkServerHandler(b *testing.B) {
	ours, xmod, _ := srvServers(b, srvRecords)
	kinds := []struct {
		name  string
		paths []string
	}{{name: "lookup"}, {name: "hash"}, {name: "data"}}
	for i := range srvRecords {
		kinds[0].paths = append(kinds[0].paths, srvLookupPath(srvModule(i)))
	}
	for _, t := range xtlog.NewTiles(8, 0, srvRecords) {
		kinds[1].paths = append(kinds[1].paths, "/"+t.Path())
		if t.L == 0 {
			t.L = -1
			kinds[2].paths = append(kinds[2].paths, "/"+t.Path())
		}
	}
	for _, k := range kinds {
		for _, impl := range []struct {
			name string
			srv  *httptest.Server
		}{{"tlogkit", ours}, {"xmod", xmod}} {
			b.Run("kind="+k.name+"/impl="+impl.name, func(b *testing.B) {
				srvServe(b, impl.srv.Config.Handler, k.paths)
			})
		}
	}
}

// countingWriter is an http.ResponseWriter that keeps the status and
// counts the body bytes.
type countingWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *countingWriter) Header() http.Header { return w.h }
func (w *countingWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}
func (w *countingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

// srvServe runs parallel workers that call h.ServeHTTP for paths[i], for
// pseudo-random i, and reports requests per second. Each worker builds its
// own requests beforehand.
func srvServe(b *testing.B, h http.Handler, paths []string) {
	var seed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		reqs := make([]*http.Request, len(paths))
		for i, p := range paths {
			reqs[i] = httptest.NewRequest("GET", p, nil)
		}
		w := &countingWriter{h: make(http.Header)}
		x := seed.Add(0x9e3779b97f4a7c15) | 1
		for pb.Next() {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			clear(w.h)
			w.status, w.n = 0, 0
			h.ServeHTTP(w, reqs[x%uint64(len(reqs))])
			if w.status != http.StatusOK || w.n == 0 {
				b.Fatalf("status %d, %d bytes", w.status, w.n)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
