// Command goproxy runs a verifying Go module mirror (package goproxy): the
// GOPROXY protocol from a disk cache filled from an upstream proxy, every
// .mod and .zip checked against a checksum database before it is cached
// or served, the checksum database proxied under /sumdb/<name>/, and a
// module index at /index.
//
// Usage:
//
//	go run ./examples/goproxy -sumdb "<verifier key> <URL>" [-upstream URL] [-cache ./goproxy-cache] [-listen 127.0.0.1:8082] [-private patterns]
//
// -sumdb is a GOSUMDB value with its URL, such as the lines examples/sumdb
// prints. Point the go command at it with GOPROXY=http://127.0.0.1:8082
// and GOSUMDB=<verifier key> (no URL: the go command then reaches the
// database through the mirror).
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
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tlogkit/tlogkit/goproxy"
	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/ops"
	"github.com/tlogkit/tlogkit/sumdbclient"
	"github.com/tlogkit/tlogkit/sumdbserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "goproxy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("goproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sumdb := fs.String("sumdb", "", "the checksum database as `\"<verifier key> <URL>\"` (required)")
	upstream := fs.String("upstream", sumdbserver.UpstreamFromGOPROXY(os.Getenv("GOPROXY")), "module proxy `URL` to fill the cache from (https:// or file://)")
	cache := fs.String("cache", "goproxy-cache", "cache `directory` (modules, index, checksum database state)")
	listen := fs.String("listen", "127.0.0.1:8082", "`address` to listen on")
	private := fs.String("private", "", "GOPRIVATE-style `patterns` passed through unverified")
	ttl := fs.Duration("list-ttl", time.Minute, "how long a version list or @latest answer is served before it is refreshed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	vkey, dbURL, ok := strings.Cut(strings.TrimSpace(*sumdb), " ")
	if !ok || fs.NArg() != 0 {
		fs.Usage()
		return errors.New("-sumdb \"<verifier key> <URL>\" is required; no arguments")
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("-sumdb: %w", err)
	}
	src, err := sumdbclient.NewSource(dbURL)
	if err != nil {
		return fmt.Errorf("-sumdb: %w", err)
	}
	if err := os.MkdirAll(*cache, 0o755); err != nil {
		return err
	}
	client, err := sumdbclient.New(sumdbclient.Options{Source: src, VerifierKey: vkey, StateDir: filepath.Join(*cache, "sumdb-state")})
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := goproxy.NewServer(goproxy.Config{
		Upstream: *upstream, CacheDir: *cache, SumDB: client, Private: *private, ListTTL: *ttl,
		SumDBs: map[string]string{v.Name(): dbURL}, Logger: logger,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.Handle("/healthz", ops.Healthz())
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "export GOPROXY=http://%s GOSUMDB=%q\n", ln.Addr(), vkey)
	logger.Info("serving", "addr", ln.Addr().String(), "upstream", *upstream, "sumdb", dbURL)
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}
