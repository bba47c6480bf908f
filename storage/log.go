package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tlogkit/tlogkit/internal/sha256x"
	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/tlog"
)

// Options configure [Open]. Origin, Signer and Verifier are required; every
// other field has a documented default for its zero value.
type Options struct {
	// Origin is the first line of every checkpoint, naming the log. For a
	// checksum database it is note.SumDBOrigin ("go.sum database tree").
	Origin string

	// Signer signs new checkpoints. Verifier is its public half: Open
	// refuses a store whose checkpoint it does not verify (another key)
	// and a Signer whose signatures it does not verify.
	Signer   note.Signer
	Verifier note.Verifier

	// LastKnown, if set, is a signed checkpoint of this log that the caller
	// saw before (for example kept beside the store). Open refuses, with
	// ErrRollback, a store whose tree is smaller than LastKnown's or does not
	// contain it.
	LastKnown []byte

	// Create lets Open start a new, empty log if the backend holds none.
	// Without it, an empty backend is refused with ErrNoLog. It has no
	// effect on a backend that already holds a log.
	Create bool

	// Linger is how long, at most, the sequencer waits after answering a
	// batch for those callers to append again, so that concurrent
	// appenders that each wait for their acknowledgment keep sharing one
	// batch (and one sync) instead of splitting into groups that take
	// turns. It waits only right after a batch was answered, and only until
	// as many requests are queued as were just answered plus those already
	// queued. Zero means 100µs; negative turns it off.
	Linger time.Duration

	// PipelineDepth is the number of batches that may be handed to a
	// Pipeliner backend before the first of them is durable. Zero means 1
	// (no pipelining), which suits appenders that wait for their
	// acknowledgments best; 2 or more lets the next batch be sequenced,
	// signed and written while the previous one is synced. Batches are published in order regardless.
	PipelineDepth int

	// MaxBatchRecords caps the number of appends committed in one batch.
	// Zero means 65536.
	MaxBatchRecords int

	// MaxPending caps the appends queued and not yet taken by the
	// sequencer: an append beyond it (in AppendAsync, AppendBatch, ...)
	// waits until the sequencer takes a batch. Zero means
	// 4*MaxBatchRecords.
	MaxPending int

	// MaxBatchBytes caps the record bytes committed in one batch (a batch
	// holds at least one record). Zero means 16 MiB.
	MaxBatchBytes int

	// MaxRecordSize is the largest record accepted. Zero means 65535, the
	// largest entry c2sp.org/tlog-tiles can serve. At most 1<<24.
	MaxRecordSize int

	// MaxKeySize is the largest key accepted by AppendKeyed. Zero means 1024.
	MaxKeySize int

	// CacheTiles is the number of full level-0 hash tiles kept in memory
	// for proofs and tile reads, each 8 to 16 KiB. Zero means 1024;
	// negative disables the cache.
	CacheTiles int

	// CacheUpperTiles is the same for tiles of levels 1 and up, which are
	// 256 times fewer and touched by every proof, so they get their own
	// cache, which level-0 traffic cannot evict. Zero means 1024 (enough
	// for all of them up to 2.6*10^8 records); negative disables it.
	CacheUpperTiles int

	// ReadOnly opens the log for reading only, in a backend that another
	// process writes (storage/pgstore): appends fail with ErrReadOnly,
	// Signer is not needed, and the Log follows the writer, publishing
	// each new checkpoint it reads from the backend once it has checked
	// it (see [Log.Refresh]). Create has no effect.
	ReadOnly bool

	// Follow is how often a read-only Log reads the backend's checkpoint.
	// Zero means one second; negative means never (call Refresh).
	Follow time.Duration
}

