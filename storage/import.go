package storage

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/tlogkit/tlogkit/internal/sha256x"
	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/tlog"
)

// An imported log is a copy of another log (the origin), whose record
// indexes and signed checkpoints are the origin's: an [Importer] stores
// records at the indexes the origin gave them and publishes the origin's
// own signed checkpoints, never signing anything itself. A read-only
// [Log] (Options.ReadOnly with the origin's Origin and Verifier) on the
// same backend serves it; [Log.Refresh] publishes each checkpoint the
// Importer stored.
//
// Importing a tree of the origin goes in steps: [Importer.SetTarget]
// names the signed checkpoint being imported; each [Importer.Append]
// stores the next records, with the hash tiles they complete and their
// key index entries, in one synced commit, and only if the tree they make
// hashes to the value the caller authenticated against the target (for
// example with a tile.Verifier); the Append that reaches the target's
// size stores the target as the log's checkpoint in the same commit.
// Records beyond the published checkpoint are durable and verified but
// not served until then; a restart continues after them.
//
// Keys used by an imported store, besides those of a Log (see keys.go):
//
//	"i"  import state: uvarint(n) || hash of the tree of n records (32) || target signed checkpoint
//	"h"  halt report (opaque bytes; see Importer.Halt)

const (
	prefixImport = 'i'
	prefixHalt   = 'h'
)

var (
	keyImport = []byte{prefixImport}
	keyHalt   = []byte{prefixHalt}
)

// Errors of the import path.
var (
	// ErrMismatch: the records given to Append do not make the tree the
	// caller authenticated (or a target does not contain the stored tree).
	// Nothing was written.
	ErrMismatch = errors.New("storage: imported records do not match the authenticated tree")
	// ErrHalted: the store holds a halt report (Importer.Halt); importing
	// is refused until it is cleared.
	ErrHalted = errors.New("storage: import halted")
)

// ImportOptions configure [OpenImport]. Origin and Verifier are required.
type ImportOptions struct {
	// Origin is the first line of the origin's checkpoints, and Verifier
	// checks their signatures.
	Origin   string
	Verifier note.Verifier
	// MaxRecordSize is the largest record accepted. Zero means 65535.
	MaxRecordSize int
	// MaxKeySize is the largest key accepted. Zero means 1024.
	MaxKeySize int

	// Key, if set, returns the key index key of a record (nil for none),
	// and Append's keys must then be nil: the Importer derives the keys
	// itself, beside the leaf hashes, and holds them in memory across
	// Appends until IndexBuffer bytes are pending or a target is reached,
	// when it writes them as one sorted run in that Append's commit. A few
	// large runs cost a store such as Pebble far less merging than one
	// small run of random keys per batch. Pending keys survive a crash
	// because their records do: OpenImport derives them again. A
	// published checkpoint always has every key of its tree indexed.
	Key func(record []byte) []byte
	// IndexBuffer bounds the memory of pending keys (with Key). Zero
	// means 64 MiB; at most 1 GiB.
	IndexBuffer int
}

// An Importer writes an imported log into a [Backend]. Its methods may be
// called from several goroutines but run one at a time. The caller owns
// the backend: Close does not close it.
type Importer struct {
	b         Backend
	opts      ImportOptions
	verifiers note.Verifiers

	mu         sync.Mutex
	edge       *edge
	part       partialData
	hash       tlog.Hash // of the tree of edge.n records
	checkpoint []byte    // published ("c"), nil if none
	tree       tlog.Tree
	target     []byte
	targetTree tlog.Tree
	halt       []byte
	closed     bool
	indexed    int64        // records whose keys are stored
	pend       pendingIndex // keys of records indexed..edge.n-1 (with opts.Key)
	failed     error        // a commit failed: the in-memory state may be ahead
}

