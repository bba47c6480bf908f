// Package mirror keeps a verified, current local copy of a whole
// transparency log that speaks the sumdb tile protocol (/latest,
// /tile/8/L/N, /tile/8/data/N) or c2sp.org/tlog-tiles (/checkpoint,
// /tile/L/N, /tile/entries/N), and serves it with the origin's own signed
// tree heads, so that clients verify it with the origin's key. For a Go
// checksum database that is privacy by bulk download: the go command
// pointed at the mirror (GOSUMDB="<origin's key> http://mirror") never
// tells the origin which modules it uses.
//
// # How it follows the origin
//
// [Mirror.Sync] reads the origin's signed tree head and merges it into
// the timeline of a [sumdbclient.Client]: it must verify with the
// origin's key and be consistent with every tree head seen before (the
// stored one, and the one an interrupted import was working towards),
// proved through tiles authenticated by a [tile.Verifier]. Then it
// fetches only the new data tiles, with a bounded number of requests in
// flight and retries with backoff, and hands them in batches to a
// [storage.Importer], which computes the tree of the records and stores a
// batch only if its tree hash is the one the Verifier authenticated
// against the signed tree head for that size: every record's leaf hash,
// every stored hash tile and finally the root are checked before a byte
// is stored. The hash tiles served are the ones the Importer computed,
// which are then the origin's, byte for byte ([Options.CheckHashTiles]
// also fetches the origin's level-0 tiles and compares them).
//
// Each batch is one synced commit of records, hash tiles, key index
// entries and the import state; a restart (or kill -9) continues after
// the last one. The origin's tree head is published (and served) only
// when all its records are stored.
//
// An inconsistent tree head (a fork) or one that is not validly signed
// stops following: the Mirror stores a halt report (for a fork the
// [sumdbclient.SecurityError] with both signed notes and the proof),
// returns it from [Mirror.Halted] also after a restart, and keeps serving
// the last good tree.
//
// # Serving
//
// A Mirror is an http.Handler serving the origin's protocol through
// [sumdbserver.Server] on a read-only [storage.Log]: /latest (and
// /checkpoint for a C2SP log) is the origin's note byte for byte, tiles
// are served from the store, and /lookup/M@V answers from the local key
// index ("path@version" from each record's first go.sum line); a version
// the origin has not logged is 404. Until the first import completes it
// answers 503.
package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/ops"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/sumdbclient"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

// Options configure [Open]. Source and VerifierKey are required; the zero
// value of every other field is a documented default.
type Options struct {
	// Source serves the origin (sumdbclient.NewHTTPSource, or a
	// directory in its URL layout).
	Source sumdbclient.Source
	// VerifierKey is the origin's note verifier key.
	VerifierKey string
	// Origin is the first line of the origin's checkpoints. Empty means
	// note.SumDBOrigin.
	Origin string
	// C2SP reads (and serves) the c2sp.org/tlog-tiles layout instead of
	// the sumdb one.
	C2SP bool
	// Key returns the key index key of a record, or nil. Nil means
	// [SumDBKey] for a checksum database (Origin note.SumDBOrigin) and no
	// key index otherwise.
	Key func(record []byte) []byte
	// Concurrency bounds the requests in flight. Zero means 8.
	Concurrency int
	// BatchRecords is the number of records per synced commit, rounded up
	// to a multiple of 256. Zero means 65536.
	BatchRecords int
	// Retries is how often a failed request is tried again (not for 404
	// or a response over its size bound). Zero means 5; negative none.
	Retries int
	// Backoff is the wait before the first retry, doubled for each next
	// one, up to 30 s. Zero means 100 ms.
	Backoff time.Duration
	// CheckHashTiles also fetches the origin's level-0 hash tile of every
	// data tile and checks it against the records' leaf hashes, so that
	// an origin serving hash tiles that contradict its records (which the
	// mirror does not serve: it serves the tiles it computed, and checks
	// them against the signed root) is reported. It costs 32 bytes per
	// record of transfer and a second leaf hash.
	CheckHashTiles bool
	// MaxDataTileSize bounds one data tile response. Zero means 16 MiB.
	MaxDataTileSize int64
	// Poll is the interval of Run between two Syncs. Zero means 1 min.
	Poll time.Duration
	// Limit, if positive, stops every import after the first Limit
	// records of the origin's tree, for a sample of a large log or a
	// measurement: records beyond it are not fetched, and a tree larger
	// than Limit is verified and stored up to it but not published (the
	// mirror serves only whole trees it holds). Zero means no limit.
	Limit int64
	// Progress, if set, gets a progress display of imports (records
	// done, records/s, ETA): one line rewritten on a terminal, a line
	// every 30 s otherwise.
	Progress io.Writer
	// Logger gets progress lines and errors. Nil discards them.
	Logger *slog.Logger
}

