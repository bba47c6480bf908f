package storage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

// appendRound appends k records concurrently, recording acknowledgments
// and published trees in o. It returns the errors of the failed appends.
func appendRound(l *storage.Log, o *storagetest.Observed, tag string, k int) []error {
	ctx := context.Background()
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for i := range k {
		wg.Go(func() {
			rec := fmt.Appendf(nil, "%s %d", tag, i)
			idx, err := l.Append(ctx, rec)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			o.Ack(idx, rec)
			_, tree := l.Checkpoint()
			if !o.Saw(tree) {
				panic("two trees of one size")
			}
		})
	}
	wg.Wait()
	return errs
}

// TestCommitFaults fails the k-th commit, without or with persisting it,
// for every k of a workload: the log must stop (every later append fails
// with ErrStopped), keep serving the published tree, and after a reopen
// hold every acknowledged record and every published tree.
func TestCommitFaults(t *testing.T) {
	ctx := context.Background()
	for _, fault := range []memstore.Fault{memstore.FailNotPersisted, memstore.FailPersisted} {
		for k := 0; k < 12; k++ {
			t.Run(fmt.Sprintf("fault=%d/commit=%d", fault, k), func(t *testing.T) {
				st := memstore.New()
				l, err := storage.Open(ctx, st, storagetest.LogOptions(true))
				if err != nil {
					t.Fatal(err)
				}
				o := storagetest.NewObserved()
				_, tree := l.Checkpoint()
				o.Saw(tree)
				base := -1
				st.SetFault(func(op memstore.Op, seq int) memstore.Fault {
					if op != memstore.OpCommit {
						return memstore.NoFault
					}
					if base < 0 {
						base = seq
					}
					if seq-base == k {
						return fault
					}
					return memstore.NoFault
				})
				var failed []error
				for round := 0; round < 8; round++ {
					failed = append(failed, appendRound(l, o, fmt.Sprintf("round %d", round), 1+round*37)...)
				}
				if len(failed) == 0 {
					t.Fatalf("no append failed")
				}
				for _, err := range failed {
					if !errors.Is(err, storage.ErrStopped) {
						t.Fatalf("failed append: %v, want ErrStopped", err)
					}
				}
				if _, err := l.Append(ctx, []byte("after")); !errors.Is(err, storage.ErrStopped) || !errors.Is(err, memstore.ErrInjected) {
					t.Fatalf("Append after the failure: %v, want ErrStopped wrapping the cause", err)
				}
				// The published tree is still served.
				storagetest.CheckRecovered(t, l, o)
				published, pubTree := l.Checkpoint()
				l.Close()

				st.SetFault(nil)
				st2, err := st.Reopen()
				if err != nil {
					t.Fatal(err)
				}
				opts := storagetest.LogOptions(false)
				opts.LastKnown = published
				l, err = storage.Open(ctx, st2, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				storagetest.CheckRecovered(t, l, o)
				_, tree = l.Checkpoint()
				if fault == memstore.FailNotPersisted && tree != pubTree {
					t.Fatalf("after a failed, unpersisted commit the store has tree %v, want the published %v", tree, pubTree)
				}
				if fault == memstore.FailPersisted && tree.N <= pubTree.N {
					t.Fatalf("after a failed but persisted commit the store has tree %v, want more than the published %v", tree, pubTree)
				}
				// The log continues.
				if errs := appendRound(l, o, "after reopen", 50); len(errs) > 0 {
					t.Fatal(errs[0])
				}
				storagetest.CheckRecovered(t, l, o)
			})
		}
	}
}

// TestReadFaults: a failed key-index read fails the batch but not the log;
// a failed read during Open refuses to open.
func TestReadFaults(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	l, err := storage.Open(ctx, st, storagetest.LogOptions(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.AppendKeyed(ctx, []byte("a"), []byte("rec a")); err != nil {
		t.Fatal(err)
	}
	st.SetFault(func(op memstore.Op, seq int) memstore.Fault {
		if op == memstore.OpGet {
			return memstore.FailNotPersisted
		}
		return memstore.NoFault
	})
	if _, _, err := l.AppendKeyed(ctx, []byte("b"), []byte("rec b")); !errors.Is(err, memstore.ErrInjected) || errors.Is(err, storage.ErrStopped) {
		t.Fatalf("AppendKeyed with a failing read: %v, want the read error without ErrStopped", err)
	}
	st.SetFault(nil)
	idx, existed, err := l.AppendKeyed(ctx, []byte("b"), []byte("rec b"))
	if err != nil || existed || idx != 1 {
		t.Fatalf("AppendKeyed after the read fault = %d, %v, %v", idx, existed, err)
	}
	l.Close()
	for _, op := range []memstore.Op{memstore.OpGet, memstore.OpScan} {
		st, _ = st.Reopen()
		st.SetFault(func(o memstore.Op, seq int) memstore.Fault {
			if o == op {
				return memstore.FailNotPersisted
			}
			return memstore.NoFault
		})
		if l, err := storage.Open(ctx, st, storagetest.LogOptions(false)); err == nil {
			l.Close()
			t.Fatalf("Open with failing %s succeeded", op)
		}
		st.SetFault(nil)
	}
}