// OpenImport opens the imported log in b, or prepares an empty one if b
// is empty. It checks the stored checkpoint and target against Verifier
// and Origin, and that the stored right edge hashes to the recorded
// state.
func OpenImport(ctx context.Context, b Backend, opts ImportOptions) (*Importer, error) {
	if opts.Origin == "" || strings.Contains(opts.Origin, "\n") || opts.Verifier == nil {
		return nil, fmt.Errorf("%w: ImportOptions.Origin (one line) and Verifier are required", ErrInvalid)
	}
	if opts.MaxRecordSize <= 0 {
		opts.MaxRecordSize = 1<<16 - 1
	}
	if opts.MaxRecordSize > 1<<24 {
		return nil, fmt.Errorf("%w: ImportOptions.MaxRecordSize %d > 1<<24", ErrInvalid, opts.MaxRecordSize)
	}
	if opts.MaxKeySize <= 0 {
		opts.MaxKeySize = 1024
	}
	if opts.IndexBuffer <= 0 {
		opts.IndexBuffer = 64 << 20
	}
	if opts.IndexBuffer > 1<<30 {
		return nil, fmt.Errorf("%w: ImportOptions.IndexBuffer %d > 1 GiB", ErrInvalid, opts.IndexBuffer)
	}
	im := &Importer{b: b, opts: opts, verifiers: note.VerifierList(opts.Verifier), hash: emptyTreeHash}

	halt, err := b.Get(ctx, keyHalt)
	switch {
	case err == nil:
		im.halt = halt
	case !errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("storage: reading halt report: %w", err)
	}
	signed, err := b.Get(ctx, keyCheckpoint)
	switch {
	case err == nil:
		im.tree, err = im.open(signed)
		if err != nil {
			return nil, fmt.Errorf("storage: stored checkpoint: %w", err)
		}
		im.checkpoint = signed
	case !errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("storage: reading checkpoint: %w", err)
	}
	state, err := b.Get(ctx, keyImport)
	n := im.tree.N
	switch {
	case err == nil:
		var tn uint64
		var w int
		tn, w = binary.Uvarint(state)
		if w <= 0 || tn > 1<<62 || len(state) < w+tlog.HashSize {
			return nil, fmt.Errorf("%w: import state %x", ErrCorrupt, state[:min(len(state), 64)])
		}
		n = int64(tn)
		copy(im.hash[:], state[w:])
		im.target = state[w+tlog.HashSize:]
		if im.targetTree, err = im.open(im.target); err != nil {
			return nil, fmt.Errorf("storage: stored import target: %w", err)
		}
		if n < im.tree.N || n > im.targetTree.N {
			return nil, fmt.Errorf("%w: import state at %d records, checkpoint %d, target %d", ErrCorrupt, n, im.tree.N, im.targetTree.N)
		}
	case errors.Is(err, ErrNotFound):
		if im.checkpoint != nil {
			return nil, fmt.Errorf("%w: store has a checkpoint but no import state: not an imported log", ErrCorrupt)
		}
	default:
		return nil, fmt.Errorf("storage: reading import state: %w", err)
	}
	if im.checkpoint == nil && n == 0 && im.target == nil {
		empty := true
		err := b.Scan(ctx, nil, nil, func(k, v []byte) error {
			if len(k) == 1 && k[0] == prefixHalt {
				return nil
			}
			empty = false
			return errStopScan
		})
		if err != nil && err != errStopScan {
			return nil, fmt.Errorf("storage: scanning store: %w", err)
		}
		if !empty {
			return nil, fmt.Errorf("%w: store has data but no import state", ErrCorrupt)
		}
	} else {
		version, err := b.Get(ctx, keyVersion)
		if err != nil || !bytes.Equal(version, formatVersion) {
			return nil, fmt.Errorf("%w: missing or unknown format version %q (%v)", ErrCorrupt, version, err)
		}
	}
	recs, err := im.part.load(ctx, b, n, opts.MaxRecordSize)
	if err != nil {
		return nil, err
	}
	im.edge, err = backendEdge(ctx, b, n, recs)
	if err != nil {
		return nil, err
	}
	if h := im.edge.treeHash(); h != im.hash {
		return nil, fmt.Errorf("%w: stored records and tiles hash to %v, import state says %v", ErrCorrupt, h, im.hash)
	}
	if im.checkpoint != nil && n == im.tree.N && im.hash != im.tree.Hash {
		return nil, fmt.Errorf("%w: stored tree hashes to %v, checkpoint says %v", ErrCorrupt, im.hash, im.tree.Hash)
	}
	if im.indexed, err = loadIndexed(ctx, b, n); err != nil {
		return nil, err
	}
	if im.indexed < im.tree.N {
		return nil, fmt.Errorf("%w: %d records have stored keys, the published checkpoint has %d", ErrCorrupt, im.indexed, im.tree.N)
	}
	if im.indexed < n {
		// The keys pending at a crash: derive them again.
		if opts.Key == nil {
			return nil, fmt.Errorf("%w: records %d..%d have no stored keys: open with ImportOptions.Key", ErrInvalid, im.indexed, n-1)
		}
		recs, err := readStored(ctx, b, im.indexed, n, opts.MaxRecordSize)
		if err != nil {
			return nil, err
		}
		keys := make([][]byte, len(recs))
		for i, r := range recs {
			keys[i] = opts.Key(r)
		}
		im.pend.add(keys, im.indexed)
	}
	return im, nil
}