func (o *Options) setDefaults() error {
	if o.Origin == "" || strings.ContainsAny(o.Origin, "\n") {
		return fmt.Errorf("%w: Options.Origin must be one non-empty line", ErrInvalid)
	}
	if o.Verifier == nil || o.Signer == nil && !o.ReadOnly {
		return fmt.Errorf("%w: Options.Signer and Options.Verifier are required", ErrInvalid)
	}
	if o.Follow == 0 {
		o.Follow = time.Second
	}
	if o.PipelineDepth <= 0 {
		o.PipelineDepth = 1
	}
	if o.Linger == 0 {
		o.Linger = 100 * time.Microsecond
	}
	if o.PipelineDepth > 64 {
		o.PipelineDepth = 64
	}
	if o.MaxBatchRecords <= 0 {
		o.MaxBatchRecords = 1 << 16
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 4 * o.MaxBatchRecords
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 16 << 20
	}
	if o.MaxRecordSize <= 0 {
		o.MaxRecordSize = 1<<16 - 1
	}
	if o.MaxRecordSize > 1<<24 {
		return fmt.Errorf("%w: Options.MaxRecordSize %d > 1<<24", ErrInvalid, o.MaxRecordSize)
	}
	if o.MaxKeySize <= 0 {
		o.MaxKeySize = 1024
	}
	if o.CacheTiles == 0 {
		o.CacheTiles = 1024
	}
	if o.CacheUpperTiles == 0 {
		o.CacheUpperTiles = 1024
	}
	return nil
}

// A Log is a durable, signed, append-only Merkle log on a [Backend].
// All methods are safe for concurrent use.
type Log struct {
	b          Backend
	opts       Options
	verifiers  note.Verifiers
	snap       atomic.Pointer[snapshot]
	cache      *tileCache // level 0
	upperCache *tileCache // levels 1 and up
	stats      *stats

	refreshMu sync.Mutex // serializes Refresh

	mu      sync.Mutex
	pending *pendingBatch
	queue   []*pendingBatch
	queued  int           // requests in pending and queue
	room    chan struct{} // closed (and replaced) when take lowers queued
	stopErr error
	closed  bool
	wake    chan struct{}
	quit    chan struct{}
	// Lingering: after a batch is answered, the sequencer waits until
	// lingerTarget requests are queued (append closes full) or lingerUntil.
	lingerTarget int
	lingerUntil  time.Time
	full         chan struct{}
	exited       chan struct{}

	// Owned by the sequencer goroutine.
	edge     *edge
	part     partialData
	lastTime int64 // unix nanoseconds of the last record (see times.go)
}

// A snapshot is a published state: a durable tree, its signed checkpoint and
// the right edge as of that tree. Readers load it atomically.
type snapshot struct {
	tree       tlog.Tree
	checkpoint []byte
	rows       [maxTileLevels]tileRows
}

type request struct {
	key, record []byte
}

type pendingBatch struct {
	reqs    []request
	arena   []byte // holds the copies of keys and records
	bytes   int
	done    chan struct{}
	err     error
	index   []int64
	existed []bool
}

