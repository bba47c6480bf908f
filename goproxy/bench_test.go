package goproxy_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
)

// BenchmarkServe measures cache hits over loopback HTTP with a keep-alive
// client, side by side with net/http's FileServer serving the same cached
// files from disk: zips of about 1 MiB and 10 MiB, a .mod and a .info.
func BenchmarkServe(b *testing.B) {
	e := newBenchEnv(b)
	files := []struct{ name, path string }{
		{"zip-1MiB", "/example.com/big1/@v/v1.0.0.zip"},
		{"zip-10MiB", "/example.com/big10/@v/v1.0.0.zip"},
		{"mod", "/example.com/big1/@v/v1.0.0.mod"},
		{"info", "/example.com/big1/@v/v1.0.0.info"},
	}
	fs := httptest.NewServer(http.FileServer(http.Dir(e.cacheDir)))
	defer fs.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	fetch := func(b *testing.B, url string) int64 {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%s: %d %v", url, resp.StatusCode, err)
		}
		return n
	}
	// Fill the cache, then warm both servers and collect the setup's
	// garbage, so that neither side pays for what ran before it.
	for _, f := range files {
		fetch(b, e.mirrorURL+f.path)
	}
	for range 20 {
		for _, f := range files {
			fetch(b, e.mirrorURL+f.path)
			fetch(b, fs.URL+f.path)
		}
	}
	runtime.GC()
	for _, f := range files {
		size := fetch(b, e.mirrorURL+f.path)
		for _, impl := range []struct{ name, base string }{{"goproxy", e.mirrorURL}, {"fileserver", fs.URL}} {
			b.Run(fmt.Sprintf("file=%s/impl=%s", f.name, impl.name), func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					fetch(b, impl.base+f.path)
				}
			})
		}
	}
}

// BenchmarkFirstDownload measures the first download of a new version
// through the mirror (part=mirror): upstream fetch (file://-backed HTTP),
// the checksum database's lookup (which logs it in our database: fetch,
// zip check, synced append on memstore), verification and caching;
// p50/p99. To show what dominates, part=sumdb-lookup is the database's
// lookup of a new version alone and part=upstream the zip fetch alone;
// the rest of part=mirror is the mirror's own work (the authenticated
// lookup's tile reads, hashing the zip, writing and syncing the cache).
func BenchmarkFirstDownload(b *testing.B) {
	e := newBenchEnv(b)
	n := 0
	for _, part := range []string{"mirror", "sumdb-lookup", "upstream"} {
		b.Run("part="+part, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				n++
				m := module.Version{Path: fmt.Sprintf("example.com/new%d", n), Version: "v1.0.0"}
				b.StopTimer()
				sumdbtest.WriteModule(b, e.proxyDir, m, map[string]string{"x.go": "package x\n"})
				url := e.mirrorURL + "/" + m.Path + "/@v/v1.0.0.zip"
				switch part {
				case "sumdb-lookup":
					url = e.sumdbURL + "/lookup/" + m.String()
				case "upstream":
					url = e.upstream.URL + "/" + m.Path + "/@v/v1.0.0.zip"
				}
				b.StartTimer()
				t0 := time.Now()
				resp, err := http.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatal(url, resp.Status)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

func newBenchEnv(b *testing.B) *env {
	b.Helper()
	e := newEnv(b, "")
	for _, big := range []struct {
		path string
		n    int
	}{{"example.com/big1", 1 << 20}, {"example.com/big10", 10 << 20}} {
		raw := make([]byte, big.n)
		rand.Read(raw)
		sumdbtest.WriteModule(b, e.proxyDir, module.Version{Path: big.path, Version: "v1.0.0"}, map[string]string{"data.txt": base64.StdEncoding.EncodeToString(raw)})
	}
	return e
}