// open verifies a signed checkpoint of the origin.
func (im *Importer) open(signed []byte) (tlog.Tree, error) {
	c, _, err := note.OpenCheckpoint(signed, im.opts.Origin, im.verifiers)
	if errors.Is(err, note.ErrWrongOrigin) {
		return tlog.Tree{}, fmt.Errorf("%w: %w", ErrOrigin, err)
	}
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("%w: %w", ErrVerify, err)
	}
	if c.N < 0 || c.N > 1<<62 {
		return tlog.Tree{}, fmt.Errorf("%w: tree size %d", ErrVerify, c.N)
	}
	return c.Tree(), nil
}

// N returns the number of records stored (published or not), and the
// hash of their tree.
func (im *Importer) N() (int64, tlog.Hash) {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.edge.n, im.hash
}

// Checkpoint returns the published signed checkpoint (the origin's) and
// its tree; signed is nil before the first import completes.
func (im *Importer) Checkpoint() (signed []byte, tree tlog.Tree) {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.checkpoint, im.tree
}

// Target returns the signed checkpoint being imported (the published one
// once it is complete), nil if none.
func (im *Importer) Target() (signed []byte, tree tlog.Tree) {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.target, im.targetTree
}

// Halted returns the halt report stored by Halt, or nil.
func (im *Importer) Halted() []byte {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.halt
}

// usable reports why the importer cannot write; im.mu is held.
func (im *Importer) usable() error {
	switch {
	case im.closed:
		return ErrClosed
	case im.failed != nil:
		return fmt.Errorf("%w: %w", ErrStopped, im.failed)
	case im.halt != nil:
		return ErrHalted
	}
	return nil
}

// SetTarget makes signed, a checkpoint of the origin, the tree being
// imported. Its tree must hold at least the N stored records, and
// hashAtN must be the hash of its first N records as the caller
// authenticated it against signed: if it is not the stored tree's hash,
// SetTarget fails with ErrMismatch (with nothing stored, hashAtN is not
// used). If signed's tree is the stored tree,
// it is published at once. The target is stored in one synced commit.
func (im *Importer) SetTarget(ctx context.Context, signed []byte, hashAtN tlog.Hash) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.usable(); err != nil {
		return err
	}
	tree, err := im.open(signed)
	if err != nil {
		return err
	}
	n := im.edge.n
	if tree.N < n {
		return fmt.Errorf("%w: target has %d records, %d are stored", ErrMismatch, tree.N, n)
	}
	switch {
	case tree.N == n:
		hashAtN = tree.Hash
	case n == 0:
		hashAtN = emptyTreeHash
	}
	if hashAtN != im.hash {
		return fmt.Errorf("%w: target's tree of %d records hashes to %v, the stored one to %v", ErrMismatch, n, hashAtN, im.hash)
	}
	var batch Batch
	batch.Set(keyVersion, formatVersion)
	im.setState(&batch, n, signed)
	// The index state too, so that a store without it is one written
	// before there was one, with every key stored.
	batch.Set(keyIndexed, binary.AppendUvarint(nil, uint64(im.indexed)))
	publish := tree.N == n
	var run *Batch
	if publish {
		batch.Set(keyCheckpoint, signed)
		run = im.flushIndex(&batch, n)
	}
	if err := im.commit(ctx, &batch, run, 0); err != nil {
		im.failed = err
		return fmt.Errorf("storage: committing import target: %w", err)
	}
	im.target, im.targetTree = signed, tree
	if publish {
		im.checkpoint, im.tree = signed, tree
		im.indexFlushed(n)
	}
	return nil
}

// setState adds the import state to batch. (The format version is
// stored with the first target, which every Append comes after.)
func (im *Importer) setState(batch *Batch, n int64, target []byte) {
	state := binary.AppendUvarint(nil, uint64(n))
	state = append(state, im.hash[:]...)
	state = append(state, target...)
	batch.Set(keyImport, state)
}