// A Mirror follows one origin log into a storage backend and serves it.
type Mirror struct {
	b         storage.Backend
	opts      Options
	verifier  note.Verifier
	verifiers note.Verifiers
	client    *sumdbclient.Client
	src       sumdbclient.Source // with retries
	im        *storage.Importer

	syncMu sync.Mutex
	log    atomic.Pointer[storage.Log]
	srv    atomic.Pointer[sumdbserver.Server]
	done   atomic.Int64 // records stored
	halted atomic.Pointer[haltError]
}

// ErrNotReady is answered (503) before the first import completes.
var ErrNotReady = errors.New("mirror: no complete copy of the origin yet")

// Open opens the mirror kept in b (an empty backend starts a new one). It
// checks the stored state (storage.OpenImport) and, if a copy is
// complete, serves it at once. The Mirror owns b and closes it in Close,
// also when Open fails.
func Open(ctx context.Context, b storage.Backend, opts Options) (_ *Mirror, err error) {
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if opts.Source == nil {
		return nil, errors.New("mirror: Options.Source is required")
	}
	v, err := note.NewVerifier(opts.VerifierKey)
	if err != nil {
		return nil, fmt.Errorf("mirror: verifier key: %w", err)
	}
	if opts.Origin == "" {
		opts.Origin = note.SumDBOrigin
	}
	if opts.Key == nil && opts.Origin == note.SumDBOrigin {
		opts.Key = SumDBKey
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.BatchRecords <= 0 {
		opts.BatchRecords = 1 << 16
	}
	opts.BatchRecords = (opts.BatchRecords + 255) &^ 255
	if opts.Retries == 0 {
		opts.Retries = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 100 * time.Millisecond
	}
	if opts.MaxDataTileSize <= 0 {
		opts.MaxDataTileSize = 16 << 20
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Mirror{b: b, opts: opts, verifier: v, verifiers: note.VerifierList(v)}
	m.src = &retrySource{src: opts.Source, retries: max(opts.Retries, 0), backoff: opts.Backoff}
	m.client, err = sumdbclient.New(sumdbclient.Options{
		Source: m.src, VerifierKey: opts.VerifierKey, Origin: opts.Origin, C2SP: opts.C2SP,
	})
	if err != nil {
		return nil, err
	}
	m.im, err = storage.OpenImport(ctx, b, storage.ImportOptions{Origin: opts.Origin, Verifier: v, Key: opts.Key})
	if err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	if report := m.im.Halted(); report != nil {
		m.halted.Store(decodeHalt(report))
	}
	n, _ := m.im.N()
	m.done.Store(n)
	// The timeline starts with what is stored: the published tree head,
	// and the one an interrupted import verified its records against.
	for _, signed := range [][]byte{first(m.im.Checkpoint()), first(m.im.Target())} {
		if signed == nil {
			continue
		}
		if _, err := m.client.Merge(ctx, signed); err != nil {
			return nil, fmt.Errorf("mirror: stored tree head: %w", err)
		}
	}
	if signed, _ := m.im.Checkpoint(); signed != nil {
		if err := m.publish(ctx); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func first(b []byte, _ tlog.Tree) []byte { return b }

// SumDBKey returns the key index key of a checksum database record:
// "path@version" of its first go.sum line ("path version h1:hash"), or nil
// if the record has no such line.
func SumDBKey(record []byte) []byte {
	line, _, ok := bytes.Cut(record, []byte("\n"))
	if !ok {
		return nil
	}
	path, rest, ok1 := bytes.Cut(line, []byte(" "))
	version, hash, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || len(path) == 0 || len(version) == 0 || len(hash) == 0 || bytes.IndexByte(hash, ' ') >= 0 {
		return nil
	}
	version = bytes.TrimSuffix(version, []byte("/go.mod"))
	key := make([]byte, 0, len(path)+1+len(version))
	key = append(append(append(key, path...), '@'), version...)
	return key
}

// ServeHTTP serves the mirrored log (see the package documentation).
func (m *Mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	srv := m.srv.Load()
	if srv == nil {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, ErrNotReady.Error(), http.StatusServiceUnavailable)
		return
	}
	srv.ServeHTTP(w, r)
}

// Log returns the read-only log serving the mirrored tree, or nil before
// the first import completes.
func (m *Mirror) Log() *storage.Log { return m.log.Load() }

// Stored returns the number of records stored (verified, durable, maybe
// not yet published).
func (m *Mirror) Stored() int64 { return m.done.Load() }

// Halted returns the reason the mirror stopped following (also one stored
// by an earlier run), or nil: for a fork, an error wrapping a
// *sumdbclient.SecurityError.
func (m *Mirror) Halted() error {
	if h := m.halted.Load(); h != nil {
		return h
	}
	return nil
}

// ClearHalt removes a stored halt report, so that following resumes (an
// operator's decision after investigating).
func (m *Mirror) ClearHalt(ctx context.Context) error {
	if err := m.im.ClearHalt(ctx); err != nil {
		return err
	}
	m.halted.Store(nil)
	return nil
}

// Close closes the store. The handler answers 503 afterwards.
func (m *Mirror) Close() error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	m.srv.Store(nil)
	m.im.Close()
	if l := m.log.Swap(nil); l != nil {
		l.Close()
	}
	return m.b.Close()
}

// publish serves the stored checkpoint: it opens the read-only log the
// first time, and refreshes it afterwards.
func (m *Mirror) publish(ctx context.Context) error {
	if l := m.log.Load(); l != nil {
		_, err := l.Refresh(ctx)
		return err
	}
	// The log must not close b: the Importer writes into it.
	l, err := storage.Open(ctx, noClose{m.b}, storage.Options{
		Origin: m.opts.Origin, Verifier: m.verifier, ReadOnly: true, Follow: -1,
	})
	if err != nil {
		return fmt.Errorf("mirror: opening the stored log: %w", err)
	}
	srv, err := sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.StorageLog(l), C2SP: m.opts.C2SP, Logger: m.opts.Logger})
	if err != nil {
		l.Close()
		return err
	}
	m.log.Store(l)
	m.srv.Store(srv)
	return nil
}

