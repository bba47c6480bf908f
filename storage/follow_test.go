package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

func readerOptions(follow time.Duration) storage.Options {
	opts := storagetest.LogOptions(false)
	opts.Signer = nil
	opts.ReadOnly = true
	opts.Follow = follow
	return opts
}

func mustOpenLog(t *testing.T, b storage.Backend, opts storage.Options) *storage.Log {
	t.Helper()
	l, err := storage.Open(context.Background(), b, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestReadOnlyServesWhatTheWriterCommitted: after each batch of the
// writer, a reader on the same store refreshes to the writer's checkpoint
// (byte for byte) and serves the same records, tiles, lookups and proofs.
func TestReadOnlyServesWhatTheWriterCommitted(t *testing.T) {
	ctx := context.Background()
	ms := memstore.New()
	w := mustOpenLog(t, ms, storagetest.LogOptions(true))
	r := mustOpenLog(t, ms.Reader(), readerOptions(-1))

	if _, err := r.Append(ctx, []byte("x")); !errors.Is(err, storage.ErrReadOnly) {
		t.Fatalf("reader Append: %v, want ErrReadOnly", err)
	}
	if _, _, err := r.AppendKeyed(ctx, []byte("k"), []byte("x")); !errors.Is(err, storage.ErrReadOnly) {
		t.Fatalf("reader AppendKeyed: %v, want ErrReadOnly", err)
	}
	n := 0
	for _, k := range []int{1, 7, 250, 300, 1, 255, 1000, 65536 - 1814 + 3} {
		entries := make([]storage.Entry, k)
		for i := range entries {
			entries[i] = storage.Entry{Key: fmt.Appendf(nil, "key %d", n+i), Record: fmt.Appendf(nil, "record %d\n", n+i)}
		}
		for _, f := range w.AppendBatch(ctx, entries, nil) {
			if _, _, err := f.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		n += k
		// Not before Refresh: the reader serves the tree it checked.
		if _, tree := r.Checkpoint(); tree.N == int64(n) {
			t.Fatalf("reader published %d records before Refresh", n)
		}
		tree, err := r.Refresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wsigned, wtree := w.Checkpoint()
		rsigned, _ := r.Checkpoint()
		if tree != wtree || !bytes.Equal(rsigned, wsigned) {
			t.Fatalf("reader at %v, writer at %v", tree, wtree)
		}
		sameReads(t, w, r, wtree)
	}
	if st := r.Stats(); !st.ReadOnly || st.Tree.N != int64(n) || st.Refreshed.IsZero() || st.RefreshErrors != 0 {
		t.Errorf("reader stats: %+v", st)
	}
}

// sameReads compares what w and r serve for tree.
func sameReads(t *testing.T, w, r *storage.Log, tree tlog.Tree) {
	t.Helper()
	ctx := context.Background()
	last := tree.N - 1
	for _, i := range []int64{0, last / 2, last - last%256, last} {
		wr, err := w.ReadRecords(ctx, i, 1)
		if err != nil {
			t.Fatal(err)
		}
		rr, err := r.ReadRecords(ctx, i, 1)
		if err != nil || !bytes.Equal(rr[0], wr[0]) {
			t.Fatalf("reader record %d = %q, %v; writer %q", i, rr, err, wr[0])
		}
		idx, err := r.Lookup(ctx, fmt.Appendf(nil, "key %d", i))
		if err != nil || idx != i {
			t.Fatalf("reader Lookup(key %d) = %d, %v", i, idx, err)
		}
		wp, err := w.ProveRecord(ctx, tree.N, i)
		if err != nil {
			t.Fatal(err)
		}
		rp, err := r.ProveRecord(ctx, tree.N, i)
		if err != nil || fmt.Sprint(rp) != fmt.Sprint(wp) {
			t.Fatalf("reader ProveRecord(%d, %d) = %v, %v", tree.N, i, rp, err)
		}
		if err := tlog.CheckRecord(rp, tree.N, tree.Hash, i, tlog.RecordHash(wr[0])); err != nil {
			t.Fatal(err)
		}
		wt, err := w.ProveTree(ctx, tree.N, i+1)
		if err != nil {
			t.Fatal(err)
		}
		rt, err := r.ProveTree(ctx, tree.N, i+1)
		if err != nil || fmt.Sprint(rt) != fmt.Sprint(wt) {
			t.Fatalf("reader ProveTree(%d, %d) = %v, %v", tree.N, i+1, rt, err)
		}
	}
	for L := range 3 {
		count := tree.N >> (8 * L)
		if count == 0 {
			break
		}
		tl := tile.Tile{H: 8, L: L, N: (count - 1) / 256, W: int((count-1)%256) + 1}
		wt, err := w.ReadTile(ctx, tl)
		if err != nil {
			t.Fatal(err)
		}
		rt, err := r.ReadTile(ctx, tl)
		if err != nil || !bytes.Equal(rt, wt) {
			t.Fatalf("reader tile %+v: %v", tl, err)
		}
	}
}

// TestReadOnlyFollowsUnderLoad: a reader polling every millisecond while
// the writer appends and completes tiles (its partial data tiles are
// consolidated, its partial hash tiles grow) never fails a refresh, never
// goes back, and every tree it published is the writer's.
func TestReadOnlyFollowsUnderLoad(t *testing.T) {
	ctx := context.Background()
	ms := memstore.New()
	w := mustOpenLog(t, ms, storagetest.LogOptions(true))
	r := mustOpenLog(t, ms.Reader(), readerOptions(-1))

	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 400 {
				if _, err := w.Append(ctx, fmt.Appendf(nil, "%d %d", g, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	var seen []tlog.Tree
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		tree, err := r.Refresh(ctx)
		if err == nil && len(seen) > 0 && tree.N < seen[len(seen)-1].N {
			err = fmt.Errorf("reader went back from %d to %d", seen[len(seen)-1].N, tree.N)
		}
		if err != nil {
			<-done
			t.Fatalf("refresh under load: %v", err)
		}
		if len(seen) == 0 || tree != seen[len(seen)-1] {
			seen = append(seen, tree)
		}
	}
	if _, err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	_, final := w.Checkpoint()
	if _, tree := r.Checkpoint(); tree != final {
		t.Fatalf("reader at %v, writer at %v", tree, final)
	}
	if len(seen) < 3 {
		t.Logf("only %d trees seen", len(seen))
	}
	for _, tree := range seen {
		h, err := w.TreeHash(ctx, tree.N)
		if err != nil || h != tree.Hash {
			t.Fatalf("reader published %v, writer's tree of that size is %v (%v)", tree, h, err)
		}
	}
}

// TestReadOnlyPolls: with Follow set, a reader catches up on its own.
func TestReadOnlyPolls(t *testing.T) {
	ctx := context.Background()
	ms := memstore.New()
	w := mustOpenLog(t, ms, storagetest.LogOptions(true))
	r := mustOpenLog(t, ms.Reader(), readerOptions(5*time.Millisecond))
	for i := range 10 {
		if _, err := w.Append(ctx, fmt.Appendf(nil, "r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, tree := r.Checkpoint(); tree.N == 10 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("reader did not follow")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestReadOnlyRefusesRollbackAndFork: a store replaced under a reader by
// a smaller tree, or by another tree signed with the same key, stops the
// reader (ErrRollback), which keeps serving its last good tree.
func TestReadOnlyRefusesRollbackAndFork(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
	}{{"rollback", 5}, {"fork", 30}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ms := memstore.New()
			w := mustOpenLog(t, ms, storagetest.LogOptions(true))
			for i := range 20 {
				if _, err := w.Append(ctx, fmt.Appendf(nil, "good %d", i)); err != nil {
					t.Fatal(err)
				}
			}
			r := mustOpenLog(t, ms.Reader(), readerOptions(-1))
			good, goodTree := r.Checkpoint()
			if goodTree.N != 20 {
				t.Fatalf("reader opened at %v", goodTree)
			}
			w.Close()

			// Another log of the same key, copied over the store.
			other := memstore.New()
			ol := mustOpenLog(t, other, storagetest.LogOptions(true))
			for i := range tc.n {
				if _, err := ol.Append(ctx, fmt.Appendf(nil, "other %d", i)); err != nil {
					t.Fatal(err)
				}
			}
			ol.Close()
			other, _ = other.Reopen()
			h, err := ms.Reopen()
			if err != nil {
				t.Fatal(err)
			}
			var b storage.Batch
			h.Scan(ctx, nil, nil, func(k, v []byte) error { b.Delete(bytes.Clone(k)); return nil })
			other.Scan(ctx, nil, nil, func(k, v []byte) error { b.Set(bytes.Clone(k), bytes.Clone(v)); return nil })
			if err := h.Commit(ctx, &b); err != nil {
				t.Fatal(err)
			}

			if _, err := r.Refresh(ctx); !errors.Is(err, storage.ErrRollback) || !errors.Is(err, storage.ErrStopped) {
				t.Fatalf("Refresh: %v, want ErrRollback and ErrStopped", err)
			}
			if signed, tree := r.Checkpoint(); tree != goodTree || !bytes.Equal(signed, good) {
				t.Fatalf("reader serves %v after the refusal, want %v", tree, goodTree)
			}
			if recs, err := r.ReadRecords(ctx, 0, 1); err == nil && string(recs[0]) != "good 0" {
				t.Fatalf("reader serves record 0 = %q of the other log", recs[0])
			}
			if st := r.Stats(); !errors.Is(st.Stopped, storage.ErrRollback) || st.RefreshErrors != 1 {
				t.Fatalf("stats: Stopped %v, RefreshErrors %d", st.Stopped, st.RefreshErrors)
			}
		})
	}
}
