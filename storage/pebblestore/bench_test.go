package pebblestore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

// countingStore counts commits, keeping the store's pipelining.
type countingStore struct {
	*pebblestore.Store
	commits atomic.Int64
}

func (c *countingStore) Commit(ctx context.Context, b *storage.Batch) error {
	c.commits.Add(1)
	return c.Store.Commit(ctx, b)
}

func (c *countingStore) CommitPipelined(ctx context.Context, b *storage.Batch) (func() error, error) {
	c.commits.Add(1)
	return c.Store.CommitPipelined(ctx, b)
}

// BenchmarkAppend measures durable appends of 150-byte records from
// concurrent appenders, each waiting for its acknowledgment, for several
// pipeline depths; it reports records/s, the p50/p99 time from Append to
// acknowledgment, and the mean number of records per commit.
//
// With inflight=K, each of 64 appenders keeps K records in flight with
// AppendAsync, and the latency is from AppendAsync to the return of Wait.
func BenchmarkAppend(b *testing.B) {
	for _, depth := range []int{1, 2, 4} {
		for _, appenders := range []int{64, 256} {
			b.Run(fmt.Sprintf("depth=%d/appenders=%d", depth, appenders), func(b *testing.B) {
				benchAppend(b, depth, appenders, 0)
			})
		}
		for _, inflight := range []int{16, 64} {
			b.Run(fmt.Sprintf("depth=%d/appenders=64/inflight=%d", depth, inflight), func(b *testing.B) {
				benchAppend(b, depth, 64, inflight)
			})
		}
	}
}

func benchAppend(b *testing.B, depth, appenders, inflight int) {
	ctx := context.Background()
	st, err := pebblestore.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	cs := &countingStore{Store: st}
	opts := storagetest.LogOptions(true)
	opts.PipelineDepth = depth
	l, err := storage.Open(ctx, cs, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var next atomic.Int64
	lat := make([][]time.Duration, appenders)
	b.SetBytes(150)
	b.ReportAllocs()
	c0 := cs.commits.Load()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Go(func() {
			rec := make([]byte, 150)
			if inflight > 0 {
				type sent struct {
					f  storage.Future
					t0 time.Time
				}
				var ring []sent
				wait := func() bool {
					s := ring[0]
					ring = ring[1:]
					if _, _, err := s.f.Wait(ctx); err != nil {
						b.Error(err)
						return false
					}
					lat[g] = append(lat[g], time.Since(s.t0))
					return true
				}
				for {
					i := next.Add(1) - 1
					if i >= int64(b.N) {
						break
					}
					binary.BigEndian.PutUint64(rec, uint64(i))
					ring = append(ring, sent{t0: time.Now()})
					ring[len(ring)-1].f = l.AppendAsync(ctx, rec)
					if len(ring) == inflight && !wait() {
						return
					}
				}
				for len(ring) > 0 {
					if !wait() {
						return
					}
				}
				return
			}
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				binary.BigEndian.PutUint64(rec, uint64(i))
				t0 := time.Now()
				if _, err := l.Append(ctx, rec); err != nil {
					b.Error(err)
					return
				}
				lat[g] = append(lat[g], time.Since(t0))
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/el.Seconds(), "records/s")
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(len(all))/float64(cs.commits.Load()-c0), "records/commit")
	}
}

// BenchmarkSyncedCommit measures the floor under the log's commit cycle:
// one synced Commit of a batch shaped like a commit of 64 records of 150
// bytes (64 data records in one chunk, a checkpoint), from one goroutine,
// with nothing else to do. 64 appenders that each wait for their
// acknowledgment get at most 64 records per commit, so 64 records/commit
// divided by this time bounds their records/s on this disk.
func BenchmarkSyncedCommit(b *testing.B) {
	ctx := context.Background()
	st, err := pebblestore.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	chunk := make([]byte, 64*152)
	cp := make([]byte, 200)
	b.ReportAllocs()
	b.SetBytes(int64(len(chunk) + len(cp)))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		var batch storage.Batch
		key := binary.BigEndian.AppendUint64([]byte{'d'}, uint64(i))
		batch.Set(key, chunk)
		batch.Set([]byte{'c'}, cp)
		t0 := time.Now()
		if err := st.Commit(ctx, &batch); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(64/b.Elapsed().Seconds()*float64(len(lat)), "64-appender-ceiling-records/s")
	}
}
