package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/tlog"
)

// TestImportDeferredIndex: with ImportOptions.Key the keys are held back
// and written in runs (a tiny IndexBuffer forces several); a reopen in
// the middle derives the pending keys again from the stored records; a
// key logged twice maps to its later record; the published tree has every
// key; keys given to Append beside Key are refused.
func TestImportDeferredIndex(t *testing.T) {
	ctx := context.Background()
	origin := mustOpenLog(t, memstore.New(), storagetest.LogOptions(true))
	const n = 3000
	recs := make([][]byte, n)
	entries := make([]storage.Entry, n)
	for i := range recs {
		k := i
		if i == n-1 {
			k = 7 // logged again: the later record wins
		}
		recs[i] = fmt.Appendf(nil, "key%d\nrecord %d\n", k, i)
		entries[i] = storage.Entry{Record: recs[i]}
	}
	for _, f := range origin.AppendBatch(ctx, entries, nil) {
		if _, _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	head, _ := origin.Checkpoint()
	a, _ := tlog.NewAppender(0, nil)
	key := func(r []byte) []byte { k, _, _ := bytes.Cut(r, []byte("\n")); return bytes.Clone(k) }
	opts := importOptions()
	// An Append of 100 records holds about 2,200 bytes of keys: a run
	// every 10 Appends, so the reopen at record 1500 has 5 pending.
	opts.Key, opts.IndexBuffer = key, 20000

	ms := memstore.New()
	im, err := storage.OpenImport(ctx, ms, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := im.SetTarget(ctx, head, tlog.Hash{}); err != nil {
		t.Fatal(err)
	}
	if err := im.Append(ctx, recs[:10], [][]byte{}, tlog.Hash{}); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("Append with keys and Key: %v, want ErrInvalid", err)
	}
	for i := 0; i < n; i += 100 {
		if i == 1500 {
			// Reopen: the keys pending in memory are derived again.
			im.Close()
			if im, err = storage.OpenImport(ctx, ms, opts); err != nil {
				t.Fatal(err)
			}
			if v, err := ms.Get(ctx, []byte("j")); err != nil || !bytes.Equal(v, []byte{0xe8, 0x07}) {
				t.Fatalf("index state at the reopen: %x, %v; want 1000 records indexed (e807)", v, err)
			}
		}
		a.Append(recs[i : i+100])
		if err := im.Append(ctx, recs[i:i+100], nil, a.TreeHash()); err != nil {
			t.Fatal(err)
		}
	}
	reader := mustOpenLog(t, ms.Reader(), readerOptions(-1))
	for i := range n - 1 {
		want := int64(i)
		if i == 7 {
			want = n - 1
		}
		got, err := reader.Lookup(ctx, fmt.Appendf(nil, "key%d", i))
		if err != nil || got != want {
			t.Fatalf("Lookup(key%d) = %d, %v; want %d", i, got, err, want)
		}
	}
}
