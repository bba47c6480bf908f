package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

// TestWarmProofsReadNothing: once every tile a proof needs is cached,
// proofs read nothing from the backend.
func TestWarmProofsReadNothing(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	opts := storagetest.LogOptions(true)
	const n = 70000
	opts.CacheTiles = n/256 + 1
	l, err := storage.Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Go(func() {
			for i := g; i < n; i += 100 {
				if _, err := l.Append(ctx, fmt.Appendf(nil, "r%d", i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	_, tree := l.Checkpoint()
	for i := int64(0); i < tree.N; i += 256 {
		if _, err := l.ProveRecord(ctx, tree.N, i); err != nil {
			t.Fatal(err)
		}
	}
	var gets atomic.Int64
	st.SetFault(func(op memstore.Op, seq int) memstore.Fault {
		gets.Add(1)
		return memstore.NoFault
	})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		if _, err := l.ProveRecord(ctx, tree.N, rng.Int64N(tree.N)); err != nil {
			t.Fatal(err)
		}
		if _, err := l.ProveTree(ctx, tree.N, 1+rng.Int64N(tree.N)); err != nil {
			t.Fatal(err)
		}
	}
	if g := gets.Load(); g != 0 {
		t.Errorf("warm proofs read the backend %d times", g)
	}
}