// Open opens the log stored in b, or creates one if b is empty and
// opts.Create is set. It checks, before serving anything, that the stored
// checkpoint is signed by opts.Verifier for opts.Origin, that the stored
// right edge hashes to it, and that it is not behind opts.LastKnown. The
// Log owns b from then on and closes it in Close, also when Open fails.
func Open(ctx context.Context, b Backend, opts Options) (_ *Log, err error) {
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if opts.Signer != nil && (opts.Signer.Name() != opts.Verifier.Name() || opts.Signer.KeyHash() != opts.Verifier.KeyHash()) {
		return nil, fmt.Errorf("%w: Signer %s+%08x and Verifier %s+%08x are different keys", ErrInvalid,
			opts.Signer.Name(), opts.Signer.KeyHash(), opts.Verifier.Name(), opts.Verifier.KeyHash())
	}
	l := &Log{
		b:          b,
		opts:       opts,
		verifiers:  note.VerifierList(opts.Verifier),
		cache:      newTileCache(opts.CacheTiles),
		upperCache: newTileCache(opts.CacheUpperTiles),
		stats:      newStats(),
		wake:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		exited:     make(chan struct{}),
		pending:    &pendingBatch{done: make(chan struct{})},
		room:       make(chan struct{}),
	}

	signed, err := b.Get(ctx, keyCheckpoint)
	if errors.Is(err, ErrNotFound) && opts.ReadOnly {
		return nil, ErrNoLog
	}
	if errors.Is(err, ErrNotFound) {
		if err := l.create(ctx); err != nil {
			return nil, err
		}
		signed, err = b.Get(ctx, keyCheckpoint)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: reading checkpoint: %w", err)
	}
	version, err := b.Get(ctx, keyVersion)
	format1 := err == nil && bytes.Equal(version, formatVersion1)
	if err != nil || !bytes.Equal(version, formatVersion) && !format1 {
		return nil, fmt.Errorf("%w: missing or unknown format version %q (%v)", ErrCorrupt, version, err)
	}
	tree, err := l.openCheckpoint(signed)
	if err != nil {
		return nil, fmt.Errorf("storage: stored checkpoint: %w", err)
	}
	if !opts.ReadOnly {
		// The signer must produce checkpoints that the verifier accepts.
		if _, err := l.sign(tree); err != nil {
			return nil, err
		}
	}

	// The right edge: the partial tile of level 0 is not stored (format 2)
	// but recomputed from the records of the partial data tile; those of
	// the levels above are stored. The edge must hash to the signed
	// checkpoint, which authenticates every stored byte used.
	var recs [][]byte
	if opts.ReadOnly {
		recs, err = l.readData(ctx, tree.N)
	} else {
		recs, err = l.loadData(ctx, tree.N)
	}
	if err != nil {
		return nil, err
	}
	e, err := l.edgeOf(ctx, tree, recs)
	if err != nil {
		return nil, err
	}
	l.snap.Store(&snapshot{tree: tree, checkpoint: signed, rows: e.rows})

	if opts.LastKnown != nil {
		if err := l.checkLastKnown(ctx, opts.LastKnown); err != nil {
			return nil, err
		}
	}
	if opts.ReadOnly {
		l.stats.refreshed.Store(time.Now().UnixNano())
		go l.follow(opts.Follow)
		return l, nil
	}
	l.edge = e
	if format1 {
		if err := upgradeFormat1(ctx, b, tree.N); err != nil {
			return nil, err
		}
	}
	if l.lastTime, err = l.timeOnOpen(ctx, tree.N); err != nil {
		return nil, err
	}

	// The sequencer's writes are not tied to any caller's context: a
	// batch, once taken, is committed or fails the log.
	go l.sequence(context.WithoutCancel(ctx))
	return l, nil
}

// create writes the empty log if the backend is entirely empty.
func (l *Log) create(ctx context.Context) error {
	empty := true
	err := l.b.Scan(ctx, nil, nil, func(k, v []byte) error {
		empty = false
		return errStopScan
	})
	if err != nil && err != errStopScan {
		return fmt.Errorf("storage: scanning store: %w", err)
	}
	if !empty {
		return fmt.Errorf("%w: store has data but no checkpoint", ErrCorrupt)
	}
	if !l.opts.Create {
		return ErrNoLog
	}
	signed, err := l.sign(tlog.Tree{N: 0, Hash: emptyTreeHash})
	if err != nil {
		return err
	}
	var batch Batch
	batch.Set(keyVersion, formatVersion)
	batch.Set(keyCheckpoint, signed)
	if err := l.b.Commit(ctx, &batch); err != nil {
		return fmt.Errorf("storage: creating log: %w", err)
	}
	return nil
}

var errStopScan = errors.New("stop scan")

// openCheckpoint verifies a signed checkpoint of this log.
func (l *Log) openCheckpoint(signed []byte) (tlog.Tree, error) {
	n, err := note.Open(signed, l.verifiers)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("%w: %w", ErrVerify, err)
	}
	c, err := note.ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if c.Origin != l.opts.Origin {
		return tlog.Tree{}, fmt.Errorf("%w: %q, want %q", ErrOrigin, c.Origin, l.opts.Origin)
	}
	return c.Tree(), nil
}

// sign returns the signed checkpoint of tree, checked against the verifier.
func (l *Log) sign(tree tlog.Tree) ([]byte, error) {
	text, err := note.Checkpoint{Origin: l.opts.Origin, N: tree.N, Hash: tree.Hash}.Format()
	if err != nil {
		return nil, fmt.Errorf("storage: formatting checkpoint: %w", err)
	}
	signed, err := note.Sign(&note.Note{Text: string(text)}, l.opts.Signer)
	if err != nil {
		return nil, fmt.Errorf("storage: signing checkpoint: %w", err)
	}
	if tree.N == 0 || l.snap.Load() == nil {
		// Check the key pair once, at open.
		if _, err := note.Open(signed, l.verifiers); err != nil {
			return nil, fmt.Errorf("%w: Verifier rejects Signer's checkpoint: %w", ErrInvalid, err)
		}
	}
	return signed, nil
}

