package sumdbserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/internal/modcheck"
	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

// Defaults for Config fields left zero.
const (
	DefaultFetchTimeout         = 2 * time.Minute
	DefaultMaxConcurrentFetches = 8
	DefaultTileCacheBytes       = 64 << 20
)

// maxLookupPath bounds the part of a /lookup/ path after the prefix. Module
// paths and versions are far shorter in practice.
const maxLookupPath = 1024

// maxLoggedPath bounds the request path quoted in a log line.
const maxLoggedPath = 256

// Cache-Control values.
const (
	cacheImmutable = "public, max-age=31536000, immutable" // full tiles
	cacheLatest    = "public, max-age=5"                   // /latest, /checkpoint
	cacheShort     = "public, max-age=60"                  // partial tiles, lookups
	cacheNone      = "no-store"                            // errors
)

const (
	typeText   = "text/plain; charset=UTF-8"
	typeBinary = "application/octet-stream"
)

// A Config configures a [Server]. The zero value of every field but Log is a
// documented default.
type Config struct {
	// Log is the log served. Required.
	Log Log

	// Source computes the go.sum record of a module version the log does
	// not hold yet (usually a [*Proxy]). If nil, lookups of versions not
	// in the log are answered 404: a read-only mirror.
	Source Source

	// Private is a comma-separated list of module path glob patterns in
	// the syntax of GOPRIVATE (golang.org/x/mod/module.MatchPrefixPatterns).
	// Lookups of matching modules are answered 404 without consulting the
	// log or the upstream.
	Private string

	// C2SP also serves the C2SP tlog-tiles read paths /checkpoint,
	// /tile/L/N[.p/W] and /tile/entries/N[.p/W] from the same log.
	C2SP bool

	// FetchTimeout bounds one upstream fetch plus append
	// (default DefaultFetchTimeout).
	FetchTimeout time.Duration

	// MaxConcurrentFetches bounds the number of module versions fetched
	// from upstream at once (default DefaultMaxConcurrentFetches).
	MaxConcurrentFetches int

	// TileCacheBytes bounds the memory used to keep full tiles (hash and
	// data tiles, and the records of full data tiles, which also answer
	// lookups); full tiles never change (default DefaultTileCacheBytes,
	// negative disables the cache).
	TileCacheBytes int64

	// FetchObserver, if set, is called after each fetch of a new module
	// version from the Source (for metrics; see package ops). It must not
	// block.
	FetchObserver func(FetchEvent)

	// Logger receives internal errors (Error), upstream failures (Warn),
	// one line per upstream fetch (Info) and one per rejected request
	// (Debug). The default discards everything.
	Logger *slog.Logger
}

// A FetchEvent describes one fetch of a new module version from the
// Source, with the append of its record.
type FetchEvent struct {
	Module   string        // module@version
	Outcome  string        // one of the Fetch* outcomes
	Duration time.Duration // from the start of the fetch to the durable append or the failure
}

// Outcomes of a FetchEvent.
const (
	FetchOK       = "ok"        // fetched, checked and logged
	FetchNotFound = "not_found" // the upstream has no such version (ErrNotFound)
	FetchInvalid  = "invalid"   // the content failed its checks (ErrInvalidModule): a bad zip or go.mod, over a size limit
	FetchUpstream = "upstream"  // the upstream failed or timed out (ErrUpstream)
	FetchError    = "error"     // anything else, such as a failed append
)

func fetchOutcome(err error) string {
	switch {
	case err == nil:
		return FetchOK
	case errors.Is(err, ErrNotFound):
		return FetchNotFound
	case errors.Is(err, ErrInvalidModule):
		return FetchInvalid
	case errors.Is(err, ErrUpstream), errors.Is(err, context.DeadlineExceeded):
		return FetchUpstream
	}
	return FetchError
}

