package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pgstore"
	"github.com/tlogkit/tlogkit/storage/pgstore/pgtest"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/tlog"
)

var logSeq atomic.Int64

// TestConformance runs the storagetest suite, each subtest on its own log
// in one database (many logs per database).
func TestConformance(t *testing.T) {
	srv := pgtest.Start(t)
	storagetest.Run(t, func(t *testing.T) storagetest.Opener {
		name := fmt.Sprintf("log-%d", logSeq.Add(1))
		return func() (storage.Backend, error) {
			return pgstore.Open(context.Background(), srv.URL, &pgstore.Options{Log: name, Lease: 2 * time.Second})
		}
	})
}

// TestReplica: read-only stores hold no lease, refuse commits, and a
// read-only log on one serves the writer's checkpoints, records, lookups
// and proofs once committed; a replica of a log that does not exist is
// refused.
func TestReplica(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()
	ropts := storagetest.LogOptions(false)
	ropts.Signer, ropts.ReadOnly, ropts.Follow = nil, true, 5*time.Millisecond

	st, err := pgstore.Open(ctx, srv.URL, &pgstore.Options{Log: "replicated", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storage.Open(ctx, st, ropts); !errors.Is(err, storage.ErrNoLog) {
		t.Fatalf("replica of no log: %v, want ErrNoLog", err)
	}

	wst, err := pgstore.Open(ctx, srv.URL, &pgstore.Options{Log: "replicated"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := storage.Open(ctx, wst, storagetest.LogOptions(true))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rst, err := pgstore.Open(ctx, srv.URL, &pgstore.Options{Log: "replicated", ReadOnly: true})
	if err != nil {
		t.Fatalf("a read-only store beside the writer: %v", err)
	}
	var b storage.Batch
	b.Set([]byte("x"), []byte("y"))
	if err := rst.Commit(ctx, &b); !errors.Is(err, storage.ErrReadOnly) {
		t.Fatalf("Commit on a read-only store: %v, want ErrReadOnly", err)
	}
	r, err := storage.Open(ctx, rst, ropts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range 300 {
		if _, _, err := w.AppendKeyed(ctx, fmt.Appendf(nil, "k%d", i), fmt.Appendf(nil, "record %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	wsigned, wtree := w.Checkpoint()
	deadline := time.Now().Add(10 * time.Second)
	for {
		signed, tree := r.Checkpoint()
		if tree == wtree {
			if !bytes.Equal(signed, wsigned) {
				t.Fatal("replica's checkpoint differs from the writer's")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica at %v, writer at %v", tree, wtree)
		}
		time.Sleep(time.Millisecond)
	}
	idx, err := r.Lookup(ctx, []byte("k257"))
	if err != nil || idx != 257 {
		t.Fatalf("replica Lookup = %d, %v", idx, err)
	}
	recs, err := r.ReadRecords(ctx, 257, 1)
	if err != nil || string(recs[0]) != "record 257" {
		t.Fatalf("replica ReadRecords = %q, %v", recs, err)
	}
	p, err := r.ProveRecord(ctx, wtree.N, 257)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(p, wtree.N, wtree.Hash, 257, tlog.RecordHash(recs[0])); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Append(ctx, []byte("no")); !errors.Is(err, storage.ErrReadOnly) {
		t.Fatalf("replica Append: %v", err)
	}
}