func (l *Log) checkLastKnown(ctx context.Context, signed []byte) error {
	known, err := l.openCheckpoint(signed)
	if err != nil {
		return fmt.Errorf("storage: Options.LastKnown: %w", err)
	}
	s := l.snap.Load()
	if known.N > s.tree.N {
		return fmt.Errorf("%w: store has %d records, last known checkpoint %d", ErrRollback, s.tree.N, known.N)
	}
	h, err := l.treeHash(ctx, s, known.N)
	if err != nil {
		return err
	}
	if h != known.Hash {
		return fmt.Errorf("%w: stored tree of size %d hashes to %v, last known checkpoint says %v", ErrRollback, known.N, h, known.Hash)
	}
	return nil
}

// upgradeFormat1 turns a format 1 store of a tree of n records, whose right
// edge Open has checked, into format 2: it removes the partial level-0
// hash tile that format 1 rewrote in every commit and records the new
// version, in one synced commit.
func upgradeFormat1(ctx context.Context, b Backend, n int64) error {
	var batch Batch
	if n%tileWidth != 0 {
		batch.Delete(tileKey(0, n/tileWidth))
	}
	batch.Set(keyVersion, formatVersion)
	if err := b.Commit(ctx, &batch); err != nil {
		return fmt.Errorf("storage: upgrading the store to %q: %w", formatVersion, err)
	}
	return nil
}

// loadData reads the chunks of the partial data tile of a tree of n
// records and returns its records.
func (l *Log) loadData(ctx context.Context, n int64) ([][]byte, error) {
	return l.part.load(ctx, l.b, n, l.opts.MaxRecordSize)
}

// Checkpoint returns the latest published signed checkpoint and its tree.
// It reads no storage. The caller must not modify the returned bytes.
func (l *Log) Checkpoint() ([]byte, tlog.Tree) {
	s := l.snap.Load()
	return s.checkpoint, s.tree
}

// Append appends record to the log and returns its index, once the record
// and a signed checkpoint including it are durable and published.
//
// If ctx ends first, Append returns ctx's error, and the record may or may
// not be appended. Append does not keep record after it returns. After a
// failed commit, Append returns an error wrapping ErrStopped.
//
// Append waits for one commit (one sync) per call; a caller with many
// records gets far more of them through with [Log.AppendAsync] or
// [Log.AppendBatch], which keep many records in flight.
func (l *Log) Append(ctx context.Context, record []byte) (int64, error) {
	i, _, err := l.AppendAsync(ctx, record).Wait(ctx)
	return i, err
}

// AppendKeyed is like Append, but at most one record is ever logged under
// key: if key already has a record (published, or earlier in the same
// batch), AppendKeyed returns its index with existed set and does not log
// record. The key index is committed with the record, so this holds across
// concurrent calls and across crashes. key must be non-empty.
func (l *Log) AppendKeyed(ctx context.Context, key, record []byte) (index int64, existed bool, err error) {
	return l.AppendKeyedAsync(ctx, key, record).Wait(ctx)
}

// AppendAsync queues record for appending and returns at once, without
// waiting for the commit; the returned [Future]'s Wait gives its index once
// the record and a signed checkpoint including it are durable and
// published, exactly as [Log.Append] would have returned it. The records
// that one goroutine queues are logged in the order of its calls.
//
// AppendAsync copies record, so the caller may reuse it at once. It blocks
// only while [Options.MaxPending] appends are already queued and not yet
// taken by the sequencer; if ctx ends while it blocks, the Future holds
// ctx's error and the record is not appended. ctx has no effect once the
// record is queued: a queued record is appended (or the log stops), whether
// or not anyone waits for it. Errors (ErrInvalid, ErrClosed, ErrStopped)
// are reported by the Future's Wait.
func (l *Log) AppendAsync(ctx context.Context, record []byte) Future {
	return l.enqueue(ctx, nil, record)
}

// AppendKeyedAsync is the asynchronous form of [Log.AppendKeyed], as
// [Log.AppendAsync] is of [Log.Append]. Several appends of one key queued
// together get the same index: the first of them is logged, the others
// report existed.
func (l *Log) AppendKeyedAsync(ctx context.Context, key, record []byte) Future {
	if len(key) == 0 {
		return Future{err: fmt.Errorf("%w: empty key", ErrInvalid)}
	}
	return l.enqueue(ctx, key, record)
}

