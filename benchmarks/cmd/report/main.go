// Command report runs tlogkit's side-by-side benchmarks against
// golang.org/x/mod/sumdb and prints a markdown table: operation, tlogkit's
// median time, x/mod's, the speed-up, allocations and tlogkit's own metrics
// (records/s and the like), under a line naming the machine.
//
// Usage:
//
//	go run ./benchmarks/cmd/report [-count 5] [-benchtime 1s] [-bench regexp] [-in file]
//
// With -in it reads saved `go test -bench` output instead of running the
// benchmarks. Benchmarks are paired by name: a sub-benchmark element
// impl=tlogkit or impl=xmod marks the implementation; a benchmark with no
// impl element counts as tlogkit's.
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
	pkgs := fs.String("pkgs", "./benchmarks", "space-separated packages to benchmark")
	in := fs.String("in", "", "read saved go test -bench output from this file instead of running")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *count < 1 || *count > 100 {
		return fmt.Errorf("-count must be between 1 and 100")
	}
	var output []byte
	if *in != "" {
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
	}
	r, err := parseOutput(bytes.NewReader(output))
	if err != nil {
		return err
	}
	if len(r.results) == 0 {
		return fmt.Errorf("no benchmark results found")
	}
	writeTable(stdout, r, buildRows(r), machineLine(r))
	return nil
}

// machineLine names the CPU, the cores and the Go version.
func machineLine(r *run) string {
	cpu := r.cpu
	if cpu == "" {
		cpu = "unknown CPU"
	}
	osArch := r.goos + "/" + r.goarch
	if r.goos == "" {
		osArch = runtime.GOOS + "/" + runtime.GOARCH
	}
	return fmt.Sprintf("Machine: %s, %d cores, %s, %s.", cpu, runtime.NumCPU(), osArch, runtime.Version())
}
