package storagetest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"fmt"
	"testing"

	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/tlog"
)

// format1Store is every key and value of a log of 600 records written by
// the format 1 layout (which also stored the partial level-0 hash tile),
// as uvarint(len(key)) key uvarint(len(value)) value. Record i is "format
// 1 record <i>\n", appended with key "key <i>" for even i.
//
//go:embed testdata/format1-600.kv
var format1Store []byte

//go:embed testdata/format1-600.checkpoint
var format1Checkpoint []byte

func format1Record(i int) []byte { return fmt.Appendf(nil, "format 1 record %d\n", i) }

// testFormat1 loads the format 1 store into the backend, opens it (which
// upgrades it), appends to it, reopens it, and checks every record, key,
// tile and proof against x/mod's hashes of the same records.
func testFormat1(t *testing.T, open Opener) {
	ctx := context.Background()
	b := mustOpen(t, open)
	var batch storage.Batch
	var partial0 []byte // the key of the partial level-0 tile
	for data := format1Store; len(data) > 0; {
		var kv [2][]byte
		for i := range kv {
			n, w := binary.Uvarint(data)
			if w <= 0 || n > uint64(len(data)-w) {
				t.Fatalf("testdata/format1-600.kv is malformed")
			}
			kv[i], data = data[w:w+int(n)], data[w+int(n):]
		}
		if kv[0][0] == 't' && kv[0][1] == 0 && len(kv[1]) < 256*32 {
			partial0 = kv[0]
		}
		batch.Set(kv[0], kv[1])
	}
	if partial0 == nil {
		t.Fatal("testdata/format1-600.kv has no partial level-0 tile")
	}
	if err := b.Commit(ctx, &batch); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	opts := LogOptions(false)
	opts.LastKnown = format1Checkpoint
	l := mustOpenLog(t, open, opts)
	signed, tree := l.Checkpoint()
	if !bytes.Equal(signed, format1Checkpoint) || tree.N != 600 {
		t.Fatalf("format 1 store opened at %d records, checkpoint %q", tree.N, signed)
	}
	var recs [][]byte
	for i := range 600 {
		recs = append(recs, format1Record(i))
	}
	for i := 600; i < 1000; i++ {
		rec := fmt.Appendf(nil, "format 2 record %d\n", i)
		var err error
		if i%2 == 0 {
			_, _, err = l.AppendKeyed(ctx, fmt.Appendf(nil, "key %d", i), rec)
		} else {
			_, err = l.Append(ctx, rec)
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	// A key of the format 1 part is still known, and not appended twice.
	if idx, existed, err := l.AppendKeyed(ctx, []byte("key 42"), []byte("again\n")); err != nil || !existed || idx != 42 {
		t.Fatalf("AppendKeyed(key 42) = %d, %v, %v; want 42, true", idx, existed, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Upgraded: format 2, without the partial level-0 tile of format 1.
	b = mustOpen(t, open)
	if v, err := b.Get(ctx, []byte("v")); err != nil || string(v) != "tlogkit storage 2" {
		t.Errorf("format after upgrade: %q, %v", v, err)
	}
	if v, err := b.Get(ctx, partial0); err == nil && len(v) < 256*32 {
		t.Errorf("partial level-0 tile of format 1 still stored (%d bytes)", len(v))
	}
	b.Close()

	l = mustOpenLog(t, open, opts)
	defer l.Close()
	x := &reference{}
	for _, r := range recs {
		x.add(r)
	}
	_, tree = l.Checkpoint()
	if tree.N != 1000 {
		t.Fatalf("reopened at %d records, want 1000", tree.N)
	}
	got, err := l.ReadRecords(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if !bytes.Equal(got[i], recs[i]) {
			t.Fatalf("record %d = %q, want %q", i, got[i], recs[i])
		}
	}
	for _, i := range []int{0, 42, 598, 600, 998} {
		if idx, err := l.Lookup(ctx, fmt.Appendf(nil, "key %d", i)); err != nil || idx != int64(i) {
			t.Errorf("Lookup(key %d) = %d, %v", i, idx, err)
		}
	}
	for _, n := range []int64{1, 255, 256, 599, 600, 601, 1000} {
		want, err := xtlog.TreeHash(n, x)
		if err != nil {
			t.Fatal(err)
		}
		if h, err := l.TreeHash(ctx, n); err != nil || h != tlog.Hash(want) {
			t.Errorf("TreeHash(%d) = %v, %v; want %v", n, h, err, want)
		}
		p, err := l.ProveRecord(ctx, 1000, n-1)
		if err != nil {
			t.Fatal(err)
		}
		xp := make(xtlog.RecordProof, len(p))
		for i := range p {
			xp[i] = xtlog.Hash(p[i])
		}
		root, _ := xtlog.TreeHash(1000, x)
		if err := xtlog.CheckRecord(xp, 1000, root, n-1, xtlog.RecordHash(recs[n-1])); err != nil {
			t.Errorf("ProveRecord(1000, %d): %v", n-1, err)
		}
	}
	if _, err := l.ProveTree(ctx, 1000, 600); err != nil {
		t.Errorf("ProveTree(1000, 600): %v", err)
	}
}
