package pebblestore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

// TestNamedConformance runs the storagetest suite on named logs, all in
// one Store: every subtest is its own log beside the others.
func TestNamedConformance(t *testing.T) {
	st, err := pebblestore.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var seq atomic.Int64
	storagetest.Run(t, func(t *testing.T) storagetest.Opener {
		name := fmt.Sprintf("log%d", seq.Add(1))
		return func() (storage.Backend, error) { return st.Log(name) }
	})
}

// TestManyLogsOneStore: the default log and named logs in one store,
// appended to concurrently, stay apart across a reopen of the store; a
// name has one open handle; bad names are refused.
func TestManyLogsOneStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	names := []string{"a", "ab", "b", "sum.golang.org", "example.com/log"}
	counts := map[string]int{"": 10}
	for i, n := range names {
		counts[n] = 20 + 37*i
	}
	open := func(st *pebblestore.Store, name string, create bool) *storage.Log {
		t.Helper()
		var b storage.Backend = st
		if name != "" {
			ls, err := st.Log(name)
			if err != nil {
				t.Fatal(err)
			}
			b = ls
		}
		l, err := storage.Open(ctx, b, storagetest.LogOptions(create))
		if err != nil {
			t.Fatalf("log %q: %v", name, err)
		}
		return l
	}

	st, err := pebblestore.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Named logs first: the default log must still find its key space empty.
	var wg sync.WaitGroup
	for name, k := range counts {
		if name == "" {
			continue
		}
		l := open(st, name, true)
		wg.Go(func() {
			defer l.Close()
			for i := range k {
				if _, err := l.Append(ctx, fmt.Appendf(nil, "%s %d", name, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	def := open(st, "", true)
	for i := range counts[""] {
		if _, err := def.Append(ctx, fmt.Appendf(nil, " %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Log("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Log("a"); !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second handle of a log: %v, want ErrLocked", err)
	}
	for _, bad := range []string{"", string(make([]byte, 256)), "\xc0"} {
		if _, err := st.Log(bad); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("Log(%q): %v, want ErrInvalid", bad, err)
		}
	}
	var b storage.Batch
	b.Set([]byte{0xff, 1, 'a'}, []byte("x"))
	if err := st.Commit(ctx, &b); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("commit of a reserved key: %v, want ErrInvalid", err)
	}
	def.Close() // closes st

	st, err = pebblestore.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, k := range counts {
		l := open(st, name, false)
		_, tree := l.Checkpoint()
		if tree.N != int64(k) {
			t.Fatalf("log %q has %d records, want %d", name, tree.N, k)
		}
		recs, err := l.ReadRecords(ctx, int64(k-1), 1)
		if err != nil || string(recs[0]) != fmt.Sprintf("%s %d", name, k-1) {
			t.Fatalf("log %q last record %q, %v", name, recs, err)
		}
		if name != "" {
			l.Close()
		}
	}
}
