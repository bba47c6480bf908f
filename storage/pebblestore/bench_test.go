package pebblestore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

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
	st, err := pebblestore.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	opts := storagetest.LogOptions(true)
	opts.PipelineDepth = depth
	l, err := storage.Open(context.Background(), st, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	storagetest.BenchAppends(b, l, appenders, inflight, false)
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
