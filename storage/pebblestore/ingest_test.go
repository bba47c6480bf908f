package pebblestore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
)

// TestIngest: parts are applied as one commit in order would (the later
// write of a key wins, a delete removes a stored key), survive a reopen,
// and are refused when they overlap or use reserved keys; a part of keys
// beyond every stored one is placed below level 0, so it is never
// compacted.
func TestIngest(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	st, err := pebblestore.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var old storage.Batch
	old.Set([]byte("b-gone"), []byte("x"))
	if err := st.Commit(ctx, &old); err != nil {
		t.Fatal(err)
	}
	data := func(from, to int) *storage.Batch {
		var b storage.Batch
		for i := to - 1; i >= from; i-- { // out of order: Ingest sorts
			b.Set(fmt.Appendf(nil, "d%08d", i), fmt.Appendf(nil, "record %d", i))
		}
		return &b
	}
	var small storage.Batch
	small.Set([]byte("b-key"), []byte("first"))
	small.Delete([]byte("b-gone"))
	small.Set([]byte("b-key"), []byte("second"))
	if err := st.Ingest(ctx, []*storage.Batch{&small, {}, data(0, 1000)}); err != nil {
		t.Fatal(err)
	}
	// The first ingest overlapped the memtable, so Pebble may have queued
	// it as a flushable: let it land, then count.
	if err := st.DB().Flush(); err != nil {
		t.Fatal(err)
	}
	before := st.DB().Metrics().Levels
	if err := st.Ingest(ctx, []*storage.Batch{data(1000, 2000)}); err != nil {
		t.Fatal(err)
	}
	after := st.DB().Metrics().Levels
	if l6, l0 := after[6].TablesIngested-before[6].TablesIngested, after[0].TablesIngested-before[0].TablesIngested; l6 != 1 || l0 != 0 {
		t.Errorf("a part of new keys went %d tables to the bottom level and %d to level 0, want 1 and 0", l6, l0)
	}
	if err := st.Ingest(ctx, []*storage.Batch{data(2000, 2010), data(2005, 2020)}); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("overlapping parts: %v, want ErrInvalid", err)
	}
	var res storage.Batch
	res.Set([]byte{0xff, 1}, []byte("x"))
	if err := st.Ingest(ctx, []*storage.Batch{&res}); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("reserved key: %v, want ErrInvalid", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	if st, err = pebblestore.Open(dir, nil); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v, err := st.Get(ctx, []byte("b-key")); err != nil || string(v) != "second" {
		t.Errorf("b-key = %q, %v; want the later write", v, err)
	}
	if _, err := st.Get(ctx, []byte("b-gone")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted key: %v, want ErrNotFound", err)
	}
	n := 0
	err = st.Scan(ctx, []byte("d"), []byte("e"), func(k, v []byte) error {
		if want := fmt.Sprintf("d%08d", n); string(k) != want || string(v) != fmt.Sprintf("record %d", n) {
			return fmt.Errorf("key %d is %q = %q", n, k, v)
		}
		n++
		return nil
	})
	if err != nil || n != 2000 {
		t.Errorf("scan: %d records, %v; want 2000", n, err)
	}
}