// Run calls Sync every Options.Poll until ctx ends (it returns nil) or
// the mirror halts (it returns the reason). Other errors are logged and
// retried at the next poll.
func (m *Mirror) Run(ctx context.Context) error {
	for {
		tree, err := m.Sync(ctx)
		if h := m.Halted(); h != nil {
			return h
		}
		if err != nil && ctx.Err() == nil {
			m.opts.Logger.Error("mirror: sync failed", "err", err)
		} else if err == nil {
			m.opts.Logger.Debug("mirror: in sync", "size", tree.N)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(m.opts.Poll):
		}
	}
}

// Sync brings the mirror up to the origin's latest tree head once: it
// reads and checks the head, imports the new records and publishes the
// head. It returns the published tree.
func (m *Mirror) Sync(ctx context.Context) (tlog.Tree, error) {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	if h := m.Halted(); h != nil {
		return m.published(), h
	}
	path := "/latest"
	if m.opts.C2SP {
		path = "/checkpoint"
	}
	msg, err := m.src.Read(ctx, path, sumdbclient.DefaultMaxBodySize)
	if err != nil {
		return m.published(), fmt.Errorf("mirror: reading the origin's tree head: %w", err)
	}
	if _, _, err := note.OpenCheckpoint(msg, m.opts.Origin, m.verifiers); err != nil {
		return m.published(), m.halt(ctx, &haltError{Reason: "tree head does not verify: " + err.Error(), Newer: string(msg)})
	}
	head, err := m.client.Merge(ctx, msg)
	var se *sumdbclient.SecurityError
	if errors.As(err, &se) {
		return m.published(), m.halt(ctx, &haltError{Reason: "inconsistent tree heads", Security: se})
	}
	if err != nil {
		return m.published(), fmt.Errorf("mirror: checking the origin's tree head: %w", err)
	}
	if err := m.importTo(ctx, head); err != nil {
		return m.published(), err
	}
	return m.published(), nil
}

func (m *Mirror) published() tlog.Tree {
	_, tree := m.im.Checkpoint()
	return tree
}