// A Server is an http.Handler serving the checksum database protocol of
// golang.org/x/mod/sumdb (and optionally C2SP tlog-tiles) for a [Log].
// It serves the paths /latest, /lookup/..., /tile/... at the root of
// its URL space; use http.StripPrefix to mount it elsewhere.
type Server struct {
	log     Log
	src     Source
	private string
	c2sp    bool
	timeout time.Duration
	sem     chan struct{}
	logger  *slog.Logger
	observe func(FetchEvent)
	flight  flightGroup
	cache   *tileCache
}

// NewServer returns a Server for cfg.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		return nil, errors.New("sumdbserver: Config.Log is nil")
	}
	s := &Server{
		log:     cfg.Log,
		src:     cfg.Source,
		private: cfg.Private,
		c2sp:    cfg.C2SP,
		timeout: cfg.FetchTimeout,
		logger:  cfg.Logger,
		observe: cfg.FetchObserver,
	}
	if s.timeout <= 0 {
		s.timeout = DefaultFetchTimeout
	}
	n := cfg.MaxConcurrentFetches
	if n <= 0 {
		n = DefaultMaxConcurrentFetches
	}
	s.sem = make(chan struct{}, n)
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	size := cfg.TileCacheBytes
	if size == 0 {
		size = DefaultTileCacheBytes
	}
	if size > 0 {
		s.cache = newTileCache(size)
	}
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.fail(w, r, http.StatusMethodNotAllowed, "sumdbserver: method not allowed")
		return
	}
	p := r.URL.Path
	switch {
	case p == "/latest":
		s.serveLatest(w, r)
	case s.c2sp && p == "/checkpoint":
		s.serveLatest(w, r)
	case strings.HasPrefix(p, "/lookup/"):
		s.serveLookup(w, r, p[len("/lookup/"):])
	case strings.HasPrefix(p, "/tile/"):
		s.serveTile(w, r, p[1:])
	default:
		s.fail(w, r, http.StatusNotFound, "sumdbserver: not found")
	}
}

// fail writes a plain-text error that must not be cached.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if code < 500 && s.logger.Enabled(r.Context(), slog.LevelDebug) {
		path := r.URL.Path
		if len(path) > maxLoggedPath {
			path = path[:maxLoggedPath] + "..."
		}
		s.logger.Debug("sumdbserver: rejected request", "method", r.Method, "path", path, "status", code, "reason", msg)
	}
	h := w.Header()
	h.Set("Cache-Control", cacheNone)
	h.Set("Content-Type", typeText)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// internal logs err and answers 500 without details.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away or gave up; nothing useful to say.
		s.fail(w, r, http.StatusServiceUnavailable, "sumdbserver: request canceled")
		return
	}
	s.logger.Error("sumdbserver: internal error", "path", r.URL.Path, "err", err)
	s.fail(w, r, http.StatusInternalServerError, "sumdbserver: internal error")
}

