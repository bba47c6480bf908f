// Command sumdb runs a Go checksum database: the protocol of sum.golang.org
// on a durable pebble store, filled on demand from an upstream module proxy.
//
// Usage:
//
//	go run ./examples/sumdb [-listen 127.0.0.1:8080] [-data ./sumdb-data]
//	                        [-name localhost.sumdb] [-upstream URL] [-private patterns]
//	                        [-public-url URL] [-log-level info] [-checkpoint-interval 1s]
//
// On first start it creates the data directory with a new signing key
// (<data>/skey, mode 0600) and the pebble store (<data>/store). Once
// listening it writes the verifier key to <data>/vkey and prints two lines
//
//	export GOSUMDB="localhost.sumdb+1a2b3c4d+A... http://127.0.0.1:8080"
//	# or, for every shell: go env -w GOSUMDB="localhost.sumdb+1a2b3c4d+A... http://127.0.0.1:8080"
//
// to paste into a shell, so that the go command checks every module it
// downloads against this database (the URL is -public-url when set). A
// lookup of a module version the database does not hold yet downloads it
// from -upstream (default: the first entry of $GOPROXY, else
// https://proxy.golang.org), computes its go.sum lines and logs them
// durably before answering.
//
// SIGINT or SIGTERM stops it cleanly. Started again on the same directory it
// continues the same log with the same key; it refuses a store that is
// behind the last checkpoint it published, which it keeps in
// -checkpoint-file (default <data>/checkpoint): written at start, within
// -checkpoint-interval of each new published checkpoint, and at shutdown.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tlogkit/tlogkit/goproxy"
	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/ops"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/pgstore"
	"github.com/tlogkit/tlogkit/sumdbclient"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/tlog"
	"github.com/tlogkit/tlogkit/witness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one kills the process at once.
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // -h: the usage was printed
		}
		fmt.Fprintln(os.Stderr, "sumdb:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	listen, data, name, upstream, private string
	publicURL, checkpointFile, metrics    string
	store, logName, writer, vkey, goproxy string
	c2sp, standby, readOnly               bool
	fetchTimeout, checkpointInterval      time.Duration
	lease, follow                         time.Duration
	logLevel                              slog.Level
	witnesses                             []witness.Remote
	cosignInterval                        time.Duration
}

