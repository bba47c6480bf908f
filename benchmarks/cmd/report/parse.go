package main

import (
	"bufio"
	"io"
	"sort"
	"strconv"
	"strings"
)

// A result is one line of `go test -bench` output.
type result struct {
	key    string // benchmark name without the impl= element and -GOMAXPROCS suffix
	impl   string // the value of the impl= element, or "" if none
	values map[string]float64
}

// A run is everything parsed from one `go test -bench` output.
type run struct {
	cpu     string
	goos    string
	goarch  string
	results []result
}

// parseOutput reads `go test -bench` output. Lines that are not benchmark
// results are ignored, apart from the cpu:, goos: and goarch: headers.
func parseOutput(r io.Reader) (*run, error) {
	out := &run{}
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
		case strings.HasPrefix(line, "goarch: "):
			out.goarch = strings.TrimSpace(strings.TrimPrefix(line, "goarch: "))
			continue
		}
		if res, ok := parseLine(line); ok {
			out.results = append(out.results, res)
		}
	}
	return out, sc.Err()
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
	name := f[0]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	var impl string
	parts := strings.Split(name, "/")
	kept := parts[:0]
	for _, p := range parts {
		if v, ok := strings.CutPrefix(p, "impl="); ok {
			impl = v
			continue
		}
		kept = append(kept, p)
	}
	res := result{key: strings.Join(kept, "/"), impl: impl, values: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return result{}, false
		}
		res.values[f[i+1]] = v
	}
	return res, true
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
