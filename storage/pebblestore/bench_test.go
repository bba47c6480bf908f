package pebblestore_test

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

// BenchmarkAppend measures durable appends of 150-byte records from
// concurrent appenders, each waiting for its acknowledgment.
func BenchmarkAppend(b *testing.B) {
	for _, appenders := range []int{64, 256} {
		b.Run("appenders="+itoa(appenders), func(b *testing.B) {
			benchAppend(b, appenders)
		})
	}
}

func itoa(n int) string {
	return string(binary.AppendUvarint(nil, 0)[:0]) + fmtInt(n)
}

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func benchAppend(b *testing.B, appenders int) {
	ctx := context.Background()
	st, err := pebblestore.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	l, err := storage.Open(ctx, st, storagetest.LogOptions(true))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var next atomic.Int64
	lat := make([][]time.Duration, appenders)
	b.SetBytes(150)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Go(func() {
			rec := make([]byte, 150)
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
	}
}
