// Package goproxy is a verifying Go module mirror: it serves the GOPROXY
// protocol (go help goproxy) from a disk cache that it fills from an
// upstream proxy on first request, and checks every .mod and .zip against
// a checksum database before caching or serving it. It also proxies
// checksum databases (/sumdb/<name>/...), so that a go command that can
// reach only the mirror still gets every signed tree head and tile, and
// publishes a module index (/index, in index.golang.org's format): of
// every version added to the checksum database's log when that log runs
// in the same process (Config.Log), else of the versions it verified.
//
// A .mod or .zip whose h1: hash differs from the go.sum line that the
// authenticated lookup returned is never cached or served: the request
// fails with 502 and an error naming the module version and both hashes,
// and the event is logged. Modules matching Config.Private are passed
// through unverified (and unindexed), like GONOSUMDB.
package goproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"

	"github.com/tlogkit/tlogkit/internal/modcheck"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/sumdbclient"
	"github.com/tlogkit/tlogkit/sumdbserver"
)

// Limits.
const (
	MaxListSize = 4 << 20 // a version list or @latest/.info answer
	MaxModSize  = modzip.MaxGoMod
	MaxZipSize  = modzip.MaxZipFile
	MaxIndex    = sumdbserver.MaxIndex // entries per /index answer, as index.golang.org
)

// A Config configures a Server. Upstream, CacheDir and SumDB are required.
type Config struct {
	// Upstream is the proxy filled from (https://, http:// or file://).
	Upstream string
	// CacheDir holds the cache and the index; created if missing.
	CacheDir string
	// SumDB verifies go.sum lines: an authenticated client of the
	// checksum database, with its timeline kept on disk (StateDir).
	SumDB *sumdbclient.Client
	// Private are GOPRIVATE-style patterns passed through unverified.
	Private string
	// ListTTL is how long a cached list or @latest answer is served
	// before it is refreshed (default 1 minute); a stale one is served
	// when the upstream fails.
	ListTTL time.Duration
	// SumDBs maps checksum database names (as in GOSUMDB) to their
	// URLs, proxied under /sumdb/<name>/.
	SumDBs map[string]string
	// Client makes the requests to checksum databases (default: 30 s
	// timeout).
	Client *http.Client
	// Logger receives verification failures (Error) and upstream
	// failures (Warn); nil discards them.
	Logger *slog.Logger
	// Log, if set, is the checksum database's own log, open in this
	// process (the database SumDB reaches): /index then lists every
	// version added to it, with the time it was logged
	// (sumdbserver.LogIndex). If nil, /index lists the versions this
	// mirror verified, with the time it verified them, from a file in
	// CacheDir synced before each version is served.
	Log *storage.Log
}

// A Server is the mirror's http.Handler.
type Server struct {
	cfg      Config
	up       *sumdbserver.Proxy
	client   *http.Client
	logger   *slog.Logger
	index    *index
	small    sync.Map     // cache file -> []byte of served .info and .mod files
	smallN   atomic.Int64 // their bytes, at most maxSmall
	flightMu sync.Mutex
	flights  map[string]*flight
}

type flight struct {
	done chan struct{}
	err  error
}

