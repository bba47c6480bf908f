package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

func importOptions() storage.ImportOptions {
	opts := storagetest.LogOptions(false)
	return storage.ImportOptions{Origin: opts.Origin, Verifier: opts.Verifier}
}

// TestImport: a log written by a Log is imported, in uneven steps and
// across reopens, into another store; a read-only Log on it serves the
// origin's checkpoints byte for byte, and the same records, tiles and
// lookups; a record that is not the origin's, a target that does not
// contain the stored tree and a wrong hash are refused without writing.
func TestImport(t *testing.T) {
	ctx := context.Background()
	origin := mustOpenLog(t, memstore.New(), storagetest.LogOptions(true))
	var heads [][]byte
	n := 0
	for _, k := range []int{1, 300, 255, 1000, 70000} {
		entries := make([]storage.Entry, k)
		for i := range entries {
			entries[i] = storage.Entry{Key: fmt.Appendf(nil, "key %d", n+i), Record: fmt.Appendf(nil, "record %d\n", n+i)}
		}
		for _, f := range origin.AppendBatch(ctx, entries, nil) {
			if _, _, err := f.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		n += k
		signed, _ := origin.Checkpoint()
		heads = append(heads, signed)
	}

	ms := memstore.New()
	im, err := storage.OpenImport(ctx, ms, importOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storage.Open(ctx, ms.Reader(), readerOptions(-1)); !errors.Is(err, storage.ErrNoLog) {
		t.Fatalf("reader before the first import: %v, want ErrNoLog", err)
	}
	var reader *storage.Log
	for hi, head := range heads {
		_, tree := openTree(t, head)
		stored, hash := im.N()
		if err := im.SetTarget(ctx, head, hash); err != nil {
			t.Fatal(err)
		}
		for stored < tree.N {
			k := min(tree.N-stored, 777+int64(hi)*300)
			recs, err := origin.ReadRecords(ctx, stored, k)
			if err != nil {
				t.Fatal(err)
			}
			keys := make([][]byte, len(recs))
			for i := range keys {
				keys[i] = fmt.Appendf(nil, "key %d", stored+int64(i))
			}
			want, err := origin.TreeHash(ctx, stored+k)
			if err != nil {
				t.Fatal(err)
			}
			// A forged record is refused and nothing is written.
			bad := append([][]byte(nil), recs...)
			bad[len(bad)/2] = []byte("forged\n")
			before := ms.Bytes()
			if err := im.Append(ctx, bad, keys, want); !errors.Is(err, storage.ErrMismatch) {
				t.Fatalf("forged record: %v, want ErrMismatch", err)
			}
			if stored+k < tree.N {
				var wrong tlog.Hash
				if err := im.Append(ctx, recs, keys, wrong); !errors.Is(err, storage.ErrMismatch) {
					t.Fatalf("wrong hash: %v, want ErrMismatch", err)
				}
			}
			if ms.Bytes() != before {
				t.Fatalf("a refused Append wrote to the store")
			}
			if err := im.Append(ctx, recs, keys, want); err != nil {
				t.Fatal(err)
			}
			stored += k
			if stored%1000 < 300 { // reopen now and then: resume from the store
				im.Close()
				if im, err = storage.OpenImport(ctx, ms, importOptions()); err != nil {
					t.Fatal(err)
				}
			}
		}
		signed, _ := im.Checkpoint()
		if !bytes.Equal(signed, head) {
			t.Fatalf("published checkpoint is not the origin's")
		}
		if reader == nil {
			reader = mustOpenLog(t, ms.Reader(), readerOptions(-1))
		} else if _, err := reader.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := reader.Checkpoint(); !bytes.Equal(got, head) {
			t.Fatalf("reader serves another checkpoint")
		}
	}
	// An older target is refused.
	if err := im.SetTarget(ctx, heads[0], tlog.Hash{}); !errors.Is(err, storage.ErrMismatch) {
		t.Fatalf("older target: %v, want ErrMismatch", err)
	}

	_, tree := origin.Checkpoint()
	for i := int64(0); i < tree.N; i += 256 {
		k := min(256, tree.N-i)
		got, err := reader.ReadRecords(ctx, i, k)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := origin.ReadRecords(ctx, i, k)
		for j := range got {
			if !bytes.Equal(got[j], want[j]) {
				t.Fatalf("record %d differs", i+int64(j))
			}
		}
	}
	for _, tt := range tile.NewTiles(8, 0, tree.N) {
		if tt.L < 0 {
			continue
		}
		a, err1 := reader.ReadTile(ctx, tt)
		b, err2 := origin.ReadTile(ctx, tt)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Fatalf("tile %v: %v %v, equal %v", tt, err1, err2, bytes.Equal(a, b))
		}
	}
	for _, i := range []int64{0, 1, 255, 256, tree.N - 1} {
		got, err := reader.Lookup(ctx, fmt.Appendf(nil, "key %d", i))
		if err != nil || got != i {
			t.Fatalf("lookup key %d: %d, %v", i, got, err)
		}
	}

	// A halt is kept across reopens and refuses imports.
	if err := im.Halt(ctx, []byte("report")); err != nil {
		t.Fatal(err)
	}
	im.Close()
	im, err = storage.OpenImport(ctx, ms, importOptions())
	if err != nil {
		t.Fatal(err)
	}
	if string(im.Halted()) != "report" {
		t.Fatalf("halt report after reopen: %q", im.Halted())
	}
	if err := im.SetTarget(ctx, heads[len(heads)-1], tlog.Hash{}); !errors.Is(err, storage.ErrHalted) {
		t.Fatalf("SetTarget after Halt: %v", err)
	}
}

func openTree(t *testing.T, signed []byte) ([]byte, tlog.Tree) {
	t.Helper()
	o := importOptions()
	c, _, err := note.OpenCheckpoint(signed, o.Origin, note.VerifierList(o.Verifier))
	if err != nil {
		t.Fatal(err)
	}
	return signed, c.Tree()
}