// Append stores records as the records N, N+1, ... of the log, each
// under its key in keys (keys is nil or has one entry per record; a nil
// entry is unkeyed; a key the origin logged twice maps to its last
// record), in one synced commit with the hash tiles they complete. hash
// must be the hash of the first N+len(records) records of the target's
// tree, as the caller authenticated it (at the target's size, the
// target's own hash is used): Append computes the tree of the records
// and fails with ErrMismatch, writing nothing, if it hashes to anything
// else. The commit that reaches the target's size also stores the target
// as the published checkpoint.
//
// A failed commit stops the Importer (ErrStopped); reopening it is the
// recovery.
func (im *Importer) Append(ctx context.Context, records, keys [][]byte, hash tlog.Hash) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.usable(); err != nil {
		return err
	}
	if im.target == nil {
		return fmt.Errorf("%w: Append without a target", ErrInvalid)
	}
	if keys != nil && len(keys) != len(records) {
		return fmt.Errorf("%w: %d keys for %d records", ErrInvalid, len(keys), len(records))
	}
	if keys != nil && im.opts.Key != nil {
		return fmt.Errorf("%w: keys given to Append with ImportOptions.Key set", ErrInvalid)
	}
	oldN := im.edge.n
	newN := oldN + int64(len(records))
	if newN > im.targetTree.N {
		return fmt.Errorf("%w: records %d..%d beyond the target's %d", ErrInvalid, oldN, newN-1, im.targetTree.N)
	}
	if len(records) == 0 {
		return nil
	}
	for i, r := range records {
		if len(r) > im.opts.MaxRecordSize {
			return fmt.Errorf("%w: record %d of %d bytes > %d", ErrInvalid, oldN+int64(i), len(r), im.opts.MaxRecordSize)
		}
	}
	if newN == im.targetTree.N {
		hash = im.targetTree.Hash
	}

	leaves := make([]tlog.Hash, len(records))
	deferred := im.opts.Key != nil
	if deferred {
		keys = make([][]byte, len(records))
	}
	hashLeaves(leaves, records, im.opts.Key, keys)
	for i, k := range keys {
		if k != nil && (len(k) == 0 || len(k) > im.opts.MaxKeySize) {
			return fmt.Errorf("%w: key of record %d has %d bytes", ErrInvalid, oldN+int64(i), len(k))
		}
	}
	// Work on copies of the edge and the partial data tile, so that a
	// mismatch leaves the Importer as it was.
	e := &edge{n: im.edge.n, rows: im.edge.rows}
	for L := range e.rows {
		e.rows[L] = cloneRows(e.rows[L])
	}
	part := partialData{data: bytes.Clone(im.part.data), offs: append([]int(nil), im.part.offs...), n: im.part.n}
	var batch Batch
	writeRecords(&batch, e, &part, records, leaves)
	if h := e.treeHash(); h != hash {
		return fmt.Errorf("%w: records %d..%d make a tree of %d records with hash %v, want %v", ErrMismatch, oldN, newN-1, newN, h, hash)
	}
	var flushed bool
	var run *Batch
	if deferred {
		// Pending keys go to the index in this commit once there are
		// enough, and always with the target's last records.
		size := im.pend.size()
		for _, k := range keys {
			size += len(k) + pendingKeyCost
		}
		if flushed = size >= im.opts.IndexBuffer || newN == im.targetTree.N; flushed {
			im.pend.add(keys, oldN)
			run = im.flushIndex(&batch, newN)
		}
	} else if keys != nil {
		var vals []byte
		for i, k := range keys {
			if k == nil {
				continue
			}
			n := len(vals)
			vals = binary.AppendUvarint(vals, uint64(oldN+int64(i)))
			batch.Set(indexKey(k), vals[n:len(vals):len(vals)])
		}
	}
	if !deferred {
		batch.Set(keyIndexed, binary.AppendUvarint(nil, uint64(newN)))
	}
	prevHash := im.hash
	im.hash = hash
	im.setState(&batch, newN, im.target)
	publish := newN == im.targetTree.N
	if publish {
		batch.Set(keyCheckpoint, im.target)
	}
	if err := im.commit(ctx, &batch, run, len(records)); err != nil {
		im.hash = prevHash
		im.failed = err
		return fmt.Errorf("storage: commit of imported records %d..%d: %w", oldN, newN-1, err)
	}
	im.edge, im.part = e, part
	switch {
	case flushed:
		im.indexFlushed(newN)
	case deferred:
		im.pend.add(keys, oldN)
	default:
		im.indexed = newN
	}
	if publish {
		im.checkpoint, im.tree = im.target, im.targetTree
	}
	return nil
}

// flushIndex returns the pending keys as one sorted run of index entries
// (nil if none are pending) and adds the index state of n records to
// batch; indexFlushed records that both were committed.
func (im *Importer) flushIndex(batch *Batch, n int64) *Batch {
	if n == im.indexed {
		return nil
	}
	batch.Set(keyIndexed, binary.AppendUvarint(nil, uint64(n)))
	return im.pend.run()
}

func (im *Importer) indexFlushed(n int64) {
	im.pend.reset()
	im.indexed = n
}

// ingestMin is the fewest records for which Append stores its batch with
// an [Ingester]: a smaller one is cheaper through Commit, and each ingest
// makes a few small tables.
const ingestMin = 4096

