package pebblestore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

type timedBackend struct {
	storage.Backend
	mu    sync.Mutex
	n     int
	total time.Duration
	ops   int
	bytes int
}

func (t *timedBackend) Commit(ctx context.Context, b *storage.Batch) error {
	t0 := time.Now()
	err := t.Backend.Commit(ctx, b)
	t.mu.Lock()
	t.n++
	t.total += time.Since(t0)
	t.ops += b.Len()
	t.bytes += b.Size()
	t.mu.Unlock()
	return err
}

func BenchmarkTimedAppend(b *testing.B) {
	ctx := context.Background()
	st, err := pebblestore.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	tb := &timedBackend{Backend: st}
	l, err := storage.Open(ctx, tb, storagetest.LogOptions(true))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	per := b.N / 64
	t0 := time.Now()
	for range 64 {
		wg.Go(func() {
			rec := make([]byte, 150)
			for range per {
				l.Append(ctx, rec)
			}
		})
	}
	wg.Wait()
	el := time.Since(t0)
	b.ReportMetric(float64(tb.n), "commits")
	b.ReportMetric(float64(tb.total.Microseconds())/float64(tb.n), "commit-µs")
	b.ReportMetric(float64(el.Microseconds())/float64(tb.n), "cycle-µs")
	b.ReportMetric(float64(tb.bytes)/float64(tb.n), "batch-bytes")
}
