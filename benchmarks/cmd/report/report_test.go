package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/tlogkit/tlogkit/benchmarks
cpu: AMD EPYC 7B13
BenchmarkNodeHash/impl=tlogkit-2   	10000000	       90.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkNodeHash/impl=tlogkit-2   	10000000	      100.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkNodeHash/impl=tlogkit-2   	10000000	       80.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkNodeHash/impl=xmod-2      	 5000000	      150.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkNodeHash/impl=xmod-2      	 5000000	      160.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkNodeHash/impl=xmod-2      	 5000000	      140.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkAppend/impl=tlogkit/n=1000000-2 	       1	 300000000 ns/op	 3333333 records/s	 100 B/op	 3 allocs/op
BenchmarkAppend/impl=xmod/n=1000000-2    	       1	 700000000 ns/op	 1000 B/op	 30 allocs/op
BenchmarkOnlyOurs-2 	 100	 1000 ns/op
PASS
ok  	github.com/tlogkit/tlogkit/benchmarks	12.3s
`

func TestReport(t *testing.T) {
	r, err := parseOutput(strings.NewReader(sample), 0)
	require.NoError(t, err)
	require.Equal(t, "AMD EPYC 7B13", r.cpu)
	require.Len(t, r.results, 9)
	rows := buildRows(r)
	require.Len(t, rows, 3)

	require.Equal(t, "BenchmarkNodeHash", rows[0].key)
	require.Equal(t, 90.0, rows[0].oursNs)
	require.Equal(t, 150.0, rows[0].refNs)

	require.Equal(t, "BenchmarkAppend/n=1000000", rows[1].key)
	require.Equal(t, []string{"3.33M records/s"}, rows[1].extra)
	require.False(t, rows[2].hasRef)

	var buf bytes.Buffer
	writeTable(&buf, r, rows, "Machine: test.")
	out := buf.String()
	require.Contains(t, out, "| NodeHash | 90 ns | 150 ns | 1.67× | 0 / 0 |")
	require.Contains(t, out, "| Append/n=1000000 | 300 ms | 700 ms | 2.33× | 3 / 30 | 3.33M records/s |")
	require.Contains(t, out, "| OnlyOurs | 1 µs | — | — | — |")
}

// Variants of tlogkit get rows of their own, each beside x/mod; an x/mod
// result named differently in one element is paired; one with no partner
// is shown alone.
const variants = `cpu: Test CPU
BenchmarkProve/size=100/impl=memory-2 	100	 1000 ns/op	 0 B/op	 0 allocs/op
BenchmarkProve/size=100/impl=tlogkit-warm-2 	100	 2000 ns/op	 0 B/op	 1 allocs/op
BenchmarkProve/size=100/impl=tlogkit-cold-2 	100	 8000 ns/op	 0 B/op	 9 allocs/op
BenchmarkProve/size=100/impl=xmod-2 	100	 4000 ns/op	 0 B/op	 14 allocs/op
BenchmarkStore/n=5/impl=tlogkit-pebble/cache=warm-2 	100	 500 ns/op	 7 disk-B/record
BenchmarkStore/n=5/impl=xmod/cache=memory-2 	100	 1000 ns/op
BenchmarkLonely/impl=xmod-2 	100	 3000 ns/op	 0 B/op	 2 allocs/op
`

func TestReportVariants(t *testing.T) {
	r, err := parseOutput(strings.NewReader(variants), 0)
	require.NoError(t, err)
	require.Equal(t, []int{2}, r.procs)
	var buf bytes.Buffer
	writeTable(&buf, r, buildRows(r), "Machine: test.")
	out := buf.String()
	require.Contains(t, out, "| Prove/size=100 [memory] | 1 µs | 4 µs | 4.00× | 0 / 14 |")
	require.Contains(t, out, "| Prove/size=100 [tlogkit-warm] | 2 µs | 4 µs | 2.00× | 1 / 14 |")
	require.Contains(t, out, "| Prove/size=100 [tlogkit-cold] | 8 µs | 4 µs | 0.50× | 9 / 14 |")
	require.Contains(t, out, "| Store/n=5/cache=warm [tlogkit-pebble] | 500 ns | 1 µs (cache=memory) | 2.00× | — / — | 7 disk-B/record |")
	require.Contains(t, out, "| Lonely | — | 3 µs | — | — / 2 |")
	require.Equal(t, 5, strings.Count(out, "\n| ")-1, out) // header + 5 rows
}

func TestPackages(t *testing.T) {
	in := "pkg: example.com/m/benchmarks\nBenchmarkX/impl=tlogkit-2 10 1 ns/op\nBenchmarkX/impl=xmod-2 10 2 ns/op\n" +
		"pkg: example.com/m/note\nBenchmarkX/impl=tlogkit-2 10 3 ns/op\nBenchmarkX/impl=xmod-2 10 9 ns/op\n"
	r, err := parseOutput(strings.NewReader(in), 0)
	require.NoError(t, err)
	var buf bytes.Buffer
	writeTable(&buf, r, buildRows(r), "Machine: test.")
	require.Contains(t, buf.String(), "| benchmarks: X | 1 ns | 2 ns | 2.00× |")
	require.Contains(t, buf.String(), "| note: X | 3 ns | 9 ns | 3.00× |")
}

func TestProcsSuffix(t *testing.T) {
	// go test -cpu 1: no suffixes; a name that ends in -digits keeps them.
	one := "BenchmarkA/delta=-5 10 1 ns/op\nBenchmarkB 10 1 ns/op\nBenchmarkC 10 1 ns/op\n"
	r, err := parseOutput(strings.NewReader(one), 0)
	require.NoError(t, err)
	require.Equal(t, "BenchmarkA/delta=-5", r.results[0].key)
	require.Equal(t, []int{1}, r.procs)
	// Told the GOMAXPROCS, only that suffix goes.
	r, err = parseOutput(strings.NewReader("BenchmarkA/delta=-5-4 10 1 ns/op\nBenchmarkB-4 10 1 ns/op\n"), 4)
	require.NoError(t, err)
	require.Equal(t, "BenchmarkA/delta=-5", r.results[0].key)
	require.Equal(t, "BenchmarkB", r.results[1].key)
	// go test -cpu 1,2,4: every benchmark three times.
	multi := "BenchmarkA 10 1 ns/op\nBenchmarkA-2 10 2 ns/op\nBenchmarkA-4 10 3 ns/op\n" +
		"BenchmarkB 10 1 ns/op\nBenchmarkB-2 10 2 ns/op\nBenchmarkB-4 10 3 ns/op\n"
	r, err = parseOutput(strings.NewReader(multi), 0)
	require.NoError(t, err)
	require.Equal(t, []int{1, 2, 4}, r.procs)
	rows := buildRows(r)
	require.Len(t, rows, 6)
	var buf bytes.Buffer
	writeTable(&buf, r, rows, "Machine: test.")
	require.Contains(t, buf.String(), "| A (GOMAXPROCS=4) | 3 ns |")
}

func TestParseLineRejectsNoise(t *testing.T) {
	for _, line := range []string{
		"", "PASS", "BenchmarkX", "BenchmarkX-2 abc 1 ns/op", "BenchmarkX-2 10 1 ns/op extra",
		"ok  	pkg	1.0s", "--- FAIL: BenchmarkX",
	} {
		_, ok := parseLine(line)
		require.False(t, ok, "%q", line)
	}
}

func TestMedian(t *testing.T) {
	require.Equal(t, 0.0, median(nil))
	require.Equal(t, 2.0, median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
}

func TestRunFromFile(t *testing.T) {
	f := t.TempDir() + "/bench.txt"
	require.NoError(t, writeFile(f, sample))
	var out, errb bytes.Buffer
	require.NoError(t, run1([]string{"-in", f}, &out, &errb))
	require.Contains(t, out.String(), "Machine: AMD EPYC 7B13, GOMAXPROCS 2, linux/amd64, Go version not recorded.")
	require.Error(t, run1([]string{"-in", f, "-count", "0"}, &out, &errb))

	empty := t.TempDir() + "/empty.txt"
	require.NoError(t, writeFile(empty, "PASS\n"))
	require.ErrorContains(t, run1([]string{"-in", empty}, &out, &errb), "no benchmark results")
}

// The module mirror's benchmarks name net/http's FileServer as their
// reference; the table pairs them and names it.
const fileserver = `cpu: Test CPU
BenchmarkServe/file=mod/impl=goproxy-2 	100	 40000 ns/op	 0 B/op	 10 allocs/op
BenchmarkServe/file=mod/impl=fileserver-2 	100	 80000 ns/op	 0 B/op	 20 allocs/op
BenchmarkServe/file=info/impl=goproxy-2 	100	 50000 ns/op	 0 B/op	 10 allocs/op
BenchmarkServe/file=info/impl=fileserver-2 	100	 75000 ns/op	 0 B/op	 20 allocs/op
BenchmarkFirstDownload-2 	100	 5000000 ns/op	 5100 p50-µs	 8000 p99-µs
`

func TestReportFileServer(t *testing.T) {
	r, err := parseOutput(strings.NewReader(fileserver), 0)
	require.NoError(t, err)
	rows := buildRows(r)
	require.Len(t, rows, 3)
	var buf bytes.Buffer
	writeTable(&buf, r, rows, "Machine: test.")
	out := buf.String()
	require.Contains(t, out, "| Serve/file=mod [goproxy] | 40 µs | 80 µs (http.FileServer) | 2.00× | 10 / 20 |")
	require.Contains(t, out, "| Serve/file=info [goproxy] | 50 µs | 75 µs (http.FileServer) | 1.50× | 10 / 20 |")
	require.Contains(t, out, "| FirstDownload | 5 ms | — | — | — | 5.1k p50-µs, 8k p99-µs |")
}
