package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// ours and ref are the impl= values of tlogkit and of the reference.
const (
	ours = "tlogkit"
	ref  = "xmod"
)

// A row is one operation of the report.
type row struct {
	key          string
	oursNs       float64 // median ns/op, 0 if absent
	refNs        float64
	oursAllocs   float64 // median allocs/op, -1 if not reported
	refAllocs    float64
	hasOurs      bool
	hasRef       bool
	extra        []string // custom metrics of ours, e.g. "1.2e6 records/s"
	measurements int
}

// buildRows groups results by operation and takes medians.
func buildRows(r *run) []row {
	type acc struct {
		ns, allocs map[string][]float64
		metrics    map[string][]float64 // ours' custom metrics
		count      int
	}
	byKey := map[string]*acc{}
	var order []string
	for _, res := range r.results {
		impl := res.impl
		if impl == "" {
			impl = ours
		}
		a := byKey[res.key]
		if a == nil {
			a = &acc{ns: map[string][]float64{}, allocs: map[string][]float64{}, metrics: map[string][]float64{}}
			byKey[res.key] = a
			order = append(order, res.key)
		}
		a.count++
		if v, ok := res.values["ns/op"]; ok {
			a.ns[impl] = append(a.ns[impl], v)
		}
		if v, ok := res.values["allocs/op"]; ok {
			a.allocs[impl] = append(a.allocs[impl], v)
		}
		if impl == ours {
			for unit, v := range res.values {
				switch unit {
				case "ns/op", "B/op", "allocs/op", "MB/s":
					continue
				}
				a.metrics[unit] = append(a.metrics[unit], v)
			}
		}
	}
	rows := make([]row, 0, len(order))
	for _, k := range order {
		a := byKey[k]
		rw := row{key: k, measurements: a.count}
		if xs, ok := a.ns[ours]; ok {
			rw.hasOurs, rw.oursNs = true, median(xs)
			rw.oursAllocs = medianOrNone(a.allocs[ours])
		}
		if xs, ok := a.ns[ref]; ok {
			rw.hasRef, rw.refNs = true, median(xs)
			rw.refAllocs = medianOrNone(a.allocs[ref])
		}
		units := make([]string, 0, len(a.metrics))
		for u := range a.metrics {
			units = append(units, u)
		}
		sort.Strings(units)
		for _, u := range units {
			rw.extra = append(rw.extra, formatValue(median(a.metrics[u]))+" "+u)
		}
		rows = append(rows, rw)
	}
	return rows
}

// medianOrNone is median, or -1 for no values.
func medianOrNone(xs []float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	return median(xs)
}

// formatAllocs writes an allocation count, or a dash if none was reported.
func formatAllocs(v float64) string {
	if v < 0 {
		return "—"
	}
	return formatValue(v)
}

// formatValue writes a number with three significant digits.
func formatValue(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.3gG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// formatNs writes a duration given in nanoseconds in a readable unit.
func formatNs(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.3g s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	default:
		return fmt.Sprintf("%.3g ns", ns)
	}
}

// writeTable prints the markdown report.
func writeTable(w io.Writer, r *run, rows []row, machine string) {
	fmt.Fprintf(w, "%s\n\n", machine)
	fmt.Fprintln(w, "| operation | tlogkit | x/mod | speed-up | allocs/op (tlogkit / x/mod) | other metrics (tlogkit) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|")
	for _, rw := range rows {
		o, x, ratio, allocs := "—", "—", "—", "—"
		if rw.hasOurs {
			o = formatNs(rw.oursNs)
			allocs = formatAllocs(rw.oursAllocs)
		}
		if rw.hasRef {
			x = formatNs(rw.refNs)
			allocs += " / " + formatAllocs(rw.refAllocs)
		}
		if rw.hasOurs && rw.hasRef && rw.oursNs > 0 {
			ratio = fmt.Sprintf("%.2f×", rw.refNs/rw.oursNs)
		}
		name := strings.TrimPrefix(rw.key, "Benchmark")
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", name, o, x, ratio, allocs, strings.Join(rw.extra, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Times are medians of every repetition; speed-up is x/mod's median time over tlogkit's.")
}
