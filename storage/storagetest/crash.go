package storagetest

import (
	"bytes"
	"context"
	"maps"
	"sync"
	"testing"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

// Observed is what a crash test saw a log acknowledge and publish before a
// crash. It is safe for concurrent use.
type Observed struct {
	mu    sync.Mutex
	acked map[int64][]byte
	seen  map[int64]tlog.Hash
}

// NewObserved returns an empty Observed.
func NewObserved() *Observed {
	return &Observed{acked: make(map[int64][]byte), seen: make(map[int64]tlog.Hash)}
}

// Ack records that the log acknowledged record at index.
func (o *Observed) Ack(index int64, record []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.acked[index] = record
}

// Saw records a published tree. Two different hashes for one size are a
// failure of the log, reported by Check.
func (o *Observed) Saw(tree tlog.Tree) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if h, ok := o.seen[tree.N]; ok && h != tree.Hash {
		return false
	}
	o.seen[tree.N] = tree.Hash
	return true
}

// Snapshot returns a copy of o.
func (o *Observed) Snapshot() *Observed {
	o.mu.Lock()
	defer o.mu.Unlock()
	return &Observed{acked: maps.Clone(o.acked), seen: maps.Clone(o.seen)}
}

// Len returns the number of acknowledged records.
func (o *Observed) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.acked)
}

// CheckRecovered checks a log reopened after a crash against what was
// observed before it: every acknowledged record is present with the same
// bytes; the indexes are dense (every record up to the tree size reads);
// the tree hash recomputed from all records equals the stored checkpoint's
// and so do all tiles; and every tree published before the crash is still
// contained, with the same hash.
func CheckRecovered(t testing.TB, l *storage.Log, o *Observed) {
	t.Helper()
	ctx := context.Background()
	o.mu.Lock()
	defer o.mu.Unlock()
	_, tree := l.Checkpoint()
	var hashes []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	var treeHashes = map[int64]tlog.Hash{}
	for start := int64(0); start < tree.N; start += storage.MaxReadRecords {
		recs, err := l.ReadRecords(ctx, start, min(storage.MaxReadRecords, tree.N-start))
		if err != nil {
			t.Fatalf("ReadRecords(%d, ...) in a tree of %d: %v", start, tree.N, err)
		}
		for i, r := range recs {
			n := start + int64(i)
			if want, ok := o.acked[n]; ok && !bytes.Equal(r, want) {
				t.Fatalf("acknowledged record %d = %q, want %q", n, r, want)
			}
			hs, err := tlog.StoredHashes(n, r, reader)
			if err != nil {
				t.Fatal(err)
			}
			hashes = append(hashes, hs...)
			if _, ok := o.seen[n+1]; ok {
				treeHashes[n+1], _ = tlog.TreeHash(n+1, reader)
			}
		}
	}
	for n := range o.acked {
		if n >= tree.N {
			t.Fatalf("acknowledged record %d lost: tree has %d records", n, tree.N)
		}
	}
	if tree.N > 0 {
		h, err := tlog.TreeHash(tree.N, reader)
		if err != nil {
			t.Fatal(err)
		}
		if h != tree.Hash {
			t.Fatalf("records hash to %v, checkpoint of size %d says %v", h, tree.N, tree.Hash)
		}
	}
	for n, h := range o.seen {
		if n > tree.N {
			t.Fatalf("published tree of size %d lost: store has %d", n, tree.N)
		}
		if n > 0 && treeHashes[n] != h {
			t.Fatalf("published tree of size %d had hash %v, records now give %v", n, h, treeHashes[n])
		}
	}
	for _, tt := range tile.NewTiles(8, 0, tree.N) {
		got, err := l.ReadTile(ctx, tt)
		if err != nil {
			t.Fatalf("ReadTile(%v): %v", tt.Path(), err)
		}
		want, err := tile.ReadTileData(tt, reader)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("tile %v does not match the records", tt.Path())
		}
	}
}
