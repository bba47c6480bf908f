package storage

import (
	"context"
	"errors"
)

// A Backend is the small key-value store a [Log] keeps its data in.
// Keys and values are byte strings; keys are ordered bytewise.
//
// The contract, which [storagetest.Run] checks for any implementation:
//
//   - Get returns a copy of the value stored under key, or an error wrapping
//     [ErrNotFound] if there is none.
//   - Scan calls fn for every key k with start <= k < end, in increasing
//     order (a nil end means no upper bound). It sees one consistent state:
//     a Commit running concurrently is seen entirely or not at all. key and
//     value are valid only during the call; an error from fn stops the scan
//     and is returned.
//   - Commit applies all operations of the batch atomically and durably:
//     when it returns nil, the batch survives a crash of the process and of
//     the machine; when it returns an error, the batch may or may not have
//     been applied (the [Log] treats that as fatal and stops). Operations
//     apply in order, so a later Set or Delete of the same key wins.
//   - After Close, every method returns an error.
//
// Get, Scan and Commit may be called concurrently with each other.
type Backend interface {
	Get(ctx context.Context, key []byte) ([]byte, error)
	Scan(ctx context.Context, start, end []byte, fn func(key, value []byte) error) error
	Commit(ctx context.Context, b *Batch) error
	Close() error
}

// A Pipeliner is a Backend that accepts the next batch before the previous
// one is durable, so that a Log can sequence and sign a batch while the one
// before it is being synced.
//
// CommitPipelined applies b after every batch committed before it; when it
// returns nil, b is visible to Get and Scan (but maybe not yet durable).
// The returned wait function returns nil once b is durable, which implies
// that every batch before it is durable too; an error from either means b
// may or may not be applied. wait must be called exactly once.
type Pipeliner interface {
	Backend
	CommitPipelined(ctx context.Context, b *Batch) (wait func() error, err error)
}

// An Ingester is a Backend that stores a large batch faster than Commit,
// for example by writing it as sorted files that the store links in whole
// instead of through its write-ahead log and memory. An [Importer] uses it
// for large batches.
//
// Ingest applies the operations of all parts atomically and durably, as
// one Commit of them in order would: when it returns nil, all of it
// survives a crash; when it returns an error, any of it may or may not be
// applied. The parts hold disjoint key ranges in increasing order (every
// key of a part is greater than every key of the part before; Ingest
// fails with [ErrInvalid] otherwise), so that a backend may place each
// part on its own: a part whose keys are all beyond the stored ones need
// never be rewritten. Empty parts are allowed.
type Ingester interface {
	Backend
	Ingest(ctx context.Context, parts []*Batch) error
}

// A MultiGetter is a Backend that reads many keys at once faster than with
// one Get each (for example with one iterator); the Log uses it to look up
// the keys of a batch of keyed appends.
//
// GetMany returns one value per key: a copy of the value stored under
// keys[i], or nil if there is none (an empty stored value is a non-nil
// empty slice). keys must be in strictly increasing order. All values come
// from one consistent state, as for Scan.
type MultiGetter interface {
	Backend
	GetMany(ctx context.Context, keys [][]byte) ([][]byte, error)
}

// A Batch is a list of writes that a [Backend] applies atomically.
// The zero Batch is empty and ready to use.
type Batch struct {
	ops   []Op
	bytes int
}

// An Op is one write in a [Batch]: store Value under Key, or remove Key if
// Delete is set.
type Op struct {
	Key, Value []byte
	Delete     bool
}

// Set adds a write of value under key. The batch keeps both slices; the
// caller must not modify them until the batch is committed.
func (b *Batch) Set(key, value []byte) {
	b.ops = append(b.ops, Op{Key: key, Value: value})
	b.bytes += len(key) + len(value)
}

// Delete adds the removal of key.
func (b *Batch) Delete(key []byte) {
	b.ops = append(b.ops, Op{Key: key, Delete: true})
	b.bytes += len(key)
}

// Ops returns the operations in order. The caller must not modify them.
func (b *Batch) Ops() []Op { return b.ops }

// Len returns the number of operations.
func (b *Batch) Len() int { return len(b.ops) }

// Size returns the total length of all keys and values.
func (b *Batch) Size() int { return b.bytes }

// Errors returned by backends and the [Log]. Check them with errors.Is.
var (
	// ErrNotFound: the key, index or tile does not exist (or is not yet
	// published).
	ErrNotFound = errors.New("storage: not found")
	// ErrClosed: the Log or Backend was closed.
	ErrClosed = errors.New("storage: closed")
	// ErrLocked: another user (process) holds the store.
	ErrLocked = errors.New("storage: store is locked by another user")
	// ErrStopped: a commit failed and the log stopped accepting appends
	// (fail-stop). The error also wraps the cause.
	ErrStopped = errors.New("storage: log stopped after a failed commit")
	// ErrNoLog: the store holds no log and Options.Create was not set.
	ErrNoLog = errors.New("storage: store holds no log")
	// ErrVerify: the stored checkpoint is not signed by Options.Verifier.
	ErrVerify = errors.New("storage: stored checkpoint does not verify")
	// ErrOrigin: the stored checkpoint has another origin than Options.Origin.
	ErrOrigin = errors.New("storage: stored checkpoint has another origin")
	// ErrRollback: the store is behind, or inconsistent with, Options.LastKnown.
	ErrRollback = errors.New("storage: store is behind or inconsistent with the last known checkpoint")
	// ErrCorrupt: the stored data contradicts itself.
	ErrCorrupt = errors.New("storage: store is corrupt")
	// ErrInvalid: an argument is out of range or malformed.
	ErrInvalid = errors.New("storage: invalid argument")
)

// CheckpointKey returns the key under which a [Log] stores its latest
// signed checkpoint: every commit of new records sets it. A backend shared
// by several processes can fence writers on it, refusing a commit unless
// the stored value is the one the writer last read or wrote (see
// storage/pgstore).
func CheckpointKey() []byte { return []byte{prefixCheckpoint} }
