package pebblestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/tlogkit/tlogkit/storage"
)

// ingestDir is the directory, inside the store's, where Ingest writes its
// files before Pebble links them in; Open removes what a crash left.
const ingestDir = "ingest-tmp"

func (s *Store) ingestPath(name string) string {
	return s.po.FS.PathJoin(s.dir, ingestDir, name)
}

func (s *Store) removeIngestDir() error {
	fs := s.po.FS
	dir := fs.PathJoin(s.dir, ingestDir)
	names, err := fs.List(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pebblestore: listing %s: %w", dir, err)
	}
	for _, name := range names {
		if err := fs.Remove(fs.PathJoin(dir, name)); err != nil {
			return fmt.Errorf("pebblestore: removing %s: %w", name, err)
		}
	}
	return nil
}

// Ingest implements storage.Ingester: each non-empty part becomes one
// sorted table, written and synced beside the store, and Pebble links all
// of them in with one atomic, synced change of its manifest. A part whose
// keys overlap no stored key goes straight to the lowest level it can,
// so records and full hash tiles, which only ever get new keys, are
// written once and never compacted again. Nothing goes through the
// write-ahead log or the memtables.
func (s *Store) Ingest(ctx context.Context, parts []*storage.Batch) error {
	return s.ingest(ctx, nil, parts)
}

// A sortedOp is one operation of a part, with its position for a stable
// order (the later of two writes of a key wins).
type sortedOp struct {
	key []byte
	op  *storage.Op
	pos int
}

func (s *Store) ingest(ctx context.Context, ns []byte, parts []*storage.Batch) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if p := s.failed.Load(); p != nil {
		return fmt.Errorf("pebblestore: an earlier commit failed: %w", *p)
	}
	// Sort every part and check that the parts are disjoint and in order.
	sorted := make([][]sortedOp, 0, len(parts))
	for _, b := range parts {
		if b.Len() == 0 {
			continue
		}
		ops := make([]sortedOp, b.Len())
		inOrder := true
		for i := range b.Ops() {
			op := &b.Ops()[i]
			if ns == nil && reserved(op.Key) {
				return fmt.Errorf("pebblestore: key %x is reserved for named logs: %w", op.Key, storage.ErrInvalid)
			}
			ops[i] = sortedOp{key: op.Key, op: op, pos: i}
			if i > 0 && inOrder && bytes.Compare(ops[i-1].key, op.Key) >= 0 {
				inOrder = false
			}
		}
		if !inOrder {
			slices.SortFunc(ops, func(a, b sortedOp) int {
				if c := bytes.Compare(a.key, b.key); c != 0 {
					return c
				}
				return a.pos - b.pos
			})
			// Keep the last write of each key.
			out := ops[:0]
			for i := range ops {
				if i+1 < len(ops) && bytes.Equal(ops[i].key, ops[i+1].key) {
					continue
				}
				out = append(out, ops[i])
			}
			ops = out
		}
		if n := len(sorted); n > 0 {
			prev := sorted[n-1]
			if bytes.Compare(prev[len(prev)-1].key, ops[0].key) >= 0 {
				return fmt.Errorf("pebblestore: Ingest: parts overlap at key %x: %w", ops[0].key, storage.ErrInvalid)
			}
		}
		sorted = append(sorted, ops)
	}
	if len(sorted) == 0 {
		return nil
	}

	fs := s.po.FS
	if err := fs.MkdirAll(fs.PathJoin(s.dir, ingestDir), 0o755); err != nil {
		return fmt.Errorf("pebblestore: ingest: %w", err)
	}
	seq := s.ingestSeq.Add(1)
	paths := make([]string, len(sorted))
	errs := make([]error, len(sorted))
	defer func() {
		for _, p := range paths {
			if p != "" {
				fs.Remove(p)
			}
		}
	}()
	// Write the tables in parallel: a large batch has two or three big
	// parts (records, hash tiles, key index).
	var wg sync.WaitGroup
	for i, ops := range sorted {
		paths[i] = s.ingestPath(strconv.FormatUint(seq, 10) + "-" + strconv.Itoa(i) + ".sst")
		wg.Go(func() { errs[i] = s.writeTable(paths[i], ns, ops) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pebblestore: ingest: %w", err)
	}
	if err := s.db.Ingest(ctx, paths); err != nil {
		// The ingest may or may not have taken effect: stop, as for a
		// failed commit.
		s.failed.CompareAndSwap(nil, &err)
		return fmt.Errorf("pebblestore: ingest: %w", err)
	}
	return nil
}

// writeTable writes ops (sorted, each key once) as a synced table at path.
func (s *Store) writeTable(path string, ns []byte, ops []sortedOp) (err error) {
	f, err := s.po.FS.Create(path, "")
	if err != nil {
		return err
	}
	w := sstable.NewWriter(objstorageprovider.NewFileWritable(f), s.po.MakeWriterOptions(6, s.db.TableFormat()))
	closed := false
	defer func() {
		if !closed {
			w.Close()
		}
	}()
	var key []byte
	for _, o := range ops {
		key = append(append(key[:0], ns...), o.key...)
		if o.op.Delete {
			err = w.Delete(key)
		} else {
			err = w.Set(key, o.op.Value)
		}
		if err != nil {
			return err
		}
	}
	// Close finishes the table and syncs the file.
	closed = true
	return w.Close()
}
