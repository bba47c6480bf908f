// Command report runs tlogkit's side-by-side benchmarks against
// golang.org/x/mod/sumdb and prints a markdown table: operation, tlogkit's
// median time, x/mod's, the speed-up, allocations and tlogkit's own metrics
// (records/s and the like), under a line naming the machine.
//
// Usage:
//
//	go run ./benchmarks/cmd/report [-count 5] [-benchtime 1s] [-bench regexp] [-pkgs "./benchmarks ./note ./goproxy"] [-in file [-procs N]]
//
// With -in it reads saved `go test -bench` output instead of running the
// benchmarks. Benchmarks are paired by name: the sub-benchmark element
// impl=xmod marks x/mod's result (impl=fileserver that of net/http's
// FileServer, the module mirror's reference); impl=tlogkit, or no impl element, marks
// tlogkit's; any other impl value (impl=tlogkit-warm, impl=memory, ...) is
// a further tlogkit configuration and gets a row of its own, beside the
// same x/mod result. An x/mod result whose name differs from tlogkit's in
// exactly one element (cache=memory against cache=warm) is paired too, and
// the x/mod cell names that element.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

func main() {
	if err := run1(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run1(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 5, "repetitions of each benchmark")
	benchtime := fs.String("benchtime", "1s", "go test -benchtime")
	bench := fs.String("bench", ".", "go test -bench regexp")
	pkgs := fs.String("pkgs", "./benchmarks ./note ./goproxy", "space-separated packages to benchmark")
	in := fs.String("in", "", "read saved go test -bench output from this file instead of running")
	procs := fs.Int("procs", 0, "with -in: the GOMAXPROCS the saved benchmarks ran with (default: inferred from the names)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *count < 1 || *count > 100 {
		return fmt.Errorf("-count must be between 1 and 100")
	}
	var output []byte
	live := *in == ""
	if !live {
		b, err := os.ReadFile(*in)
		if err != nil {
			return err
		}
		output = b
	} else {
		cmdArgs := []string{"test", "-run", "^$", "-bench", *bench, "-benchmem",
			"-count", fmt.Sprint(*count), "-benchtime", *benchtime}
		cmdArgs = append(cmdArgs, strings.Fields(*pkgs)...)
		cmd := exec.Command("go", cmdArgs...)
		var buf bytes.Buffer
		cmd.Stdout = io.MultiWriter(&buf, stderr)
		cmd.Stderr = stderr
		fmt.Fprintf(stderr, "report: go %s\n", strings.Join(cmdArgs, " "))
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go test: %w", err)
		}
		output = buf.Bytes()
		*procs = runtime.GOMAXPROCS(0) // go test inherits GOMAXPROCS from the environment
	}
	r, err := parseOutput(bytes.NewReader(output), *procs)
	if err != nil {
		return err
	}
	if len(r.results) == 0 {
		return fmt.Errorf("no benchmark results found")
	}
	writeTable(stdout, r, buildRows(r), machineLine(r, live))
	return nil
}

// machineLine names the CPU, the cores and the Go version: those of this
// machine when the benchmarks ran here (live), else what the saved output
// tells (its cpu: line, the GOMAXPROCS of its names, a "go version" line).
func machineLine(r *run, live bool) string {
	cpu := r.cpu
	if cpu == "" {
		cpu = "unknown CPU"
	}
	osArch := r.goos + "/" + r.goarch
	if r.goos == "" {
		osArch = "unknown OS"
		if live {
			osArch = runtime.GOOS + "/" + runtime.GOARCH
		}
	}
	procs := make([]string, len(r.procs))
	for i, p := range r.procs {
		procs[i] = fmt.Sprint(p)
	}
	gomaxprocs := "GOMAXPROCS " + strings.Join(procs, ",")
	if live {
		return fmt.Sprintf("Machine: %s, %d cores (%s), %s, %s.", cpu, runtime.NumCPU(), gomaxprocs, osArch, runtime.Version())
	}
	goVersion := r.goVersion
	if goVersion == "" {
		goVersion = "Go version not recorded"
	}
	return fmt.Sprintf("Machine: %s, %s, %s, %s.", cpu, gomaxprocs, osArch, goVersion)
}