const defaultName = "localhost.sumdb"

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("sumdb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "`address` to listen on (:0 picks a free port)")
	fs.StringVar(&c.data, "data", "sumdb-data", "`directory` holding the store and the signing key (created on first start)")
	fs.StringVar(&c.name, "name", "", "`name` of the log, which is its key's name (default "+defaultName+" for a new log, the stored key's name otherwise)")
	fs.StringVar(&c.upstream, "upstream", sumdbserver.UpstreamFromGOPROXY(os.Getenv("GOPROXY")),
		"module proxy `URL` (https:// or file://) to fetch new module versions from")
	fs.StringVar(&c.private, "private", "", "comma-separated module path `patterns` (GOPRIVATE syntax) never looked up upstream")
	fs.BoolVar(&c.c2sp, "c2sp", true, "also serve the C2SP tlog-tiles paths /checkpoint, /tile/L/N, /tile/entries/N")
	fs.DurationVar(&c.fetchTimeout, "fetch-timeout", 2*time.Minute, "time limit for fetching and logging one new module version")
	fs.StringVar(&c.publicURL, "public-url", "", "`URL` clients reach the server at, printed in the GOSUMDB line (default http://<listen address>, loopback for an unspecified host)")
	fs.StringVar(&c.checkpointFile, "checkpoint-file", "", "`file` keeping the last published checkpoint, to refuse a store rolled back behind it (default <data>/checkpoint; put it on another disk to guard against a restored data directory too)")
	fs.DurationVar(&c.checkpointInterval, "checkpoint-interval", time.Second, "how soon a new published checkpoint is saved to -checkpoint-file")
	fs.StringVar(&c.metrics, "metrics", "127.0.0.1:9090", "`address` serving Prometheus metrics at /metrics (off: none)")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log `level`: debug (also every rejected request), info (every upstream fetch), warn, error")
	fs.StringVar(&c.store, "store", "", "where the log is kept: empty for the pebble store in <data>/store, or a PostgreSQL `URL` (postgres://...) that a writer, standbys and replicas share")
	fs.StringVar(&c.logName, "log-name", "", "`name` of the log's rows in a -store database, so that one database holds many logs (default: the key's name)")
	fs.BoolVar(&c.standby, "standby", false, "with a -store database: wait for the writer's lease to expire and then take the log over, instead of failing while another writer holds it")
	fs.DurationVar(&c.lease, "lease", pgstore.DefaultLease, "with a -store database: how long a writer's lease lasts unrenewed, so how soon a standby takes over a dead writer's log")
	fs.BoolVar(&c.readOnly, "read-only", false, "serve a -store database as a replica: no signing key, no appends; follows the writer's checkpoints")
	fs.StringVar(&c.writer, "writer", "", "with -read-only: the writer's `URL`, where lookups of versions not yet logged are sent (default: they are 404)")
	fs.StringVar(&c.vkey, "vkey", "", "with -read-only: the log's verifier `key` (default: read from <data>/vkey)")
	fs.DurationVar(&c.follow, "follow", time.Second, "with -read-only: how often the writer's new checkpoints are read")
	fs.Func("witness", "a witness to get checkpoints cosigned by, as `URL=verifier-key` (repeat for each); served tree heads carry their cosignatures", func(v string) error {
		u, key, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("want URL=verifier-key")
		}
		cv, err := note.NewCosignatureVerifier(key)
		if err != nil {
			return err
		}
		c.witnesses = append(c.witnesses, witness.Remote{URL: u, Verifier: cv})
		return nil
	})
	fs.StringVar(&c.goproxy, "goproxy", "", "also run a verifying module mirror (package goproxy) on this `address`: the GOPROXY protocol filled from -upstream, every .mod and .zip checked against this log, the log proxied under /sumdb/<name>/, and /index listing every version logged (cache in <data>/goproxy)")
	fs.DurationVar(&c.cosignInterval, "cosign-interval", time.Second, "with -witness: how often new checkpoints are sent to the witnesses")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sumdb [flags]\n\nRuns a Go checksum database on a pebble store or a PostgreSQL database; see examples/sumdb/README.md.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.checkpointInterval <= 0 {
		return nil, fmt.Errorf("-checkpoint-interval %v: must be positive", c.checkpointInterval)
	}
	if c.publicURL != "" {
		u, err := url.Parse(c.publicURL)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(c.publicURL, " \"") {
			return nil, fmt.Errorf("-public-url %q: want http(s)://host[:port][/path]", c.publicURL)
		}
		c.publicURL = strings.TrimSuffix(c.publicURL, "/")
	}
	if c.checkpointFile == "" {
		c.checkpointFile = filepath.Join(c.data, "checkpoint")
	}
	if c.store != "" && !strings.HasPrefix(c.store, "postgres://") && !strings.HasPrefix(c.store, "postgresql://") {
		return nil, fmt.Errorf("-store %q: want a PostgreSQL URL (postgres://user@host/db), or nothing for the pebble store", c.store)
	}
	switch {
	case c.store == "" && (c.standby || c.readOnly || c.logName != ""):
		return nil, fmt.Errorf("-standby, -read-only and -log-name need a shared -store database (postgres://...); the pebble store has one process")
	case c.readOnly && c.standby:
		return nil, fmt.Errorf("-read-only and -standby: a replica never writes")
	case !c.readOnly && (c.writer != "" || c.vkey != ""):
		return nil, fmt.Errorf("-writer and -vkey are for -read-only replicas")
	case c.readOnly && len(c.witnesses) > 0:
		return nil, fmt.Errorf("-witness is for the writer: a replica serves the log's own checkpoints")
	case c.cosignInterval <= 0:
		return nil, fmt.Errorf("-cosign-interval must be positive")
	case c.lease <= 0 || c.follow <= 0:
		return nil, fmt.Errorf("-lease and -follow must be positive")
	}
	if c.writer != "" {
		if _, err := sumdbserver.NewForwarder(c.writer); err != nil {
			return nil, fmt.Errorf("-writer: %w", err)
		}
	}
	return c, nil
}