// An Entry is one record for [Log.AppendBatch], with an optional key. A
// nil Key appends the record unkeyed (as Append); a non-nil Key appends it
// as AppendKeyed does, and must not be empty.
type Entry struct {
	Key, Record []byte
}

// AppendBatch queues all entries, in order, as AppendAsync and
// AppendKeyedAsync would one by one, and returns their Futures (appended
// to dst, which may be nil). It takes the log's lock once for all of
// them, so the records it logs are consecutive in the log, in the order of
// entries, unless it had to wait for room ([Options.MaxPending]), which
// lets other appends in between; they are usually committed together,
// unless [Options.MaxBatchRecords] or [Options.MaxBatchBytes] split them.
// A keyed entry whose key already has a record gets that record's index,
// with existed set. An entry that is invalid fails alone, in its Future.
func (l *Log) AppendBatch(ctx context.Context, entries []Entry, dst []Future) []Future {
	dst = slices.Grow(dst, len(entries))
	l.mu.Lock()
	wake := false
	for _, e := range entries {
		if e.Key != nil && len(e.Key) == 0 {
			dst = append(dst, Future{err: fmt.Errorf("%w: empty key", ErrInvalid)})
			continue
		}
		f, w := l.enqueueLocked(ctx, e.Key, e.Record)
		wake = wake || w
		dst = append(dst, f)
	}
	l.mu.Unlock()
	if wake {
		l.wakeSequencer()
	}
	return dst
}

// A Future is the result of an asynchronous append ([Log.AppendAsync],
// [Log.AppendKeyedAsync], [Log.AppendBatch]), available once the record is
// durable and published. It is a small value that may be copied, and Wait
// may be called any number of times, from any goroutines.
type Future struct {
	pb  *pendingBatch
	pos int
	err error
}

