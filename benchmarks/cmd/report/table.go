package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// refs are the impl= values of reference implementations, with the name
// the table gives them: x/mod for most benchmarks, net/http's FileServer
// for the module mirror's (package goproxy). Every other value is one of
// tlogkit's: "tlogkit" (or no impl element) its main implementation,
// anything else a variant ("tlogkit-warm", "memory", "goproxy", ...)
// reported on a row of its own.
var refs = map[string]string{
	"xmod":       "x/mod",
	"fileserver": "http.FileServer",
}

const xmod = "xmod"

func isRef(impl string) bool { _, ok := refs[impl]; return ok }

// A row is one operation of one tlogkit variant, with x/mod beside it.
type row struct {
	pkg        string
	key        string // benchmark name without impl= and GOMAXPROCS
	procs      int
	variant    string // "" for the main implementation
	refKey     string // the key x/mod's result came from, if not key
	refImpl    string // the reference's impl= value (xmod, fileserver)
	oursNs     float64
	refNs      float64
	oursAllocs float64 // median allocs/op, -1 if not reported
	refAllocs  float64
	hasOurs    bool
	hasRef     bool
	extra      []string // custom metrics of ours, e.g. "1.2M records/s"
}

// A series is every repetition of one benchmark of one implementation.
type series struct {
	ns, allocs []float64
	metrics    map[string][]float64
}

type seriesID struct {
	pkg   string
	key   string
	procs int
	impl  string // "" for tlogkit's main implementation, or a refs key
}

// buildRows groups results by operation and implementation, takes
// medians and pairs every tlogkit row with x/mod's result for the same
// operation. When x/mod has no result of exactly that name, it is paired
// with the only x/mod result whose name differs in one element (as in
// cache=warm against x/mod's cache=memory). x/mod results paired with no
// row get rows of their own.
func buildRows(r *run) []row {
	all := map[seriesID]*series{}
	var order []seriesID
	for _, res := range r.results {
		impl := res.impl
		if impl == "tlogkit" {
			impl = ""
		}
		id := seriesID{res.pkg, res.key, res.procs, impl}
		s := all[id]
		if s == nil {
			s = &series{metrics: map[string][]float64{}}
			all[id] = s
			order = append(order, id)
		}
		if v, ok := res.values["ns/op"]; ok {
			s.ns = append(s.ns, v)
		}
		if v, ok := res.values["allocs/op"]; ok {
			s.allocs = append(s.allocs, v)
		}
		for unit, v := range res.values {
			switch unit {
			case "ns/op", "B/op", "allocs/op", "MB/s":
				continue
			}
			s.metrics[unit] = append(s.metrics[unit], v)
		}
	}

	var refIDs []seriesID
	for _, id := range order {
		if isRef(id.impl) {
			refIDs = append(refIDs, id)
		}
	}
	used := map[seriesID]bool{}
	var rows []row
	for _, id := range order {
		if isRef(id.impl) {
			continue
		}
		s := all[id]
		rw := row{pkg: id.pkg, key: id.key, procs: id.procs, variant: id.impl, oursAllocs: -1, refAllocs: -1}
		if len(s.ns) > 0 {
			rw.hasOurs, rw.oursNs = true, median(s.ns)
			rw.oursAllocs = medianOrNone(s.allocs)
		}
		rw.extra = metricList(s.metrics)
		if rid, ok := pairRef(id, refIDs, all); ok {
			used[rid] = true
			rw.refImpl = rid.impl
			rs := all[rid]
			if len(rs.ns) > 0 {
				rw.hasRef, rw.refNs = true, median(rs.ns)
				rw.refAllocs = medianOrNone(rs.allocs)
			}
			if rid.key != id.key {
				rw.refKey = rid.key
			}
		}
		rows = append(rows, rw)
	}
	for _, rid := range refIDs {
		if used[rid] {
			continue
		}
		rs := all[rid]
		rw := row{pkg: rid.pkg, key: rid.key, procs: rid.procs, refImpl: rid.impl, oursAllocs: -1, refAllocs: -1}
		if len(rs.ns) > 0 {
			rw.hasRef, rw.refNs = true, median(rs.ns)
			rw.refAllocs = medianOrNone(rs.allocs)
		}
		rows = append(rows, rw)
	}
	return rows
}