// importTo imports the records of head beyond those stored.
func (m *Mirror) importTo(ctx context.Context, head sumdbclient.TreeHead) error {
	signed, target := m.im.Target()
	n, _ := m.im.N()
	if signed != nil && (head.Tree.N < target.N || head.Tree.N == target.N && n == head.Tree.N) {
		if signed, _ := m.im.Checkpoint(); signed != nil && m.Log() == nil {
			return m.publish(ctx)
		}
		return nil // nothing new (Merge checked it is consistent)
	}
	hr := m.client.Tiles().HashReader(ctx, head.Tree)
	hashAt := func(size int64) (tlog.Hash, error) {
		h, err := tlog.TreeHash(size, hr)
		if err != nil {
			return h, fmt.Errorf("mirror: hash of the first %d records of tree %d: %w", size, head.Tree.N, err)
		}
		return h, nil
	}
	h, err := hashAt(n)
	if err != nil {
		return err
	}
	if err := m.im.SetTarget(ctx, head.Note, h); err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	end := head.Tree.N
	if m.opts.Limit > 0 {
		end = min(end, m.opts.Limit)
	}
	if n < end {
		stop := ops.StartProgress(ctx, ops.ProgressOptions{
			Name: "mirror", Total: end - n, Out: m.opts.Progress, Logger: m.opts.Logger,
		}, func() int64 { return m.done.Load() - n })
		err = m.fetchAndStore(ctx, n, end, hashAt)
		stop()
		if err != nil {
			return err
		}
	}
	if end < head.Tree.N {
		return nil // stored up to the limit; nothing to publish
	}
	return m.publish(ctx)
}

// A batch is the records start..start+len(recs)-1, fetched.
type batch struct {
	start int64
	recs  [][]byte
	err   error
}

