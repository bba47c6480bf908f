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
	r, err := parseOutput(strings.NewReader(sample))
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
	require.Contains(t, out.String(), "AMD EPYC 7B13")
	require.Error(t, run1([]string{"-in", f, "-count", "0"}, &out, &errb))

	empty := t.TempDir() + "/empty.txt"
	require.NoError(t, writeFile(empty, "PASS\n"))
	require.ErrorContains(t, run1([]string{"-in", empty}, &out, &errb), "no benchmark results")
}