// loadVerifier returns the verifier key of a replica: -vkey, or
// <data>/vkey.
func loadVerifier(dir, vkey string) (note.Verifier, string, error) {
	if vkey == "" {
		data, err := os.ReadFile(filepath.Join(dir, "vkey"))
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", fmt.Errorf("-read-only needs the log's verifier key: -vkey, or %s", filepath.Join(dir, "vkey"))
		}
		if err != nil {
			return nil, "", err
		}
		vkey = strings.TrimSpace(string(data))
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, "", fmt.Errorf("verifier key %q: %w", vkey, err)
	}
	return v, vkey, nil
}

// openBackend opens the store the log lives in: the pebble store in the
// data directory (returned twice, for its metrics), or the -store
// database.
func openBackend(ctx context.Context, c *config, name string, logger *slog.Logger) (storage.Backend, *pebblestore.Store, error) {
	if c.store == "" {
		st, err := pebblestore.Open(filepath.Join(c.data, "store"), nil)
		if err != nil {
			return nil, nil, err
		}
		return st, st, nil
	}
	logName := c.logName
	if logName == "" {
		logName = name
	}
	if c.standby {
		logger.Info("standby: waiting for the writer's lease", "log", logName, "lease", c.lease)
	}
	st, err := pgstore.Open(ctx, c.store, &pgstore.Options{Log: logName, Lease: c.lease, Wait: c.standby, ReadOnly: c.readOnly})
	if err != nil {
		if errors.Is(err, storage.ErrLocked) {
			err = fmt.Errorf("%w (start it with -standby to wait and take over, or -read-only to serve as a replica)", err)
		}
		return nil, nil, err
	}
	return st, nil, nil
}

// loadKey reads the signing key in dir, or creates one named name if there
// is none. A non-empty name must match the stored key's name.
func loadKey(dir, name string) (note.Signer, note.Verifier, string, error) {
	skeyFile := filepath.Join(dir, "skey")
	data, err := os.ReadFile(skeyFile)
	if errors.Is(err, os.ErrNotExist) {
		if name == "" {
			name = defaultName
		}
		skey, vkey, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			return nil, nil, "", fmt.Errorf("generating key: %w", err)
		}
		f, err := os.OpenFile(skeyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, nil, "", err
		}
		_, err = f.WriteString(skey + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(skeyFile)
			return nil, nil, "", fmt.Errorf("writing %s: %w", skeyFile, err)
		}
		_ = vkey // derived again below, from the key as stored
		data = []byte(skey + "\n")
	} else if err != nil {
		return nil, nil, "", err
	} else if fi, err := os.Stat(skeyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, nil, "", fmt.Errorf("%s is readable by others (mode %v); chmod 600 it", skeyFile, fi.Mode().Perm())
	}
	skey := strings.TrimSpace(string(data))
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", skeyFile, err)
	}
	if name != "" && name != signer.Name() {
		return nil, nil, "", fmt.Errorf("-name %q differs from the name %q of the log's key in %s", name, signer.Name(), dir)
	}
	vkey, err := verifierKey(skey, signer)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", skeyFile, err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, nil, "", err
	}
	return signer, verifier, vkey, nil
}

// verifierKey derives the verifier key "name+hash+base64(0x01||pub)" from a
// signer key "PRIVATE+KEY+name+hash+base64(0x01||seed)", and checks that the
// two keys agree on the key hash.
func verifierKey(skey string, signer note.Signer) (string, error) {
	bad := errors.New("malformed signer key")
	rest, ok := strings.CutPrefix(skey, "PRIVATE+KEY+")
	if !ok {
		return "", bad
	}
	name, rest, ok := strings.Cut(rest, "+")
	if !ok {
		return "", bad
	}
	_, b64, ok := strings.Cut(rest, "+")
	if !ok {
		return "", bad
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", bad
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return "", err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return "", err
	}
	if v.Name() != signer.Name() || v.KeyHash() != signer.KeyHash() {
		return "", errors.New("signer key hash does not match its public key")
	}
	return vkey, nil
}

// listening are the addresses the program serves on (Metrics is empty
// with -metrics off).
type listening struct{ HTTP, Metrics, GoProxy string }