// NewServer returns a Server; it opens (or creates) the cache and index.
func NewServer(cfg Config) (*Server, error) {
	if cfg.SumDB == nil || cfg.CacheDir == "" {
		return nil, errors.New("goproxy: Config.SumDB and Config.CacheDir are required")
	}
	up, err := sumdbserver.NewProxy(cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("goproxy: upstream: %w", err)
	}
	if cfg.ListTTL <= 0 {
		cfg.ListTTL = time.Minute
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(cfg.CacheDir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	var ix *index
	if cfg.Log == nil {
		if ix, err = openIndex(filepath.Join(cfg.CacheDir, "index")); err != nil {
			return nil, err
		}
	}
	return &Server{cfg: cfg, up: up, client: client, logger: logger, index: ix, flights: map[string]*flight{}}, nil
}

// Close closes the index file.
func (s *Server) Close() error {
	if s.index == nil {
		return nil
	}
	return s.index.close()
}

// A MismatchError reports a downloaded file whose hash is not the one the
// checksum database holds.
type MismatchError struct {
	Module     module.Version
	File       string // ".mod" or ".zip"
	Downloaded string
	SumDB      string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("goproxy: SECURITY ERROR: %s %s: downloaded %s, checksum database has %s", e.Module, e.File, e.Downloaded, e.SumDB)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "goproxy: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/index":
		s.serveIndex(w, r)
	case strings.HasPrefix(p, "/sumdb/"):
		s.serveSumDB(w, r, strings.TrimPrefix(p, "/sumdb/"))
	default:
		s.serveModule(w, r, strings.TrimPrefix(p, "/"))
	}
}

func (s *Server) serveModule(w http.ResponseWriter, r *http.Request, p string) {
	escPath, rest, ok := strings.Cut(p, "/@v/")
	latest := false
	if !ok {
		escPath, latest = strings.CutSuffix(p, "/@latest")
		if !latest {
			http.Error(w, "goproxy: not found", http.StatusNotFound)
			return
		}
	}
	mod, err := module.UnescapePath(escPath)
	if err == nil {
		err = module.CheckPath(mod)
	}
	if err != nil {
		http.Error(w, "goproxy: bad module path: "+err.Error(), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	if latest || rest == "list" {
		rel, name := escPath+"/@v/list", "list"
		if latest {
			rel, name = escPath+"/@latest", "@latest"
		}
		data, err := s.mutable(ctx, rel)
		s.reply(w, r, data, err, "public, max-age=60", contentType(name))
		return
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		http.Error(w, "goproxy: not found", http.StatusNotFound)
		return
	}
	escVers, ext := rest[:dot], rest[dot:]
	if escVers == "" || strings.ContainsAny(escVers, "/\\") || strings.HasPrefix(escVers, ".") || len(escVers) > 256 {
		http.Error(w, fmt.Sprintf("goproxy: bad version %q", cut(escVers)), http.StatusBadRequest)
		return
	}
	vers, err := module.UnescapeVersion(escVers)
	if err == nil && ext == ".info" && modcheck.Check(mod, vers) != nil {
		// A query (a branch name, say), whose answer changes: not
		// immutable.
		data, err := s.mutable(ctx, p)
		s.reply(w, r, data, err, "public, max-age=60", contentType(ext))
		return
	}
	if err == nil && (ext == ".mod" || ext == ".zip") {
		err = modcheck.Check(mod, vers)
	}
	if err != nil || ext != ".info" && ext != ".mod" && ext != ".zip" {
		http.Error(w, fmt.Sprintf("goproxy: bad request %q", p), http.StatusBadRequest)
		return
	}
	m := module.Version{Path: mod, Version: vers}
	if ext != ".zip" {
		// Small and immutable: served from memory once read.
		data, err := s.smallFile(ctx, escPath, escVers, ext, m)
		s.reply(w, r, data, err, "public, max-age=31536000, immutable", contentType(ext))
		return
	}
	file, err := s.immutable(ctx, escPath, escVers, ext, m)
	if err != nil {
		s.reply(w, r, nil, err, "", "")
		return
	}
	f, err := os.Open(file)
	if err != nil {
		s.reply(w, r, nil, err, "", "")
		return
	}
	defer f.Close()
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("Content-Type", contentType(ext))
	http.ServeContent(w, r, "", time.Time{}, f)
}

// maxSmall bounds the memory holding .info and .mod files.
const maxSmall = 64 << 20

// smallFile returns the verified .info or .mod file of m, from memory if
// it was served before.
func (s *Server) smallFile(ctx context.Context, escPath, escVers, ext string, m module.Version) ([]byte, error) {
	key := escPath + "/@v/" + escVers + ext
	if v, ok := s.small.Load(key); ok {
		return v.([]byte), nil
	}
	file, err := s.immutable(ctx, escPath, escVers, ext, m)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if s.smallN.Add(int64(len(data))) <= maxSmall {
		s.small.Store(key, data)
	} else {
		s.smallN.Add(-int64(len(data)))
	}
	return data, nil
}

func cut(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func contentType(name string) string {
	switch name {
	case ".zip":
		return "application/zip"
	case ".info", "@latest":
		return "application/json"
	}
	return "text/plain; charset=utf-8"
}

// reply writes data, or the status err calls for.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, data []byte, err error, cache, ctype string) {
	var mm *MismatchError
	switch {
	case err == nil:
		w.Header().Set("Cache-Control", cache)
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		if r.Method != http.MethodHead {
			w.Write(data)
		}
	case errors.As(err, &mm):
		http.Error(w, err.Error(), http.StatusBadGateway)
	case errors.Is(err, sumdbserver.ErrNotFound), errors.Is(err, sumdbclient.ErrNotFound):
		http.Error(w, "goproxy: not found: "+err.Error(), http.StatusNotFound)
	case errors.Is(err, sumdbserver.ErrInvalidModule):
		http.Error(w, "goproxy: "+err.Error(), http.StatusNotFound)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		http.Error(w, "goproxy: timeout", http.StatusGatewayTimeout)
	default:
		s.logger.Warn("goproxy: upstream", "path", r.URL.Path, "err", err)
		http.Error(w, "goproxy: upstream failure: "+err.Error(), http.StatusBadGateway)
	}
}

// mutable returns an answer that may change (list, @latest, the .info of
// a query), from the cache if it is younger than ListTTL, else from the
// upstream (the stale cached one if the upstream fails, but not if it
// says 404). rel is the escaped path; queries are kept apart from the
// immutable files.
func (s *Server) mutable(ctx context.Context, rel string) ([]byte, error) {
	file := filepath.Join(s.cfg.CacheDir, "mutable", filepath.FromSlash(rel))
	if fi, err := os.Stat(file); err == nil && time.Since(fi.ModTime()) < s.cfg.ListTTL {
		return os.ReadFile(file)
	}
	var buf bytes.Buffer
	start := time.Now()
	err := s.up.Get(ctx, rel, &buf, MaxListSize)
	s.logger.Info("goproxy: upstream fetch", "file", rel, "duration", time.Since(start), "err", err)
	if err != nil {
		if !errors.Is(err, sumdbserver.ErrNotFound) {
			if data, rerr := os.ReadFile(file); rerr == nil {
				return data, nil
			}
		}
		return nil, err
	}
	if err := s.writeCache(file, buf.Bytes()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// immutable returns the cache file of m's .info, .mod or .zip, fetching
// (and verifying) it once however many requests ask at the same time.
func (s *Server) immutable(ctx context.Context, escPath, escVers, ext string, m module.Version) (string, error) {
	file := filepath.Join(s.cfg.CacheDir, filepath.FromSlash(escPath), "@v", escVers+ext)
	if _, err := os.Stat(file); err == nil {
		return file, nil
	}
	s.flightMu.Lock()
	f, ok := s.flights[file]
	if !ok {
		f = &flight{done: make(chan struct{})}
		s.flights[file] = f
		go func() {
			// Detached from the request: others may wait for it.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
			f.err = s.fetch(fctx, escPath+"/@v/"+escVers+ext, file, ext, m)
			cancel()
			s.flightMu.Lock()
			delete(s.flights, file)
			s.flightMu.Unlock()
			close(f.done)
		}()
	}
	s.flightMu.Unlock()
	select {
	case <-f.done:
		return file, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// fetch downloads rel into a temporary file, verifies it, and renames it
// to file.
func (s *Server) fetch(ctx context.Context, rel, file, ext string, m module.Version) error {
	tmp, err := os.CreateTemp(filepath.Join(s.cfg.CacheDir, "tmp"), "fetch-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	max := int64(MaxListSize)
	switch ext {
	case ".mod":
		max = MaxModSize
	case ".zip":
		max = MaxZipSize
	}
	// The checksum database's lookup does not need the download: it runs
	// beside it (it dominates a first download: the database may itself
	// fetch and log the version, and the client checks the new tree).
	private := module.MatchPrefixPatterns(s.cfg.Private, m.Path)
	var lookup chan lookupResult
	if ext != ".info" && !private {
		lookup = make(chan lookupResult, 1)
		go func() {
			vers := m.Version
			if ext == ".mod" {
				vers += "/go.mod"
			}
			lines, err := s.cfg.SumDB.Lookup(ctx, m.Path, vers)
			lookup <- lookupResult{lines, err}
		}()
	}
	start := time.Now()
	if err := s.up.Get(ctx, rel, tmp, max); err != nil {
		s.logger.Info("goproxy: upstream fetch failed", "file", rel, "duration", time.Since(start), "err", err)
		return err
	}
	s.logger.Info("goproxy: fetched", "file", rel, "duration", time.Since(start))
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if lookup != nil {
		if err := s.verify(m, ext, tmp.Name(), <-lookup); err != nil {
			return err
		}
	}
	// The index entry is durable before the zip is cached: a crash in
	// between leaves an entry whose zip is fetched again (the index keeps
	// one entry per version), never a cached version missing from it.
	if ext == ".zip" && !private && s.index != nil {
		if err := s.index.add(m, time.Now()); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return err
	}
	return syncDir(filepath.Dir(file))
}

type lookupResult struct {
	lines []string
	err   error
}

// verify checks the downloaded .mod or .zip of m against the go.sum
// lines of the checksum database's authenticated lookup.
func (s *Server) verify(m module.Version, ext, name string, lookup lookupResult) error {
	vers := m.Version
	if ext == ".mod" {
		vers += "/go.mod"
	}
	lines, err := lookup.lines, lookup.err
	if err != nil {
		return fmt.Errorf("goproxy: checksum database lookup of %s: %w", m, err)
	}
	var got string
	if ext == ".mod" {
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		got = sumdbserver.GoModHash(data)
	} else {
		if _, err := modzip.CheckZip(m, name); err != nil {
			return fmt.Errorf("%w: %s: %v", sumdbserver.ErrInvalidModule, m, err)
		}
		if got, err = dirhash.HashZip(name, dirhash.Hash1); err != nil {
			return fmt.Errorf("%w: %s: %v", sumdbserver.ErrInvalidModule, m, err)
		}
	}
	prefix := m.Path + " " + vers + " "
	for _, l := range lines {
		if want, ok := strings.CutPrefix(l, prefix); ok {
			if want != got {
				err := &MismatchError{Module: m, File: ext, Downloaded: got, SumDB: want}
				s.logger.Error("goproxy: verification failed", "module", m.String(), "file", ext, "downloaded", got, "sumdb", want)
				return err
			}
			return nil
		}
	}
	return fmt.Errorf("goproxy: the checksum database has no %s line for %s", ext, m)
}

func (s *Server) writeCache(file string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(s.cfg.CacheDir, "tmp"), "list-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// serveSumDB proxies /sumdb/<name>/supported, latest, lookup/..., tile/...
// of a configured database: full tiles are cached forever, lookups for
// an hour, latest for 5 seconds; only 200s are cached. The mirror does not
// need to trust the database: clients verify what it serves.
func (s *Server) serveSumDB(w http.ResponseWriter, r *http.Request, p string) {
	name, rest, _ := strings.Cut(p, "/")
	base, ok := s.cfg.SumDBs[name]
	if !ok {
		http.Error(w, "goproxy: checksum database "+name+" not proxied", http.StatusNotFound)
		return
	}
	var ttl time.Duration
	switch {
	case rest == "supported":
		w.WriteHeader(http.StatusOK)
		return
	case rest == "latest":
		ttl = 5 * time.Second
	case strings.HasPrefix(rest, "lookup/"):
		ttl = time.Hour
	case strings.HasPrefix(rest, "tile/") && !strings.Contains(rest, ".p/"):
		ttl = 100 * 365 * 24 * time.Hour
	case strings.HasPrefix(rest, "tile/"):
		ttl = 5 * time.Second
	default:
		http.Error(w, "goproxy: not found", http.StatusNotFound)
		return
	}
	if strings.Contains(rest, "..") || strings.ContainsAny(rest, "\\\x00") || len(rest) > 1024 {
		http.Error(w, "goproxy: bad path", http.StatusBadRequest)
		return
	}
	file := filepath.Join(s.cfg.CacheDir, "sumdb", name, filepath.FromSlash(rest))
	if fi, err := os.Stat(file); err == nil && time.Since(fi.ModTime()) < ttl {
		if data, err := os.ReadFile(file); err == nil {
			s.reply(w, r, data, nil, fmt.Sprintf("public, max-age=%d", int(min(ttl, 24*time.Hour).Seconds())), "text/plain; charset=utf-8")
			return
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, strings.TrimSuffix(base, "/")+"/"+rest, nil)
	if err != nil {
		http.Error(w, "goproxy: bad path", http.StatusBadRequest)
		return
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.reply(w, r, nil, fmt.Errorf("checksum database %s: %w", name, err), "", "")
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20+1))
	if err != nil || len(data) > 1<<20 {
		s.reply(w, r, nil, fmt.Errorf("checksum database %s: answer unreadable or over 1 MiB", name), "", "")
		return
	}
	if resp.StatusCode != http.StatusOK {
		// Passed on, never cached.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(resp.StatusCode)
		w.Write(data)
		return
	}
	if err := s.writeCache(file, data); err != nil {
		s.logger.Warn("goproxy: caching", "file", file, "err", err)
	}
	s.reply(w, r, data, nil, fmt.Sprintf("public, max-age=%d", int(min(ttl, 24*time.Hour).Seconds())), "text/plain; charset=utf-8")
}

// serveIndex answers /index?since=<RFC3339>&limit=<n> with the logged (or
// verified) versions in the order they were logged (or verified).
func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			http.Error(w, "goproxy: since: want RFC 3339", http.StatusBadRequest)
			return
		}
		since = t
	}
	limit := MaxIndex
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			http.Error(w, "goproxy: limit: want a non-negative number", http.StatusBadRequest)
			return
		}
		limit = min(n, MaxIndex)
	}
	var entries []IndexEntry
	if s.cfg.Log != nil {
		var err error
		entries, err = sumdbserver.LogIndex(r.Context(), s.cfg.Log, since, limit)
		if err != nil {
			s.logger.Error("goproxy: reading the module index", "err", err)
			http.Error(w, "goproxy: module index unavailable", http.StatusServiceUnavailable)
			return
		}
	} else {
		entries = s.index.since(since, limit)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range entries {
		enc.Encode(e)
	}
	s.reply(w, r, buf.Bytes(), nil, "no-cache", "application/json")
}