// pairRef finds the reference's result for the operation of id.
func pairRef(id seriesID, refIDs []seriesID, all map[seriesID]*series) (seriesID, bool) {
	for _, rid := range refIDs {
		if rid.pkg == id.pkg && rid.key == id.key && rid.procs == id.procs {
			return rid, true
		}
	}
	var found []seriesID
	for _, rid := range refIDs {
		if rid.pkg == id.pkg && rid.procs == id.procs && differInOneElement(rid.key, id.key) {
			found = append(found, rid)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return seriesID{}, false
}

// differInOneElement reports whether two benchmark names of the same
// benchmark function differ in exactly one of their /-separated elements.
func differInOneElement(a, b string) bool {
	pa, pb := strings.Split(a, "/"), strings.Split(b, "/")
	if len(pa) != len(pb) || pa[0] != pb[0] {
		return false
	}
	diff := 0
	for i := range pa {
		if pa[i] != pb[i] {
			diff++
		}
	}
	return diff == 1
}

// metricList formats the medians of custom metrics, sorted by unit.
func metricList(m map[string][]float64) []string {
	units := make([]string, 0, len(m))
	for u := range m {
		units = append(units, u)
	}
	sort.Strings(units)
	var out []string
	for _, u := range units {
		out = append(out, formatValue(median(m[u]))+" "+u)
	}
	return out
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
	case v >= 1e3:
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

// rowName is the operation column: the name without "Benchmark", the
// variant in brackets, the package when the run had several, and GOMAXPROCS when the run had several.
func rowName(r *run, rw row) string {
	name := strings.TrimPrefix(rw.key, "Benchmark")
	if r.pkgs > 1 {
		name = rw.pkg + ": " + name
	}
	if rw.variant != "" {
		name += " [" + rw.variant + "]"
	}
	if len(r.procs) > 1 {
		name += fmt.Sprintf(" (GOMAXPROCS=%d)", rw.procs)
	}
	return name
}

// writeTable prints the markdown report.
func writeTable(w io.Writer, r *run, rows []row, machine string) {
	fmt.Fprintf(w, "%s\n\n", machine)
	fmt.Fprintln(w, "| operation | tlogkit | x/mod | speed-up | allocs/op (tlogkit / x/mod) | other metrics (tlogkit) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|")
	for _, rw := range rows {
		o, x, ratio := "—", "—", "—"
		if rw.hasOurs {
			o = formatNs(rw.oursNs)
		}
		if rw.hasRef {
			x = formatNs(rw.refNs)
			var notes []string
			if rw.refImpl != xmod {
				notes = append(notes, refs[rw.refImpl])
			}
			if rw.refKey != "" {
				notes = append(notes, differingElement(rw.refKey, rw.key))
			}
			if len(notes) > 0 {
				x += " (" + strings.Join(notes, ", ") + ")"
			}
		}
		if rw.hasOurs && rw.hasRef && rw.oursNs > 0 {
			ratio = fmt.Sprintf("%.2f×", rw.refNs/rw.oursNs)
		}
		allocs := formatAllocs(rw.oursAllocs)
		if rw.hasRef {
			allocs += " / " + formatAllocs(rw.refAllocs)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", rowName(r, rw), o, x, ratio, allocs, strings.Join(rw.extra, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Times are medians of every repetition; speed-up is x/mod's median time over tlogkit's")
	fmt.Fprintln(w, "(or that of the reference named in the x/mod column, such as http.FileServer for the module mirror).")
	fmt.Fprintln(w, "Rows with a [variant] are further tlogkit configurations measured beside the main one.")
}

// differingElement returns the element of refKey that differs from key.
func differingElement(refKey, key string) string {
	pa, pb := strings.Split(refKey, "/"), strings.Split(key, "/")
	for i := range pa {
		if i < len(pb) && pa[i] != pb[i] {
			return pa[i]
		}
	}
	return refKey
}
