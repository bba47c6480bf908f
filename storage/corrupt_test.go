package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

// corruptStore builds a log of n records in a memstore and then changes
// the value (or, with del, removes the key) of the which'th key: flipping
// bit flip of it, or truncating it to cut bytes if cut >= 0.
func corruptStore(t testing.TB, n int, which int, flip int, cut int, del bool) *memstore.Store {
	ctx := context.Background()
	st := memstore.New()
	l, err := storage.Open(ctx, st, storagetest.LogOptions(true))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, _, err := l.AppendKeyed(ctx, fmt.Appendf(nil, "k%d", i%(n/2+1)), fmt.Appendf(nil, "record %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	st, _ = st.Reopen()
	var keys [][]byte
	st.Scan(ctx, nil, nil, func(k, v []byte) error {
		keys = append(keys, append([]byte(nil), k...))
		return nil
	})
	k := keys[which%len(keys)]
	v, _ := st.Get(ctx, k)
	var b storage.Batch
	switch {
	case del:
		b.Delete(k)
	case cut >= 0:
		b.Set(k, v[:min(cut, len(v))])
	case len(v) > 0:
		v[(flip/8)%len(v)] ^= 1 << (flip % 8)
		b.Set(k, v)
	}
	if err := st.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, _ = st.Reopen()
	return st
}

// useLog reads everything a log serves; with a corrupt store it must
// return errors, never panic.
// Whatever it serves without error must be consistent with the signed
// checkpoint that Open verified.
func useLog(t testing.TB, st *memstore.Store) {
	ctx := context.Background()
	l, err := storage.Open(ctx, st, storagetest.LogOptions(false))
	if err != nil {
		return
	}
	defer l.Close()
	_, tree := l.Checkpoint()
	recs, err := l.ReadRecords(ctx, 0, tree.N)
	if err != nil {
		recs = nil
	}
	for _, tt := range tile.NewTiles(8, 0, tree.N) {
		l.ReadTile(ctx, tt)
	}
	for i := int64(0); i < tree.N; i++ {
		p, err := l.ProveRecord(ctx, tree.N, i)
		if err == nil && recs != nil {
			if err := tlog.CheckRecord(p, tree.N, tree.Hash, i, tlog.RecordHash(recs[i])); err != nil {
				t.Fatalf("served proof of record %d does not verify: %v", i, err)
			}
		}
		if one, err := l.ReadRecords(ctx, i, 1); err == nil && recs != nil && !bytes.Equal(one[0], recs[i]) {
			t.Fatalf("record %d read two ways differs", i)
		}
		tp, err := l.ProveTree(ctx, tree.N, i+1)
		if err == nil {
			if h, err := l.TreeHash(ctx, i+1); err == nil {
				if err := tlog.CheckTree(tp, tree.N, tree.Hash, i+1, h); err != nil {
					t.Fatalf("served tree proof %d does not verify: %v", i+1, err)
				}
			}
		}
		l.Lookup(ctx, fmt.Appendf(nil, "k%d", i))
	}
	l.Append(ctx, []byte("more"))
	l.AppendKeyed(ctx, []byte("k1"), []byte("more"))
}

// TestCorruptStore flips every bit of every value, truncates and deletes
// every key of a small store: Open either refuses (the checkpoint or the
// right edge does not verify) or the log answers with errors, never a panic
// or a wrong proof accepted silently.
func TestCorruptStore(t *testing.T) {
	const n = 300
	for which := 0; which < 12; which++ {
		useLog(t, corruptStore(t, n, which, 0, -1, true))
		for _, cut := range []int{0, 1, 31, 100} {
			useLog(t, corruptStore(t, n, which, 0, cut, false))
		}
		for flip := 0; flip < 64; flip += 13 {
			useLog(t, corruptStore(t, n, which, flip, -1, false))
		}
	}
}

func FuzzCorruptStore(f *testing.F) {
	f.Add(uint16(3), uint16(0), uint16(5), int16(-1), false)
	f.Add(uint16(300), uint16(2), uint16(0), int16(10), false)
	f.Add(uint16(257), uint16(7), uint16(0), int16(-1), true)
	f.Fuzz(func(t *testing.T, n, which, flip uint16, cut int16, del bool) {
		useLog(t, corruptStore(t, 2+int(n%600), int(which), int(flip), int(cut), del))
	})
}