// Wait waits until the append is decided and returns what Append (or
// AppendKeyed) would have: the record's index (and, for a keyed append,
// whether the key already had a record, whose index it is), or the error
// that failed it. If ctx ends first, Wait returns ctx's error; the append
// goes on, and a later Wait gives its result.
func (f Future) Wait(ctx context.Context) (index int64, existed bool, err error) {
	if f.err != nil {
		return 0, false, f.err
	}
	if f.pb == nil {
		return 0, false, fmt.Errorf("%w: Wait on the zero Future", ErrInvalid)
	}
	select {
	case <-f.pb.done:
	default:
		select {
		case <-f.pb.done:
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
	if f.pb.err != nil {
		return 0, false, f.pb.err
	}
	return f.pb.index[f.pos], f.pb.existed[f.pos], nil
}

// Done returns a channel that is closed once Wait would return without
// blocking (for use in select).
func (f Future) Done() <-chan struct{} {
	if f.pb == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return f.pb.done
}

// enqueue queues one append and wakes the sequencer if needed.
func (l *Log) enqueue(ctx context.Context, key, record []byte) Future {
	l.mu.Lock()
	f, wake := l.enqueueLocked(ctx, key, record)
	l.mu.Unlock()
	if wake {
		l.wakeSequencer()
	}
	return f
}

func (l *Log) wakeSequencer() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// enqueueLocked queues one append; l.mu is held (and may be released and
// taken again while it waits for room). It reports whether the sequencer
// must be woken.
func (l *Log) enqueueLocked(ctx context.Context, key, record []byte) (_ Future, wake bool) {
	if len(record) > l.opts.MaxRecordSize {
		return Future{err: fmt.Errorf("%w: record of %d bytes > %d", ErrInvalid, len(record), l.opts.MaxRecordSize)}, false
	}
	if len(key) > l.opts.MaxKeySize {
		return Future{err: fmt.Errorf("%w: key of %d bytes > %d", ErrInvalid, len(key), l.opts.MaxKeySize)}, false
	}
	if l.opts.ReadOnly {
		return Future{err: ErrReadOnly}, false
	}
	for {
		if l.closed {
			return Future{err: ErrClosed}, false
		}
		if l.stopErr != nil {
			return Future{err: l.stopErr}, false
		}
		if l.queued < l.opts.MaxPending {
			break
		}
		// Too much queued: wait for the sequencer to take a batch (and
		// make sure it knows there is one: AppendBatch wakes it only at
		// the end).
		room := l.room
		l.wakeSequencer()
		l.mu.Unlock()
		select {
		case <-room:
			l.mu.Lock()
		case <-ctx.Done():
			l.mu.Lock()
			return Future{err: ctx.Err()}, false
		}
	}
	pb := l.pending
	if len(pb.reqs) >= l.opts.MaxBatchRecords || (len(pb.reqs) > 0 && pb.bytes+len(record) > l.opts.MaxBatchBytes) {
		l.queue = append(l.queue, pb)
		pb = &pendingBatch{done: make(chan struct{})}
		l.pending = pb
	}
	pos := len(pb.reqs)
	// Copies, into the batch's arena: the caller may reuse its buffers as
	// soon as the append is queued.
	pb.reqs = append(pb.reqs, request{key: pb.clone(key), record: pb.clone(record)})
	pb.bytes += len(record)
	l.queued++
	if l.lingerTarget > 0 && len(pb.reqs) >= l.lingerTarget {
		l.lingerTarget = 0
		close(l.full)
	}
	return Future{pb: pb, pos: pos}, pos == 0
}

// clone copies b (nil stays nil) into the batch's arena, which is
// allocated in blocks so that small records cost no allocation each.
func (pb *pendingBatch) clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	if len(b) > cap(pb.arena)-len(pb.arena) {
		if len(b) > arenaBlock/4 {
			return bytes.Clone(b)
		}
		pb.arena = make([]byte, 0, arenaBlock)
	}
	n := len(pb.arena)
	pb.arena = append(pb.arena, b...)
	return pb.arena[n:len(pb.arena):len(pb.arena)]
}

const arenaBlock = 64 << 10

// take removes the next batch to commit, or returns nil.
func (l *Log) take() *pendingBatch {
	l.mu.Lock()
	defer l.mu.Unlock()
	var pb *pendingBatch
	switch {
	case len(l.queue) > 0:
		pb = l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
	case len(l.pending.reqs) > 0:
		pb = l.pending
		l.pending = &pendingBatch{done: make(chan struct{})}
	default:
		return nil
	}
	if l.queued >= l.opts.MaxPending {
		close(l.room)
		l.room = make(chan struct{})
	}
	l.queued -= len(pb.reqs)
	l.stats.inflight.Add(int64(len(pb.reqs)))
	return pb
}

// sequence is the sequencer goroutine. It sequences, signs and hands
// batches to the backend, and passes them in order to the completer
// (complete), which waits until each is durable, publishes it and answers
// its callers. With a Pipeliner backend, batches queued while earlier ones
// are being synced go to the backend at once and are synced together
// next, so syncs follow each other without a gap; batches still become
// durable, get published and are answered in order.
func (l *Log) sequence(ctx context.Context) {
	depth := l.opts.PipelineDepth
	if _, ok := l.b.(Pipeliner); !ok {
		depth = 1
	}
	flights := make(chan *flight, depth)
	sem := make(chan struct{}, depth)
	completed := make(chan struct{})
	go func() {
		defer close(completed)
		for f := range flights {
			l.complete(f)
			<-sem
		}
	}()
	defer func() {
		close(flights)
		<-completed
		close(l.exited)
	}()
	quit := false
	for {
		// Take a batch only when it can go to the backend at once, so that
		// requests keep joining it until then.
		sem <- struct{}{}
		l.linger()
		pb := l.take()
		if pb == nil {
			<-sem
			if quit {
				return
			}
			// After quit, Append queues nothing new: commit what is queued.
			select {
			case <-l.wake:
			case <-l.quit:
				quit = true
			}
			continue
		}
		flights <- l.submit(ctx, pb)
	}
}

// linger waits, right after a batch was answered, for its callers to
// append again (see Options.Linger).
func (l *Log) linger() {
	l.mu.Lock()
	target, until, full := l.lingerTarget, l.lingerUntil, l.full
	queued := len(l.pending.reqs)
	l.mu.Unlock()
	if target == 0 || queued >= target {
		return
	}
	d := time.Until(until)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-full:
	case <-t.C:
	case <-l.quit:
	}
	l.mu.Lock()
	l.lingerTarget = 0
	l.mu.Unlock()
}

