package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

// TestStats checks the counters after known traffic: appends, keyed
// duplicates, commits, records, bytes, tile cache use, and a commit
// failure.
func TestStats(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	opts := storagetest.LogOptions(true)
	opts.CacheTiles = 16
	l, err := storage.Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if s := l.Stats(); s.Appends != 0 || s.Commits != 0 || s.Tree.N != 0 || s.Published.IsZero() {
		t.Fatalf("stats of a new log: %+v", s)
	}
	for i := range 600 {
		if _, err := l.Append(ctx, fmt.Appendf(nil, "record %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	s := l.Stats()
	if s.Appends != 600 || s.AppendErrors != 0 || s.Commits != 600 || s.Records != 600 || s.Tree.N != 600 || s.Pending != 0 || s.InFlight != 0 {
		t.Fatalf("after 600 appends: %+v", s)
	}
	if s.Bytes < int64(600*len("record 000")) {
		t.Errorf("Bytes = %d, less than the records written", s.Bytes)
	}
	if s.CommitSeconds.Count != 600 || s.SyncSeconds.Count != 600 || s.BatchRequests.Count != 600 || s.BatchRequests.Counts[0] != 600 {
		t.Errorf("histograms: commit %+v, batch %+v", s.CommitSeconds, s.BatchRequests)
	}
	if s.CommitSeconds.Sum <= 0 || len(s.CommitSeconds.Counts) != len(s.CommitSeconds.Bounds)+1 {
		t.Errorf("CommitSeconds %+v", s.CommitSeconds)
	}
	published := s.Published

	// A keyed append of a key already logged is an append, not a record
	// nor a commit.
	if _, _, err := l.AppendKeyed(ctx, []byte("k"), []byte("keyed")); err != nil {
		t.Fatal(err)
	}
	if _, existed, err := l.AppendKeyed(ctx, []byte("k"), []byte("keyed again")); err != nil || !existed {
		t.Fatal(existed, err)
	}
	s = l.Stats()
	if s.Appends != 602 || s.Records != 601 || s.Commits != 601 || !s.Published.After(published) {
		t.Errorf("after keyed appends: %+v", s)
	}

	// Full tiles 0 and 1 of level 0: read once (misses), then cached.
	for range 3 {
		for _, i := range []int64{10, 300} {
			if _, err := l.ProveRecord(ctx, 601, i); err != nil {
				t.Fatal(err)
			}
		}
	}
	s = l.Stats()
	if s.TileCacheMisses != 2 || s.TileCacheHits != 4 {
		t.Errorf("tile cache: %d hits, %d misses; want 4, 2", s.TileCacheHits, s.TileCacheMisses)
	}

	// A failing commit: counted, and the log reports the stop.
	st.SetFault(func(op memstore.Op, seq int) memstore.Fault {
		if op == memstore.OpCommit {
			return memstore.FailNotPersisted
		}
		return memstore.NoFault
	})
	if _, err := l.Append(ctx, []byte("fails")); !errors.Is(err, storage.ErrStopped) {
		t.Fatal(err)
	}
	s = l.Stats()
	if s.CommitErrors != 1 || s.AppendErrors != 1 || !errors.Is(s.Stopped, storage.ErrStopped) || s.Commits != 601 || s.Tree.N != 601 {
		t.Errorf("after a failed commit: %+v", s)
	}
	// Later appends fail before reaching a batch: not commit errors.
	l.Append(ctx, []byte("after"))
	if s := l.Stats(); s.CommitErrors != 1 {
		t.Errorf("CommitErrors = %d after a refused append", s.CommitErrors)
	}
}
