// Command mirrororigin builds (once) and serves a checksum database of n
// generated records on a pebble store, as the origin for measuring
// examples/mirror on loopback.
//
//	go run ./benchmarks/cmd/mirrororigin -dir /tmp/origin -n 1e7 -listen 127.0.0.1:8090
//
// It writes the verifier key to <dir>/vkey (and keeps the signer key in
// <dir>/skey, so a second run serves the same log) and serves the sumdb
// tile protocol until interrupted. Records are appended unkeyed in batches
// (the origin need not answer lookups for a mirror to import it).
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/sumdbserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "mirrororigin:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	dir := flag.String("dir", "", "`directory` of the origin (store, skey, vkey); required")
	n := flag.Float64("n", 1e6, "number of `records`")
	listen := flag.String("listen", "127.0.0.1:8090", "`address` to serve on")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the serving (until interrupted) to `file`")
	flag.Parse()
	if *dir == "" {
		return errors.New("-dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	skey, err := os.ReadFile(filepath.Join(*dir, "skey"))
	if errors.Is(err, os.ErrNotExist) {
		s, v, err := note.GenerateKey(rand.Reader, "origin.example")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*dir, "skey"), []byte(s), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*dir, "vkey"), []byte(v), 0o644); err != nil {
			return err
		}
		skey = []byte(s)
	} else if err != nil {
		return err
	}
	vkey, err := os.ReadFile(filepath.Join(*dir, "vkey"))
	if err != nil {
		return err
	}
	signer, err := note.NewSigner(string(skey))
	if err != nil {
		return err
	}
	verifier, err := note.NewVerifier(string(vkey))
	if err != nil {
		return err
	}
	st, err := pebblestore.Open(filepath.Join(*dir, "store"), nil)
	if err != nil {
		return err
	}
	l, err := storage.Open(ctx, st, storage.Options{Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true, PipelineDepth: 4})
	if err != nil {
		return err
	}
	defer l.Close()
	_, tree := l.Checkpoint()
	total := int64(*n)
	t0 := time.Now()
	var futures []storage.Future
	for i := tree.N; i < total; {
		k := min(total-i, 1<<14)
		entries := make([]storage.Entry, k)
		for j := range entries {
			entries[j].Record = record(i + int64(j))
		}
		futures = l.AppendBatch(ctx, entries, futures[:0])
		for _, f := range futures {
			if _, _, err := f.Wait(ctx); err != nil {
				return err
			}
		}
		i += k
		if i%(1<<20) < k {
			fmt.Fprintf(os.Stderr, "built %d records, %.0f records/s\n", i, float64(i-tree.N)/time.Since(t0).Seconds())
		}
	}
	_, tree = l.Checkpoint()
	fmt.Fprintf(os.Stderr, "origin: %d records, vkey %s, serving on http://%s\n", tree.N, vkey, *listen)
	s, err := sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.StorageLog(l)})
	if err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	srv := &http.Server{Addr: *listen, Handler: s}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// record returns the go.sum lines of version v1.<i%4>.0 of a module
// whose path is derived from a hash of i/4, so that, as in a real
// checksum database, the order of the log says nothing about the order of
// the module paths (which a key index is sorted by).
func record(i int64) []byte {
	m := sha256.Sum256([]byte("module " + strconv.FormatInt(i/4, 10)))
	p, v := "example.com/"+hex.EncodeToString(m[:2])+"/m"+hex.EncodeToString(m[2:6]), "v1."+strconv.FormatInt(i%4, 10)+".0"
	h1 := sha256.Sum256([]byte("zip " + strconv.FormatInt(i, 10)))
	h2 := sha256.Sum256([]byte("mod " + strconv.FormatInt(i, 10)))
	return []byte(p + " " + v + " h1:" + base64.StdEncoding.EncodeToString(h1[:]) + "\n" +
		p + " " + v + "/go.mod h1:" + base64.StdEncoding.EncodeToString(h2[:]) + "\n")
}
