package storagetest

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/storage"
)

// BenchRecord returns record i of the benchmarks, in dst's storage: 150
// pseudo-random (incompressible) bytes.
func BenchRecord(i int64, dst []byte) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 150))
	dst = dst[:0]
	for len(dst) < 150 {
		dst = binary.LittleEndian.AppendUint64(dst, r.Uint64())
	}
	return dst[:150]
}

// BenchKey returns the key of record i, shaped like a checksum database's.
func BenchKey(i int64) []byte {
	return fmt.Appendf(nil, "example.com/mod%08d@v1.2.%d", i, i%10)
}

// BenchAppends makes b.N durable appends of BenchRecords to l (keyed by
// BenchKey if keyed) from appenders goroutines: each waits for every
// acknowledgment (Append) if inflight is 0, else keeps inflight appends in
// flight (AppendAsync, then Wait on the oldest). It reports records/s, the
// p50/p99 time from an append to its acknowledgment and the mean records
// per commit, and returns the number of appends acknowledged.
func BenchAppends(b *testing.B, l *storage.Log, appenders, inflight int, keyed bool) int {
	ctx := context.Background()
	var next atomic.Int64
	lat := make([][]time.Duration, appenders)
	b.SetBytes(150)
	b.ReportAllocs()
	c0 := l.Stats().Commits
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Go(func() {
			var rec []byte
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
				rec = BenchRecord(i, rec)
				s := sent{t0: time.Now()}
				if keyed {
					s.f = l.AppendKeyedAsync(ctx, BenchKey(i), rec)
				} else {
					s.f = l.AppendAsync(ctx, rec)
				}
				ring = append(ring, s)
				if len(ring) >= max(inflight, 1) && !wait() {
					return
				}
			}
			for len(ring) > 0 {
				if !wait() {
					return
				}
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
		if c := l.Stats().Commits - c0; c > 0 {
			b.ReportMetric(float64(len(all))/float64(c), "records/commit")
		}
	}
	return len(all)
}