// A flight is a batch handed to the backend and not yet answered.
type flight struct {
	pb   *pendingBatch
	err  error        // set if the batch failed before or at submission
	wait func() error // waits until the batch is durable
	snap *snapshot    // to publish once durable; nil if nothing new

	// For Stats: when the batch was taken and written, whether a commit
	// was attempted, and what it wrote.
	start, written time.Time
	wrote          bool
	records, bytes int
}

// complete waits for f to be durable, publishes it and answers its callers.
func (l *Log) complete(f *flight) {
	err := f.err
	if err == nil && f.wait != nil {
		if werr := f.wait(); werr != nil {
			err = l.stop(fmt.Errorf("storage: commit of records up to %d: %w", f.snap.tree.N-1, werr))
		}
	}
	if err == nil {
		l.mu.Lock()
		err = l.stopErr // an earlier batch failed: this one must not be published
		l.mu.Unlock()
	}
	if err == nil && f.snap != nil {
		l.snap.Store(f.snap)
	}
	l.count(f, err)
	if l.opts.Linger > 0 {
		l.mu.Lock()
		l.lingerTarget = min(len(f.pb.reqs)+len(l.pending.reqs), l.opts.MaxBatchRecords)
		l.lingerUntil = time.Now().Add(l.opts.Linger)
		l.full = make(chan struct{}) // closed by append when the target is reached
		l.mu.Unlock()
	}
	// Futures keep the batch: let the records go.
	f.pb.reqs, f.pb.arena = nil, nil
	f.pb.err = err
	close(f.pb.done)
}

// count adds the outcome of f to the Log's stats.
func (l *Log) count(f *flight, err error) {
	st := l.stats
	n := int64(len(f.pb.reqs))
	st.inflight.Add(-n)
	st.batchRequests.observe(float64(n))
	switch {
	case err != nil:
		st.appendErrors.Add(n)
		if f.wrote {
			st.commitErrors.Add(1)
		}
	case f.snap != nil:
		now := time.Now()
		st.appends.Add(n)
		st.commits.Add(1)
		st.records.Add(int64(f.records))
		st.bytes.Add(int64(f.bytes))
		st.published.Store(now.UnixNano())
		st.commitSec.observe(now.Sub(f.start).Seconds())
		st.syncSec.observe(now.Sub(f.written).Seconds())
	default: // nothing new: every key was logged already
		st.appends.Add(n)
	}
}

// stop makes the log fail-stop with cause.
func (l *Log) stop(cause error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopErr == nil {
		l.stopErr = fmt.Errorf("%w: %w", ErrStopped, cause)
	}
	return l.stopErr
}

// submit sequences one batch and hands it to the backend.
func (l *Log) submit(ctx context.Context, pb *pendingBatch) *flight {
	f := &flight{pb: pb, start: time.Now()}
	l.mu.Lock()
	stopErr := l.stopErr
	l.mu.Unlock()
	if stopErr != nil {
		f.err = stopErr
		return f
	}

	e := l.edge
	oldN := e.n
	pb.index = make([]int64, len(pb.reqs))
	pb.existed = make([]bool, len(pb.reqs))
	keys, err := l.lookupKeys(ctx, pb, oldN)
	if err != nil {
		f.err = err
		return f
	}
	records := make([][]byte, 0, len(pb.reqs))
	for i, r := range pb.reqs {
		if r.key != nil {
			if p := keys.first[i]; p != i {
				// A later request for a key earlier in the batch.
				pb.index[i], pb.existed[i] = pb.index[p], true
				continue
			}
			if pb.existed[i] {
				continue
			}
		}
		pb.index[i] = oldN + int64(len(records))
		records = append(records, r.record)
	}
	if len(records) == 0 {
		return f
	}

	var batch Batch
	leaves := make([]tlog.Hash, len(records))
	sha256x.Leaves(asArrays(leaves), records)
	writeRecords(&batch, e, &l.part, records, leaves)
	newN := e.n
	l.lastTime = setTime(&batch, oldN, newN, nextTime(l.lastTime))

	// Key index, in key order.
	vals := make([]byte, 0, binary.MaxVarintLen64*len(keys.uniq))
	for j, p := range keys.uniq {
		if !pb.existed[p] {
			n := len(vals)
			vals = binary.AppendUvarint(vals, uint64(pb.index[p]))
			batch.Set(keys.index[j], vals[n:len(vals):len(vals)])
		}
	}

	// The new checkpoint.
	tree := tlog.Tree{N: newN, Hash: e.treeHash()}
	signed, err := l.sign(tree)
	if err != nil {
		f.err = l.stop(err)
		return f
	}
	batch.Set(keyCheckpoint, signed)
	f.snap = &snapshot{tree: tree, checkpoint: signed, rows: e.rows}

	f.wrote, f.records, f.bytes = true, len(records), batch.Size()
	if p, ok := l.b.(Pipeliner); ok {
		f.wait, err = p.CommitPipelined(ctx, &batch)
	} else {
		err = l.b.Commit(ctx, &batch)
	}
	f.written = time.Now()
	if err != nil {
		f.err = l.stop(fmt.Errorf("storage: commit of records %d..%d: %w", oldN, newN-1, err))
	}
	return f
}

