package pebblestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/tlogkit/tlogkit/storage"
)

// Named logs. One Store (one directory, one WAL) can hold many logs: the
// Store's own key space is one (the default log), and each named log has
// its own under the reserved prefix 0xFF, followed by the name's length
// (uvarint) and the name. A commit of any log is one synced Pebble batch
// as always; commits of different logs at the same time share a WAL sync.

// reservedStart is the first key of the named logs' key spaces.
var reservedStart = []byte{0xff}

func reserved(key []byte) bool { return len(key) > 0 && key[0] == 0xff }

// MaxLogName is the longest name Store.Log accepts, in bytes.
const MaxLogName = 255

// Log returns the Backend of the log named name in s, for storage.Open:
// its keys are kept apart from the Store's own and from every other
// log's. A name has one open handle at a time (a second Log of it fails
// with storage.ErrLocked until the first is closed); closing a handle
// leaves the Store open, and closing the Store closes every handle.
func (s *Store) Log(name string) (*LogStore, error) {
	if name == "" || len(name) > MaxLogName || !utf8.ValidString(name) {
		return nil, fmt.Errorf("pebblestore: log name %q: want 1 to %d bytes of UTF-8: %w", name, MaxLogName, storage.ErrInvalid)
	}
	s.logsMu.Lock()
	defer s.logsMu.Unlock()
	if s.logs[name] {
		return nil, fmt.Errorf("pebblestore: log %q is open: %w", name, storage.ErrLocked)
	}
	if s.logs == nil {
		s.logs = make(map[string]bool)
	}
	s.logs[name] = true
	ns := append(binary.AppendUvarint(append([]byte(nil), reservedStart...), uint64(len(name))), name...)
	return &LogStore{s: s, name: name, ns: ns, end: successor(ns)}, nil
}

// successor returns the least key greater than every key starting with
// prefix (prefix ends with the name, so no other log's prefix starts
// with it: the length comes first).
func successor(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // all 0xff: no upper bound
}

// A LogStore is one named log of a Store: a storage.Backend,
// storage.MultiGetter and storage.Pipeliner.
type LogStore struct {
	s       *Store
	name    string
	ns, end []byte

	mu     sync.RWMutex
	closed bool
}

func (l *LogStore) enter() error {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return fmt.Errorf("pebblestore: log %q: %w", l.name, storage.ErrClosed)
	}
	return nil
}

func (l *LogStore) key(k []byte) []byte {
	return append(append(make([]byte, 0, len(l.ns)+len(k)), l.ns...), k...)
}

// Get implements storage.Backend.
func (l *LogStore) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := l.enter(); err != nil {
		return nil, err
	}
	defer l.mu.RUnlock()
	return l.s.get(ctx, l.key(key))
}

// GetMany implements storage.MultiGetter.
func (l *LogStore) GetMany(ctx context.Context, keys [][]byte) ([][]byte, error) {
	if err := l.enter(); err != nil {
		return nil, err
	}
	defer l.mu.RUnlock()
	full := make([][]byte, len(keys))
	for i, k := range keys {
		full[i] = l.key(k)
	}
	return l.s.getMany(ctx, full)
}

// Scan implements storage.Backend.
func (l *LogStore) Scan(ctx context.Context, start, end []byte, fn func(key, value []byte) error) error {
	if err := l.enter(); err != nil {
		return err
	}
	defer l.mu.RUnlock()
	e := l.end
	if end != nil {
		e = l.key(end)
	}
	return l.s.scan(ctx, l.key(start), e, len(l.ns), fn)
}

// Commit implements storage.Backend.
func (l *LogStore) Commit(ctx context.Context, b *storage.Batch) error {
	if err := l.enter(); err != nil {
		return err
	}
	defer l.mu.RUnlock()
	return l.s.commit(ctx, l.ns, b)
}

// CommitPipelined implements storage.Pipeliner.
func (l *LogStore) CommitPipelined(ctx context.Context, b *storage.Batch) (func() error, error) {
	if err := l.enter(); err != nil {
		return nil, err
	}
	defer l.mu.RUnlock()
	return l.s.commitPipelined(ctx, l.ns, b)
}

// Ingest implements storage.Ingester within the named log.
func (l *LogStore) Ingest(ctx context.Context, parts []*storage.Batch) error {
	if err := l.enter(); err != nil {
		return err
	}
	defer l.mu.RUnlock()
	return l.s.ingest(ctx, l.ns, parts)
}

// Close implements storage.Backend: it closes this handle (the Store stays
// open) and lets the name be opened again.
func (l *LogStore) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("pebblestore: log %q: %w", l.name, storage.ErrClosed)
	}
	l.closed = true
	l.s.logsMu.Lock()
	delete(l.s.logs, l.name)
	l.s.logsMu.Unlock()
	return nil
}
