// Command witness runs a transparency log witness (c2sp.org/tlog-witness)
// for the logs named in a config file, with its state in a pebble store.
//
// Usage:
//
//	go run ./examples/witness -config witness.conf [-data ./witness-data] [-name witness.example/w1] [-listen 127.0.0.1:8081]
//
// The config file has one line per log key: "log <origin> <verifier key>".
// On first start the witness creates its cosigner key (<data>/skey, mode
// 0600) named -name; it prints its verifier key, which logs and clients
// configure, and serves POST /add-checkpoint.
package main

import (
	"context"
	"crypto/rand"
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

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/ops"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/witness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "witness:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("witness", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "`file` of the logs to witness: lines \"log <origin> <verifier key>\" (required)")
	data := fs.String("data", "witness-data", "`directory` of the cosigner key and the state (created on first start)")
	name := fs.String("name", "witness.example/w1", "`name` of a new cosigner key")
	listen := fs.String("listen", "127.0.0.1:8081", "`address` to serve add-checkpoint on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *config == "" || fs.NArg() != 0 {
		fs.Usage()
		return errors.New("-config is required; no arguments")
	}
	f, err := os.Open(*config)
	if err != nil {
		return err
	}
	logs, err := witness.ParseConfig(f)
	f.Close()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	cs, err := loadCosigner(filepath.Join(*data, "skey"), *name)
	if err != nil {
		return err
	}
	st, err := pebblestore.Open(filepath.Join(*data, "store"), nil)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	w, err := witness.New(cs, logs, st, logger)
	if err != nil {
		st.Close()
		return err
	}
	defer w.Close()
	vkey := cs.VerifierKey()
	mux := http.NewServeMux()
	mux.Handle("/add-checkpoint", w)
	mux.Handle("/healthz", ops.Healthz())
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "witness %s\nverifier key: %s\n", "http://"+ln.Addr().String(), vkey)
	logger.Info("serving", "addr", ln.Addr().String(), "logs", len(logs))
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

// loadCosigner reads the cosigner key in file, or creates one named name.
func loadCosigner(file, name string) (*note.Cosigner, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		skey, _, err := note.GenerateCosignerKey(rand.Reader, name)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(file, []byte(skey+"\n"), 0o600); err != nil {
			return nil, err
		}
		data = []byte(skey)
	} else if err != nil {
		return nil, err
	}
	return note.NewCosigner(strings.TrimSpace(string(data)), nil)
}