// batchKeys are the keys of a batch's keyed requests.
type batchKeys struct {
	// first[i] is the position of the first request in the batch with the
	// key of keyed request i (i itself if it is the first).
	first []int
	// uniq are the positions of the first requests of each key, in key
	// order, and index their key index keys.
	uniq  []int
	index [][]byte
}

// lookupKeys finds the keyed requests of pb whose key already has a record,
// in the batch or in the key index, and sets their index and existed. It
// reads the key index of all keys in one go, in key order (with one
// iterator if the backend is a MultiGetter).
func (l *Log) lookupKeys(ctx context.Context, pb *pendingBatch, oldN int64) (batchKeys, error) {
	var keys batchKeys
	var pos []int
	size := 0
	for i, r := range pb.reqs {
		if r.key != nil {
			pos = append(pos, i)
			size += 1 + len(r.key)
		}
	}
	if len(pos) == 0 {
		return keys, nil
	}
	reqs := pb.reqs
	slices.SortFunc(pos, func(a, b int) int {
		if c := bytes.Compare(reqs[a].key, reqs[b].key); c != 0 {
			return c
		}
		return a - b
	})
	keys.first = make([]int, len(reqs))
	buf := make([]byte, 0, size)
	for j, p := range pos {
		if j > 0 && bytes.Equal(reqs[pos[j-1]].key, reqs[p].key) {
			keys.first[p] = keys.first[pos[j-1]]
			continue
		}
		keys.first[p] = p
		keys.uniq = append(keys.uniq, p)
		n := len(buf)
		buf = append(buf, prefixKey)
		buf = append(buf, reqs[p].key...)
		keys.index = append(keys.index, buf[n:len(buf):len(buf)])
	}
	vals, err := l.getMany(ctx, keys.index)
	if err != nil {
		// Nothing is written yet: fail this batch only.
		return keys, fmt.Errorf("storage: reading key index: %w", err)
	}
	for j, p := range keys.uniq {
		v := vals[j]
		if v == nil {
			continue
		}
		idx, w := binary.Uvarint(v)
		if w <= 0 || w != len(v) || idx >= uint64(oldN) {
			return keys, l.stop(fmt.Errorf("%w: key index entry %q = %x", ErrCorrupt, reqs[p].key, v))
		}
		pb.index[p], pb.existed[p] = int64(idx), true
	}
	return keys, nil
}

// getMany reads keys (in increasing order) from the backend: the value of
// each, or nil if it is not stored.
func (l *Log) getMany(ctx context.Context, keys [][]byte) ([][]byte, error) {
	if m, ok := l.b.(MultiGetter); ok {
		vals, err := m.GetMany(ctx, keys)
		if err == nil && len(vals) != len(keys) {
			err = fmt.Errorf("%w: GetMany returned %d values for %d keys", ErrCorrupt, len(vals), len(keys))
		}
		return vals, err
	}
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := l.b.Get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if v == nil {
			v = []byte{}
		}
		vals[i] = v
	}
	return vals, nil
}

// Close stops accepting appends (they fail with ErrClosed), commits those
// already queued, stops the sequencer and closes the backend. Reads after
// Close fail.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.mu.Unlock()
	close(l.quit)
	<-l.exited
	return l.b.Close()
}
