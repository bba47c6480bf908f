// Command mirror keeps a verified, current local copy of a whole Go
// checksum database (or any log of the sumdb or c2sp.org/tlog-tiles tile
// layout) and serves it with the origin's own signed tree heads.
//
//	go run ./examples/mirror -origin https://sum.golang.org \
//	    -vkey sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8 \
//	    -dir /var/lib/sumdb-mirror -listen 127.0.0.1:8080
//
// Then GOSUMDB="<the origin's vkey> http://127.0.0.1:8080" makes the go
// command verify everything with the origin's key and never contact the
// origin. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/tlogkit/tlogkit/mirror"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/sumdbclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr, nil))
}

// run runs the mirror until ctx ends; ready, if set, gets the listening
// address.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) int {
	fs := flag.NewFlagSet("mirror", flag.ContinueOnError)
	fs.SetOutput(stderr)
	origin := fs.String("origin", "", "`URL` (or directory) of the origin log; required")
	vkey := fs.String("vkey", "", "the origin's note verifier `key`; required")
	originLine := fs.String("origin-line", "", "first line of the origin's checkpoints (default: go.sum database tree)")
	c2sp := fs.Bool("c2sp", false, "the origin speaks c2sp.org/tlog-tiles (/checkpoint, /tile/L/N, /tile/entries/N)")
	dir := fs.String("dir", "", "`directory` of the pebble store; required")
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to serve the mirror on (empty: do not serve)")
	poll := fs.Duration("poll", time.Minute, "interval between two polls of the origin")
	once := fs.Bool("once", false, "sync once and exit (no serving)")
	checkTiles := fs.Bool("check-hash-tiles", false, "also fetch the origin's level-0 hash tiles and check them against the records")
	concurrency := fs.Int("concurrency", 8, "requests in flight to the origin")
	limit := fs.Int64("limit", 0, "import only the first `N` records of the origin's tree (a sample, or a measurement; a larger tree is then stored up to N but not served); 0: all")
	clearHalt := fs.Bool("clear-halt", false, "remove a stored halt report (after investigating it) and follow again")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to `file`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *origin == "" || *vkey == "" || *dir == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "mirror: -origin, -vkey and -dir are required")
		return 2
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "mirror:", err)
			return 1
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	src, err := sumdbclient.NewSource(*origin)
	if err != nil {
		fmt.Fprintln(stderr, "mirror:", err)
		return 1
	}
	st, err := pebblestore.Open(*dir, nil)
	if err != nil {
		fmt.Fprintln(stderr, "mirror:", err)
		return 1
	}
	m, err := mirror.Open(ctx, st, mirror.Options{
		Source: src, VerifierKey: *vkey, Origin: *originLine, C2SP: *c2sp,
		Concurrency: *concurrency, Poll: *poll, CheckHashTiles: *checkTiles, Limit: *limit, Progress: stderr, Logger: logger,
	})
	if err != nil {
		fmt.Fprintln(stderr, "mirror:", err)
		return 1
	}
	defer m.Close()
	if *clearHalt {
		if err := m.ClearHalt(ctx); err != nil {
			fmt.Fprintln(stderr, "mirror:", err)
			return 1
		}
	}
	if err := m.Halted(); err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "mirror: serving the last good tree; not following (see -clear-halt)")
	}
	if *once {
		t0 := time.Now()
		tree, err := m.Sync(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "mirror:", err)
			return 1
		}
		if *limit > 0 && m.Stored() > tree.N {
			fmt.Fprintf(stderr, "mirror: stored the first %d records (-limit) after %v; serving the tree of %d\n", m.Stored(), time.Since(t0).Round(time.Millisecond), tree.N)
			return 0
		}
		fmt.Fprintf(stderr, "mirror: in sync at %d records after %v\n", tree.N, time.Since(t0).Round(time.Millisecond))
		return 0
	}
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			fmt.Fprintln(stderr, "mirror:", err)
			return 1
		}
		srv := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		logger.Info("mirror: serving", "addr", ln.Addr().String())
		if ready != nil {
			ready <- ln.Addr().String()
		}
	}
	if err := m.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "mirror: stopped following; serving the last good tree")
		<-ctx.Done()
	}
	return 0
}
