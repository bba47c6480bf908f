// Package memstore is an in-memory [storage.Backend] for tests: it keeps
// its data across Close and Reopen (like a disk across process restarts),
// refuses a second open handle (like a directory lock), and injects faults
// on request: a commit that fails without persisting, a commit that fails
// after persisting, and failing reads.
package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/tlogkit/tlogkit/storage"
)

// A Fault is what an injected fault does to one operation.
type Fault int

const (
	// NoFault lets the operation run normally.
	NoFault Fault = iota
	// FailNotPersisted makes the operation fail without any effect.
	FailNotPersisted
	// FailPersisted makes a Commit apply the batch and then fail, as when
	// a sync reports an error for data that reached the disk anyway.
	// For reads it is the same as FailNotPersisted.
	FailPersisted
)

// ErrInjected is the error returned by an operation an injected fault failed.
var ErrInjected = errors.New("memstore: injected fault")

// An Op names an operation for a fault injector.
type Op string

const (
	OpGet    Op = "get"
	OpScan   Op = "scan"
	OpCommit Op = "commit"
)

// data is the "disk": it outlives Store handles.
type data struct {
	mu sync.RWMutex
	// keys is sorted; it may still list deleted keys (not in vals). New
	// keys go to added, unsorted, and are merged into keys by the next
	// Scan, so that a commit does not move every later key.
	keys  []string
	added []string
	vals  map[string][]byte
	open  bool

	faultMu sync.Mutex
	fault   func(op Op, seq int) Fault
	seq     map[Op]int
}

// A Store is an open handle on an in-memory store.
type Store struct {
	d        *data
	mu       sync.Mutex
	closed   bool
	readOnly bool
}

// New returns an open, empty store.
func New() *Store {
	d := &data{vals: make(map[string][]byte), open: true, seq: make(map[Op]int)}
	return &Store{d: d}
}

// Reopen returns a new handle on the same data, which must not be open:
// the earlier handle must have been closed (else storage.ErrLocked).
func (s *Store) Reopen() (*Store, error) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.d.open {
		return nil, fmt.Errorf("memstore: %w", storage.ErrLocked)
	}
	s.d.open = true
	return &Store{d: s.d}, nil
}

// Reader returns a read-only handle on the same data, open beside s and
// any other handle, as a replica shares a database with its writer (for a
// Log opened with storage.Options.ReadOnly): it reads what the writer has
// committed, its Commit fails with storage.ErrReadOnly, and its Close
// leaves the data to the writer.
func (s *Store) Reader() *Store {
	return &Store{d: s.d, readOnly: true}
}

// SetFault installs f, called before every operation with the operation and
// its sequence number (0, 1, ... per kind of operation, counted over all
// handles); its result decides the operation's fate. nil removes it.
func (s *Store) SetFault(f func(op Op, seq int) Fault) {
	s.d.faultMu.Lock()
	defer s.d.faultMu.Unlock()
	s.d.fault = f
}

func (s *Store) fault(op Op) Fault {
	d := s.d
	d.faultMu.Lock()
	defer d.faultMu.Unlock()
	n := d.seq[op]
	d.seq[op] = n + 1
	if d.fault == nil {
		return NoFault
	}
	return d.fault(op, n)
}

func (s *Store) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: %w", storage.ErrClosed)
	}
	return nil
}

// Get implements storage.Backend.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.fault(OpGet) != NoFault {
		return nil, fmt.Errorf("memstore: get %x: %w", key, ErrInjected)
	}
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	v, ok := s.d.vals[string(key)]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return bytes.Clone(v), nil
}

// Scan implements storage.Backend. It holds a read lock during the scan, so
// fn sees one state (and must not call Commit).
func (s *Store) Scan(ctx context.Context, start, end []byte, fn func(key, value []byte) error) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.fault(OpScan) != NoFault {
		return fmt.Errorf("memstore: scan: %w", ErrInjected)
	}
	d := s.d
	d.mu.RLock()
	for len(d.added) > 0 {
		d.mu.RUnlock()
		d.mu.Lock()
		d.merge()
		d.mu.Unlock()
		d.mu.RLock()
	}
	defer d.mu.RUnlock()
	i, _ := slices.BinarySearch(d.keys, string(start))
	for ; i < len(d.keys); i++ {
		k := d.keys[i]
		if end != nil && k >= string(end) {
			break
		}
		v, ok := d.vals[k]
		if !ok {
			continue // deleted
		}
		if err := fn([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// Commit implements storage.Backend.
func (s *Store) Commit(ctx context.Context, b *storage.Batch) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.readOnly {
		return fmt.Errorf("memstore: commit on a reader: %w", storage.ErrReadOnly)
	}
	f := s.fault(OpCommit)
	if f == FailNotPersisted {
		return fmt.Errorf("memstore: commit: %w", ErrInjected)
	}
	d := s.d
	d.mu.Lock()
	for _, op := range b.Ops() {
		k := string(op.Key)
		if op.Delete {
			delete(d.vals, k)
			continue
		}
		if _, exists := d.vals[k]; !exists {
			if _, listed := slices.BinarySearch(d.keys, k); !listed {
				d.added = append(d.added, k)
			}
		}
		d.vals[k] = bytes.Clone(op.Value)
	}
	d.mu.Unlock()
	if f == FailPersisted {
		return fmt.Errorf("memstore: commit (persisted): %w", ErrInjected)
	}
	return nil
}

// merge sorts the added keys into keys and drops deleted ones; d.mu is
// held.
func (d *data) merge() {
	slices.Sort(d.added)
	out := make([]string, 0, len(d.keys)+len(d.added))
	i, j := 0, 0
	for i < len(d.keys) || j < len(d.added) {
		var k string
		switch {
		case j == len(d.added) || (i < len(d.keys) && d.keys[i] < d.added[j]):
			k = d.keys[i]
			i++
		case i == len(d.keys) || d.added[j] < d.keys[i]:
			k = d.added[j]
			j++
		default:
			k = d.keys[i]
			i++
			j++
		}
		if _, ok := d.vals[k]; ok && (len(out) == 0 || out[len(out)-1] != k) {
			out = append(out, k)
		}
	}
	d.keys, d.added = out, nil
}

// Close implements storage.Backend. The data stays for Reopen.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: %w", storage.ErrClosed)
	}
	s.closed = true
	if !s.readOnly {
		s.d.mu.Lock()
		s.d.open = false
		s.d.mu.Unlock()
	}
	return nil
}

// Bytes returns the total size of all keys and values stored.
func (s *Store) Bytes() int {
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	n := 0
	for k, v := range s.d.vals {
		n += len(k) + len(v)
	}
	return n
}