// run is the program: it returns when ctx is done (after a clean shutdown)
// or on a fatal error. ready, if not nil, is called with the listening
// addresses once the server accepts connections.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(listening)) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.logLevel}))
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return err
	}
	var (
		signer   note.Signer
		verifier note.Verifier
		vkey     string
		src      sumdbserver.Source
	)
	if c.readOnly {
		verifier, vkey, err = loadVerifier(c.data, c.vkey)
		if err != nil {
			return err
		}
		if c.writer != "" {
			src, _ = sumdbserver.NewForwarder(c.writer)
		}
	} else {
		signer, verifier, vkey, err = loadKey(c.data, c.name)
		if err != nil {
			return err
		}
		if src, err = sumdbserver.NewProxy(c.upstream); err != nil {
			return err
		}
	}
	name := verifier.Name()
	lastKnown, err := os.ReadFile(c.checkpointFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(lastKnown) == 0 {
		lastKnown = nil
	}

	backend, pebbleStore, err := openBackend(ctx, c, name, logger)
	if err != nil {
		return err
	}
	where := c.data
	if c.store != "" {
		where = "the -store database"
	}
	lg, err := storage.Open(ctx, backend, storage.Options{
		Origin:    note.SumDBOrigin,
		Signer:    signer,
		Verifier:  verifier,
		LastKnown: lastKnown,
		Create:    !c.readOnly,
		ReadOnly:  c.readOnly,
		Follow:    c.follow,
	})
	if err != nil {
		return fmt.Errorf("opening the log in %s: %w", where, err)
	}
	// Remember the last published checkpoint, so that a store rolled back
	// behind it is refused at the next start: now, while serving, and at
	// shutdown.
	saver := &checkpointSaver{log: lg, file: c.checkpointFile, logger: logger}
	if err := saver.save(); err != nil {
		lg.Close()
		return err
	}
	saveCtx, stopSaving := context.WithCancel(context.Background())
	saverDone := make(chan struct{})
	go func() {
		defer close(saverDone)
		saver.run(saveCtx, c.checkpointInterval)
	}()
	defer func() {
		stopSaving()
		<-saverDone
		if err := saver.save(); err != nil {
			logger.Error("saving checkpoint", "err", err)
		}
		if err := lg.Close(); err != nil {
			logger.Error("closing the log", "err", err)
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(ops.NewLogCollector(name, lg),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pebbleStore != nil {
		reg.MustRegister(pebblestore.NewCollector(name, pebbleStore))
	}
	fetches := ops.NewFetchMetrics(name)
	reg.MustRegister(fetches)
	dbLog := sumdbserver.StorageLog(lg)
	if c.readOnly {
		dbLog = sumdbserver.ReplicaLog(lg)
	}
	if len(c.witnesses) > 0 {
		cosigning := witness.NewCosigning(lg, c.witnesses, 0, nil, logger)
		dbLog = witness.ServedLog(dbLog, cosigning)
		cctx, stopCosigning := context.WithCancel(ctx)
		defer stopCosigning()
		go cosigning.Run(cctx, c.cosignInterval)
	}
	srv, err := sumdbserver.NewServer(sumdbserver.Config{
		Log:           dbLog,
		Source:        src,
		Private:       c.private,
		C2SP:          c.c2sp,
		FetchTimeout:  c.fetchTimeout,
		FetchObserver: fetches.Observe,
		Logger:        logger,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.Handle("/healthz", ops.Healthz())
	mux.Handle("/readyz", ops.Readyz(lg, 0))
	handler, err := ops.InstrumentHandler(reg, name, mux, ops.SumDBRoute)
	if err != nil {
		return err
	}
	var metricsAddr string
	if c.metrics != "off" {
		mln, err := net.Listen("tcp", c.metrics)
		if err != nil {
			return fmt.Errorf("metrics: %w (choose another -metrics address, or -metrics off)", err)
		}
		metricsAddr = mln.Addr().String()
		msrv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
		go msrv.Serve(mln)
		defer msrv.Close()
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	if err := writeFileAtomic(filepath.Join(c.data, "vkey"), []byte(vkey+"\n"), 0o644); err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	public := c.publicURL
	if public == "" {
		public = "http://" + displayAddr(addr)
	}
	gosumdb := vkey + " " + public
	fmt.Fprintf(stdout, "export GOSUMDB=%q\n# or, for every shell: go env -w GOSUMDB=%q\n", gosumdb, gosumdb)
	var goproxyAddr string
	if c.goproxy != "" {
		stopMirror, gaddr, err := serveGoProxy(c, lg, vkey, public, logger)
		if err != nil {
			hs.Close()
			return fmt.Errorf("-goproxy: %w", err)
		}
		defer stopMirror()
		goproxyAddr = gaddr
		fmt.Fprintf(stdout, "# the module mirror, reaching this log through its /sumdb/ proxying:\nexport GOPROXY=http://%s GOSUMDB=%q\n", displayAddr(gaddr), vkey)
	}
	_, tree := lg.Checkpoint()
	role := "writer"
	if c.readOnly {
		role = "replica"
	}
	logger.Info("serving", "role", role, "addr", addr, "url", public, "metrics", metricsAddr, "data", c.data, "upstream", c.upstream, "records", tree.N)
	if ready != nil {
		ready(listening{HTTP: addr, Metrics: metricsAddr, GoProxy: goproxyAddr})
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		// Requests still running (waiting on slow upstream fetches) are
		// cut off; whatever they appended is durable or not logged.
		logger.Warn("shutdown: closing remaining connections", "err", err)
		hs.Close()
	}
	return nil
}

// displayAddr turns a listening address into one a client can dial:
// an unspecified host (":0" listens on all) becomes 127.0.0.1.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// writeFileAtomic writes data to name through a synced temporary file.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	// The rename is durable once the directory is synced.
	d, err := os.Open(filepath.Dir(name))
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// A checkpointSaver keeps a file holding the log's latest published
// checkpoint. A published checkpoint is durable in the store, so the file
// is never ahead of the store; it is behind by at most the saving
// interval (plus one write) while serving.
type checkpointSaver struct {
	log    *storage.Log
	file   string
	logger *slog.Logger
	saved  tlog.Tree // tree of the checkpoint in the file; used by one goroutine at a time
}

// save writes the latest published checkpoint to the file if it is newer
// than the one saved.
func (s *checkpointSaver) save() error {
	signed, tree := s.log.Checkpoint()
	if tree == s.saved {
		return nil
	}
	if err := writeFileAtomic(s.file, signed, 0o644); err != nil {
		return fmt.Errorf("saving checkpoint: %w", err)
	}
	s.saved = tree
	return nil
}

// run saves every interval until ctx is done. A failed save is logged and
// tried again at the next tick.
func (s *checkpointSaver) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.save(); err != nil {
				s.logger.Error("saving checkpoint", "file", s.file, "err", err)
			}
		}
	}
}

// serveGoProxy runs the -goproxy module mirror: its checksum database is
// this log, reached at public (for verification and /sumdb/ proxying),
// and its /index is the log's. It returns a function that stops it.
func serveGoProxy(c *config, lg *storage.Log, vkey, public string, logger *slog.Logger) (stop func(), addr string, err error) {
	cache := filepath.Join(c.data, "goproxy")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, "", err
	}
	src, err := sumdbclient.NewSource(public)
	if err != nil {
		return nil, "", err
	}
	client, err := sumdbclient.New(sumdbclient.Options{Source: src, VerifierKey: vkey, StateDir: filepath.Join(cache, "sumdb-state")})
	if err != nil {
		return nil, "", err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, "", err
	}
	mirror, err := goproxy.NewServer(goproxy.Config{
		Upstream: c.upstream, CacheDir: cache, SumDB: client, Private: c.private,
		SumDBs: map[string]string{v.Name(): public}, Logger: logger, Log: lg,
	})
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", c.goproxy)
	if err != nil {
		mirror.Close()
		return nil, "", err
	}
	mux := http.NewServeMux()
	mux.Handle("/", mirror)
	mux.Handle("/healthz", ops.Healthz())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	go hs.Serve(ln)
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if hs.Shutdown(sctx) != nil {
			hs.Close()
		}
		mirror.Close()
	}, ln.Addr().String(), nil
}