// fetchAndStore fetches records start..end-1 in batches, while the
// previous batch is verified and committed.
func (m *Mirror) fetchAndStore(ctx context.Context, start, end int64, hashAt func(int64) (tlog.Hash, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, 1)
	go func() {
		defer close(batches)
		for b := start; b < end; {
			next := min(end, (b/int64(m.opts.BatchRecords)+1)*int64(m.opts.BatchRecords))
			recs, err := m.fetchRecords(ctx, b, next)
			select {
			case batches <- batch{b, recs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			b = next
		}
	}()
	for bt := range batches {
		if bt.err != nil {
			return bt.err
		}
		next := bt.start + int64(len(bt.recs))
		h, err := hashAt(next)
		if err != nil {
			return err
		}
		// The Importer derives the keys (ImportOptions.Key).
		if err := m.im.Append(ctx, bt.recs, nil, h); err != nil {
			return fmt.Errorf("mirror: records %d..%d: %w", bt.start, next-1, err)
		}
		m.done.Store(next)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// fetchRecords fetches the data tiles holding records start..end-1, with
// at most Options.Concurrency requests in flight.
func (m *Mirror) fetchRecords(ctx context.Context, start, end int64) ([][]byte, error) {
	first, last := start/256, (end-1)/256
	tiles := make([][][]byte, last-first+1)
	errs := make([]error, len(tiles))
	sem := make(chan struct{}, m.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range tiles {
		N := first + int64(i)
		w := 256
		if N == end/256 {
			w = int(end % 256)
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			tiles[i], errs[i] = m.fetchDataTile(ctx, N, w)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	recs := make([][]byte, 0, end-start)
	for i, t := range tiles {
		lo := int64(0)
		if i == 0 {
			lo = start % 256
		}
		recs = append(recs, t[lo:]...)
	}
	if int64(len(recs)) != end-start {
		return nil, fmt.Errorf("mirror: internal error: %d records fetched for %d..%d", len(recs), start, end-1)
	}
	return recs, nil
}

// fetchDataTile fetches data tile N of width w; a partial tile the origin
// does not have is read from the full tile it is a prefix of.
func (m *Mirror) fetchDataTile(ctx context.Context, N int64, w int) ([][]byte, error) {
	t := tile.Tile{H: tile.Height, L: -1, N: N, W: w}
	recs, err := m.readDataTile(ctx, t)
	if errors.Is(err, sumdbclient.ErrNotFound) && w < 256 {
		t.W = 256
		recs, err = m.readDataTile(ctx, t)
		if err == nil {
			recs = recs[:w]
		}
	}
	if err == nil && m.opts.CheckHashTiles {
		err = m.checkHashTile(ctx, N, recs)
	}
	return recs, err
}

// checkHashTile checks the origin's level-0 tile N against the leaf
// hashes of its records.
func (m *Mirror) checkHashTile(ctx context.Context, N int64, recs [][]byte) error {
	t := tile.Tile{H: tile.Height, L: 0, N: N, W: len(recs)}
	data, err := m.src.Read(ctx, "/"+m.tilePath(t), int64(t.W*tlog.HashSize))
	if errors.Is(err, sumdbclient.ErrNotFound) && t.W < 256 {
		full := t
		full.W = 256
		data, err = m.src.Read(ctx, "/"+m.tilePath(full), int64(full.W*tlog.HashSize))
		if err == nil && len(data) == full.W*tlog.HashSize {
			data = data[:t.W*tlog.HashSize]
		}
	}
	if err != nil {
		return err
	}
	if len(data) != t.W*tlog.HashSize {
		return fmt.Errorf("mirror: %w: %s has %d bytes, want %d", tile.ErrMalformedData, m.tilePath(t), len(data), t.W*tlog.HashSize)
	}
	for i, r := range recs {
		if h := tlog.RecordHash(r); !bytes.Equal(h[:], data[i*tlog.HashSize:(i+1)*tlog.HashSize]) {
			return fmt.Errorf("mirror: %w: the origin's hash tile %s does not hold the leaf hash of record %d", tile.ErrInconsistent, m.tilePath(t), N*256+int64(i))
		}
	}
	return nil
}

// tilePath returns the path of t in the origin's layout (without "/").
func (m *Mirror) tilePath(t tile.Tile) string {
	if m.opts.C2SP {
		return t.C2SPPath()
	}
	return t.Path()
}

func (m *Mirror) readDataTile(ctx context.Context, t tile.Tile) ([][]byte, error) {
	path := "/" + m.tilePath(t)
	data, err := m.src.Read(ctx, path, m.opts.MaxDataTileSize)
	if err != nil {
		return nil, err
	}
	var recs [][]byte
	if m.opts.C2SP {
		recs, err = tile.ParseEntryBundle(data, t.W)
	} else {
		recs, err = tile.ParseDataTile(data, t.W)
	}
	if err != nil {
		return nil, fmt.Errorf("mirror: %s: %w", path, err)
	}
	return recs, nil
}

// halt stores h and stops following.
func (m *Mirror) halt(ctx context.Context, h *haltError) error {
	m.halted.Store(h)
	if err := m.im.Halt(context.WithoutCancel(ctx), h.encode()); err != nil {
		m.opts.Logger.Error("mirror: storing halt report", "err", err)
	}
	m.opts.Logger.Error("mirror: stopped following the origin", "err", h)
	return h
}

// A haltError is why the mirror stopped following: a fork (Security) or
// a tree head that does not verify (Newer).
type haltError struct {
	Reason   string
	Newer    string                     `json:",omitempty"`
	Security *sumdbclient.SecurityError `json:",omitempty"`
}

func (h *haltError) Error() string {
	if h.Security != nil {
		return "mirror: stopped following: " + h.Reason + ": " + h.Security.Error()
	}
	return "mirror: stopped following: " + h.Reason + "\n\t" + h.Newer
}

func (h *haltError) Unwrap() error {
	if h.Security != nil {
		return h.Security
	}
	return nil
}

func (h *haltError) encode() []byte {
	data, err := json.Marshal(h)
	if err != nil {
		return []byte(h.Error())
	}
	return data
}

func decodeHalt(report []byte) *haltError {
	var h haltError
	if err := json.Unmarshal(report, &h); err != nil || h.Reason == "" {
		return &haltError{Reason: "stored halt report: " + string(report)}
	}
	return &h
}

// retrySource retries failed reads with exponential backoff.
type retrySource struct {
	src     sumdbclient.Source
	retries int
	backoff time.Duration
}

func (r *retrySource) Read(ctx context.Context, path string, max int64) ([]byte, error) {
	wait := r.backoff
	for attempt := 0; ; attempt++ {
		data, err := r.src.Read(ctx, path, max)
		if err == nil || attempt >= r.retries || ctx.Err() != nil ||
			errors.Is(err, sumdbclient.ErrNotFound) || errors.Is(err, sumdbclient.ErrTooLarge) {
			return data, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// noClose is a Backend whose Close does nothing.
type noClose struct{ storage.Backend }

func (noClose) Close() error { return nil }
