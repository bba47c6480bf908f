package main

import (
	"bufio"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
)

// A result is one line of `go test -bench` output.
type result struct {
	pkg    string // the last element of the package's import path
	name   string // the benchmark name as printed, with any -GOMAXPROCS suffix
	key    string // name without the impl= element and the -GOMAXPROCS suffix
	impl   string // the value of the impl= element, or "" if none
	procs  int    // GOMAXPROCS of the line (1 when go test printed no suffix)
	values map[string]float64
}

// A run is everything parsed from one `go test -bench` output.
type run struct {
	cpu    string
	goos   string
	goarch string
	// goVersion is from a "go version go1.N linux/amd64" line, if any
	// (the report command prints one before the benchmarks it runs).
	goVersion string
	results   []result
	procs     []int // the distinct GOMAXPROCS values of the results, sorted
	pkgs      int   // the number of distinct packages
}

// parseOutput reads `go test -bench` output. Lines that are not benchmark
// results are ignored, apart from the cpu:, goos: and goarch: headers.
// procs is the GOMAXPROCS the benchmarks ran with if known, else 0 (then
// it is inferred from the names, see splitProcs).
func parseOutput(r io.Reader, procs int) (*run, error) {
	out := &run{}
	pkg := ""
	pkgs := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "cpu: "):
			out.cpu = strings.TrimSpace(strings.TrimPrefix(line, "cpu: "))
			continue
		case strings.HasPrefix(line, "goos: "):
			out.goos = strings.TrimSpace(strings.TrimPrefix(line, "goos: "))
			continue
		case strings.HasPrefix(line, "pkg: "):
			pkg = path.Base(strings.TrimSpace(strings.TrimPrefix(line, "pkg: ")))
			continue
		case strings.HasPrefix(line, "go version "):
			if f := strings.Fields(line); len(f) >= 3 {
				out.goVersion = f[2]
			}
			continue
		case strings.HasPrefix(line, "goarch: "):
			out.goarch = strings.TrimSpace(strings.TrimPrefix(line, "goarch: "))
			continue
		}
		if res, ok := parseLine(line); ok {
			res.pkg = pkg
			pkgs[pkg] = true
			out.results = append(out.results, res)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out.pkgs = len(pkgs)
	splitProcs(out.results, procs)
	seen := map[int]bool{}
	for i := range out.results {
		res := &out.results[i]
		res.key, res.impl = splitImpl(res.key)
		if !seen[res.procs] {
			seen[res.procs] = true
			out.procs = append(out.procs, res.procs)
		}
	}
	sort.Ints(out.procs)
	return out, nil
}

// parseLine parses one benchmark result line:
//
//	BenchmarkNodeHash/impl=xmod-2  1000000  152.0 ns/op  0 B/op  0 allocs/op
func parseLine(line string) (result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return result{}, false
	}
	if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
		return result{}, false
	}
	res := result{name: f[0], key: f[0], procs: 1, values: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return result{}, false
		}
		res.values[f[i+1]] = v
	}
	return res, true
}

// procsSuffix returns the number after the last '-' of name, if any.
func procsSuffix(name string) (int, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return 0, false
	}
	p, err := strconv.Atoi(name[i+1:])
	if err != nil || p <= 1 || name[i+1] == '0' || name[i+1] == '+' {
		return 0, false
	}
	return p, true
}

// splitProcs removes the -GOMAXPROCS suffix from the results' keys and
// sets their procs. go test adds "-P" to a name when GOMAXPROCS P is not 1,
// but a name of its own may also end in "-digits" (say "delta=-5"). With
// procs known (> 0) only "-procs" is removed. Otherwise a value P counts as
// a GOMAXPROCS if it ends a fair share of the distinct names: with k
// candidate values (go test -cpu 1,2,4 runs every benchmark once per
// value), at least 1/(k+1) of them.
func splitProcs(results []result, procs int) {
	names := map[string]bool{}
	withP := map[int]map[string]bool{}
	for _, res := range results {
		names[res.name] = true
		if p, ok := procsSuffix(res.name); ok {
			if withP[p] == nil {
				withP[p] = map[string]bool{}
			}
			withP[p][res.name] = true
		}
	}
	isProcs := func(p int) bool {
		if procs > 0 {
			return p == procs
		}
		return len(withP[p])*(len(withP)+1) >= len(names)
	}
	for i := range results {
		res := &results[i]
		if p, ok := procsSuffix(res.name); ok && isProcs(p) {
			res.key = res.name[:strings.LastIndexByte(res.name, '-')]
			res.procs = p
		}
	}
}

// splitImpl removes the impl= element from a benchmark name.
func splitImpl(name string) (key, impl string) {
	parts := strings.Split(name, "/")
	kept := parts[:0]
	for _, p := range parts {
		if v, ok := strings.CutPrefix(p, "impl="); ok {
			impl = v
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "/"), impl
}

// median returns the median of xs (the mean of the middle two for an even
// count); xs is sorted in place.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}