// reply writes a successful response.
func reply(w http.ResponseWriter, r *http.Request, ctype, cache, etag string, parts ...[]byte) {
	h := w.Header()
	h["Content-Type"] = []string{ctype}
	h["Cache-Control"] = []string{cache}
	if etag != "" {
		h["Etag"] = []string{etag}
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	h["Content-Length"] = []string{strconv.Itoa(n)}
	if r.Method == http.MethodHead {
		return
	}
	for _, p := range parts {
		w.Write(p)
	}
}

// etagMatch reports whether the If-None-Match header value list matches
// etag (weak comparison, as RFC 9110 asks for If-None-Match).
func etagMatch(list, etag string) bool {
	if len(list) > 4096 {
		return false
	}
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

func (s *Server) serveLatest(w http.ResponseWriter, r *http.Request) {
	signed, _, err := s.log.Checkpoint(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	reply(w, r, typeText, cacheLatest, "", signed)
}

// parseLookup parses "<escaped path>@<escaped version>" and checks that
// it names a module version the go command would look up (see
// internal/modcheck: canonical versions, "+incompatible" where the go
// command uses it).
func parseLookup(rest string) (module.Version, error) {
	if len(rest) > maxLookupPath {
		return module.Version{}, errors.New("sumdbserver: lookup path too long")
	}
	escPath, escVers, ok := strings.Cut(rest, "@")
	if !ok || strings.Contains(escVers, "@") {
		return module.Version{}, errors.New("sumdbserver: invalid module@version syntax")
	}
	path, err := module.UnescapePath(escPath)
	if err != nil {
		return module.Version{}, fmt.Errorf("sumdbserver: %v", err)
	}
	vers, err := module.UnescapeVersion(escVers)
	if err != nil {
		return module.Version{}, fmt.Errorf("sumdbserver: %v", err)
	}
	if err := modcheck.Check(path, vers); err != nil {
		return module.Version{}, fmt.Errorf("sumdbserver: %v", err)
	}
	return module.Version{Path: path, Version: vers}, nil
}

func (s *Server) serveLookup(w http.ResponseWriter, r *http.Request, rest string) {
	m, err := parseLookup(rest)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if s.private != "" && module.MatchPrefixPatterns(s.private, m.Path) {
		s.fail(w, r, http.StatusNotFound, "sumdbserver: not found: module is private")
		return
	}
	ctx := r.Context()
	key := m.Path + "@" + m.Version
	id, err := s.log.Lookup(ctx, key)
	if errors.Is(err, ErrNotFound) {
		if s.src == nil {
			s.fail(w, r, http.StatusNotFound, "sumdbserver: not found: "+key)
			return
		}
		id, err = s.flight.do(ctx, key, func() (int64, error) { return s.fetch(key, m) })
	}
	if err != nil {
		s.sourceError(w, r, key, err)
		return
	}
	signed, tree, err := s.log.Checkpoint(ctx)
	if err == nil && (id < 0 || id >= tree.N) {
		err = fmt.Errorf("sumdbserver: record %d not in published tree of size %d", id, tree.N)
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	rec, err := s.readRecord(ctx, id, tree.N)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	msg, err := note.FormatRecord(id, rec)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	reply(w, r, typeText, cacheShort, "", msg, signed)
}

// readRecord returns record id of a tree of n records. A record in a full
// data tile is read with the whole tile, which is kept in the tile cache.
func (s *Server) readRecord(ctx context.Context, id, n int64) ([]byte, error) {
	t := tile.Tile{H: tile.Height, L: -1, N: id >> tile.Height, W: 1 << tile.Height}
	if s.cache != nil && inTree(t, n) {
		records, err := s.fullDataRecords(ctx, t)
		if err != nil {
			return nil, err
		}
		return records[id&(1<<tile.Height-1)], nil
	}
	records, err := s.log.ReadRecords(ctx, id, 1)
	if err == nil && len(records) != 1 {
		err = fmt.Errorf("sumdbserver: ReadRecords returned %d records, want 1", len(records))
	}
	if err != nil {
		return nil, err
	}
	return records[0], nil
}

// fullDataRecords returns the records of the full data tile t, from the
// cache or read and then cached.
func (s *Server) fullDataRecords(ctx context.Context, t tile.Tile) ([][]byte, error) {
	k := cacheKey{t: t, records: true}
	if e, ok := s.cache.get(k); ok {
		return e.records, nil
	}
	records, err := s.log.ReadRecords(ctx, t.N<<uint(t.H), int64(t.W))
	if err != nil {
		return nil, err
	}
	if len(records) != t.W {
		return nil, fmt.Errorf("sumdbserver: ReadRecords returned %d records, want %d", len(records), t.W)
	}
	size := 0
	for _, r := range records {
		size += len(r) + 24
	}
	s.cache.put(k, &cacheEntry{records: records, size: size})
	return records, nil
}

// sourceError maps an error of Lookup, the Source or AppendKeyed to a status.
func (s *Server) sourceError(w http.ResponseWriter, r *http.Request, key string, err error) {
	switch {
	case r.Context().Err() != nil:
		s.fail(w, r, http.StatusServiceUnavailable, "sumdbserver: request canceled")
	case errors.Is(err, ErrNotFound):
		s.fail(w, r, http.StatusNotFound, "sumdbserver: not found: "+key)
	case errors.Is(err, ErrInvalidModule):
		s.fail(w, r, http.StatusNotFound, "sumdbserver: not found: "+err.Error())
	case errors.Is(err, ErrUpstream), errors.Is(err, context.DeadlineExceeded):
		s.logger.Warn("sumdbserver: upstream failure", "module", key, "err", err)
		s.fail(w, r, http.StatusBadGateway, "sumdbserver: upstream proxy failure fetching "+key)
	default:
		s.internal(w, r, err)
	}
}

// fetch computes the record of m with the Source and logs it. It runs once
// per key at a time (see flightGroup) with its own deadline, so that a
// client that hangs up does not cancel the work others wait for.
func (s *Server) fetch(key string, m module.Version) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	// A fetch that finished just before this one started has logged it.
	if id, err := s.log.Lookup(ctx, key); !errors.Is(err, ErrNotFound) {
		return id, err
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return 0, fmt.Errorf("%w: waiting for a fetch slot: %w", ErrUpstream, ctx.Err())
	}
	start := time.Now()
	id, err := s.fetchAndAppend(ctx, key, m, start)
	if s.observe != nil {
		s.observe(FetchEvent{Module: key, Outcome: fetchOutcome(err), Duration: time.Since(start)})
	}
	return id, err
}

func (s *Server) fetchAndAppend(ctx context.Context, key string, m module.Version, start time.Time) (int64, error) {
	rec, err := s.src.GoSum(ctx, m)
	if err != nil {
		s.logger.Info("sumdbserver: upstream fetch failed", "module", key, "duration", time.Since(start), "err", err)
		return 0, err
	}
	if !tile.ValidRecordText(rec) || len(rec) > note.MaxRecordSize {
		s.logger.Warn("sumdbserver: source returned invalid record text", "module", key)
		return 0, fmt.Errorf("sumdbserver: source returned invalid record text for %s", key)
	}
	fetched := time.Since(start)
	id, err := s.log.AppendKeyed(ctx, key, rec)
	if err != nil {
		return 0, err
	}
	s.logger.Info("sumdbserver: fetched and logged", "module", key, "record", id,
		"fetch", fetched, "total", time.Since(start))
	return id, nil
}

// tileLevelSize returns the number of hashes at tree level l in a tree
// of n records (0 if the level is beyond 63).
func levelSize(n int64, level int) int64 {
	if level >= 63 {
		return 0
	}
	return n >> uint(level)
}

// inTree reports whether tile t (level t.L*8, or records for L == -1) lies
// inside the tree of n records, with overflow-safe arithmetic.
func inTree(t tile.Tile, n int64) bool {
	lev := 0
	if t.L > 0 {
		lev = t.L * t.H
	}
	size := levelSize(n, lev)
	if t.N > size>>uint(t.H) {
		return false
	}
	return t.N<<uint(t.H)+int64(t.W) <= size
}

func (s *Server) serveTile(w http.ResponseWriter, r *http.Request, path string) {
	t, err := tile.ParseTilePath(path)
	c2sp := false
	if err != nil && s.c2sp {
		t, err = tile.ParseC2SPPath(path)
		c2sp = true
	}
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "sumdbserver: invalid tile path")
		return
	}
	if t.H != tile.Height {
		s.fail(w, r, http.StatusNotFound, "sumdbserver: not found: this log has tiles of height 8 only")
		return
	}
	full := t.W == 1<<tile.Height
	if full && s.cache != nil {
		if e, ok := s.cache.get(cacheKey{t: t, c2sp: c2sp}); ok {
			reply(w, r, e.ctype, cacheImmutable, e.etag, e.data)
			return
		}
	}
	ctx := r.Context()
	_, tree, err := s.log.Checkpoint(ctx)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if !inTree(t, tree.N) {
		s.fail(w, r, http.StatusNotFound, "sumdbserver: not found: tile beyond the published tree")
		return
	}
	var data []byte
	ctype := typeBinary
	if t.L == -1 {
		data, err = s.dataTile(ctx, t, tree.N, c2sp)
		if !c2sp {
			ctype = typeText
		}
	} else {
		data, err = s.log.ReadTile(ctx, t)
		if err == nil && len(data) != t.W*tlog.HashSize {
			err = fmt.Errorf("sumdbserver: ReadTile(%v) returned %d bytes, want %d", t, len(data), t.W*tlog.HashSize)
		}
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if !full {
		reply(w, r, ctype, cacheShort, "", data)
		return
	}
	sum := sha256.Sum256(data)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	if s.cache != nil {
		s.cache.put(cacheKey{t: t, c2sp: c2sp}, &cacheEntry{data: data, etag: etag, ctype: ctype, size: len(data)})
	}
	reply(w, r, ctype, cacheImmutable, etag, data)
}

// dataTile returns the records of data tile t in the sumdb encoding (record
// texts each followed by a blank line) or the C2SP entry-bundle encoding.
func (s *Server) dataTile(ctx context.Context, t tile.Tile, n int64, c2sp bool) ([]byte, error) {
	var records [][]byte
	var err error
	if s.cache != nil && t.W == 1<<tile.Height {
		records, err = s.fullDataRecords(ctx, t)
	} else {
		records, err = s.log.ReadRecords(ctx, t.N<<uint(t.H), int64(t.W))
		if err == nil && len(records) != t.W {
			err = fmt.Errorf("sumdbserver: ReadRecords returned %d records, want %d", len(records), t.W)
		}
	}
	if err != nil {
		return nil, err
	}
	if c2sp {
		return tile.FormatEntryBundle(records)
	}
	return tile.FormatDataTile(records)
}

// A flightGroup runs one function per key at a time; callers with the same
// key while it runs share its result. Results are not remembered after the
// function returns, so failures are not cached.
type flightGroup struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	id   int64
	err  error
}

// do runs fn for key unless a call for key is running, and waits for the
// result or ctx. fn runs in its own goroutine and is not canceled by ctx.
func (g *flightGroup) do(ctx context.Context, key string, fn func() (int64, error)) (int64, error) {
	g.mu.Lock()
	c, ok := g.calls[key]
	if !ok {
		c = &flightCall{done: make(chan struct{})}
		if g.calls == nil {
			g.calls = make(map[string]*flightCall)
		}
		g.calls[key] = c
		go func() {
			c.id, c.err = fn()
			g.mu.Lock()
			delete(g.calls, key)
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.id, c.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// A tileCache keeps full tiles, which never change, within a byte budget.
// Eviction is random (Go map order), which is cheap and good enough.
type tileCache struct {
	mu    sync.RWMutex
	max   int64
	bytes int64
	byID  map[cacheKey]*cacheEntry
}

// A cacheKey names a cached tile: its encoding in one of the two layouts,
// or (records set) the records of a full data tile.
type cacheKey struct {
	t       tile.Tile
	c2sp    bool
	records bool
}

type cacheEntry struct {
	data    []byte   // encoded tile
	etag    string   // of data
	ctype   string   // of data
	records [][]byte // records of a data tile (records keys only)
	size    int      // approximate memory
}

func newTileCache(max int64) *tileCache {
	return &tileCache{max: max, byID: make(map[cacheKey]*cacheEntry)}
}

func (c *tileCache) get(k cacheKey) (*cacheEntry, bool) {
	c.mu.RLock()
	e, ok := c.byID[k]
	c.mu.RUnlock()
	return e, ok
}

func (c *tileCache) put(k cacheKey, e *cacheEntry) {
	size := int64(e.size) + 64
	if size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.byID[k]; ok {
		c.bytes -= int64(old.size) + 64
	}
	for old, oe := range c.byID {
		if c.bytes+size <= c.max {
			break
		}
		delete(c.byID, old)
		c.bytes -= int64(oe.size) + 64
	}
	c.byID[k] = e
	c.bytes += size
}