// commit stores the batch of an Append of n records and the index run
// (if any; the batch then has no index entries of its own): with one
// Ingest if the backend is an Ingester and the batch is large, else with
// Commit.
func (im *Importer) commit(ctx context.Context, batch, run *Batch, n int) error {
	runLen := 0
	if run != nil {
		runLen = run.Len()
	}
	if ing, ok := im.b.(Ingester); ok && (n >= ingestMin || runLen >= ingestMin) {
		parts := ingestParts(batch)
		if runLen > 0 {
			at, _ := slices.BinarySearchFunc(parts, prefixKey, func(p *Batch, k byte) int {
				return cmp.Compare(p.Ops()[0].Key[0], k)
			})
			parts = slices.Insert(parts, at, run)
		}
		return ing.Ingest(ctx, parts)
	}
	if run != nil {
		for _, op := range run.Ops() {
			batch.Set(op.Key, op.Value)
		}
	}
	return im.b.Commit(ctx, batch)
}

// ingestParts splits batch into the parts an Ingester places on their
// own, in key order: one for each kind of key, with the level-0 hash
// tiles apart from the higher levels, whose partial tiles are rewritten.
// The records and the level-0 tiles of an import only ever get new keys,
// so they never overlap what is stored.
func ingestParts(batch *Batch) []*Batch {
	group := func(key []byte) int {
		g := int(key[0]) * 2
		if key[0] == prefixIndexed {
			g = prefixImport * 2 // the two state keys, adjacent, in one part
		}
		if key[0] == prefixTile && len(key) > 1 && key[1] != 0 {
			g++
		}
		return g
	}
	var parts []*Batch
	var groups []int
	for _, op := range batch.Ops() {
		g := group(op.Key)
		i := slices.Index(groups, g)
		if i < 0 {
			i = len(groups)
			groups = append(groups, g)
			parts = append(parts, &Batch{})
		}
		if op.Delete {
			parts[i].Delete(op.Key)
		} else {
			parts[i].Set(op.Key, op.Value)
		}
	}
	// Sort the parts by group, which is key order.
	idx := make([]int, len(parts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return groups[a] - groups[b] })
	sorted := make([]*Batch, len(parts))
	for i, j := range idx {
		sorted[i] = parts[j]
	}
	return sorted
}

// cloneRows copies the rows of a partial tile, so that appending to the
// copy does not write into the original's arrays.
func cloneRows(rows tileRows) tileRows {
	if rows[0] == nil {
		return rows
	}
	c := newTileRows()
	for r := range rows {
		c[r] = append(c[r], rows[r]...)
	}
	return c
}

// hashLeaves computes the leaf hashes of records and, if key is set,
// their keys, on all cores for a large batch.
func hashLeaves(leaves []tlog.Hash, records [][]byte, key func([]byte) []byte, keys [][]byte) {
	do := func(i, j int) {
		sha256x.Leaves(asArrays(leaves[i:j]), records[i:j])
		if key != nil {
			for k := i; k < j; k++ {
				keys[k] = key(records[k])
			}
		}
	}
	const minPart = 4096
	parts := min(runtime.GOMAXPROCS(0), len(records)/minPart)
	if parts <= 1 {
		do(0, len(records))
		return
	}
	var wg sync.WaitGroup
	per := (len(records) + parts - 1) / parts
	for i := 0; i < len(records); i += per {
		j := min(i+per, len(records))
		wg.Go(func() { do(i, j) })
	}
	wg.Wait()
}

// Halt stores report (for example a proof that the origin misbehaved)
// and refuses every later SetTarget and Append, also after a restart,
// until ClearHalt. The published log stays served.
func (im *Importer) Halt(ctx context.Context, report []byte) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		return ErrClosed
	}
	if len(report) == 0 {
		return fmt.Errorf("%w: empty halt report", ErrInvalid)
	}
	var batch Batch
	batch.Set(keyHalt, bytes.Clone(report))
	if err := im.b.Commit(ctx, &batch); err != nil {
		return fmt.Errorf("storage: storing halt report: %w", err)
	}
	im.halt = bytes.Clone(report)
	return nil
}

// ClearHalt removes the halt report (an operator's decision).
func (im *Importer) ClearHalt(ctx context.Context) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		return ErrClosed
	}
	var batch Batch
	batch.Delete(keyHalt)
	if err := im.b.Commit(ctx, &batch); err != nil {
		return fmt.Errorf("storage: removing halt report: %w", err)
	}
	im.halt = nil
	return nil
}

// Close makes later calls fail with ErrClosed. It does not close the
// backend.
func (im *Importer) Close() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		return ErrClosed
	}
	im.closed = true
	return nil
}
