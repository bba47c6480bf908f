package pgstore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/pgstore"
	"github.com/tlogkit/tlogkit/storage/pgstore/pgtest"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

// BenchmarkAppend measures durable appends of 150-byte records on
// PostgreSQL (fsync and synchronous_commit on, server on a local Unix
// socket) side by side with pebble, from 64 appenders that each wait for
// their acknowledgment or keep 16 in flight. It reports records/s, p50/p99
// latency, records per commit and, for PostgreSQL, WAL bytes per record.
func BenchmarkAppend(b *testing.B) {
	srv := pgtest.Start(b)
	for _, backend := range []string{"pebble", "postgres"} {
		for _, inflight := range []int{0, 16} {
			b.Run(fmt.Sprintf("backend=%s/appenders=64/inflight=%d", backend, inflight), func(b *testing.B) {
				var st storage.Backend
				var err error
				log := fmt.Sprintf("bench-%d", logSeq.Add(1))
				if backend == "pebble" {
					st, err = pebblestore.Open(b.TempDir(), nil)
				} else {
					st, err = pgstore.Open(context.Background(), srv.URL, &pgstore.Options{Log: log})
				}
				if err != nil {
					b.Fatal(err)
				}
				var wal0 int64
				if backend == "postgres" {
					wal0 = walLSN(b, srv.URL)
				}
				n := benchAppend(b, st, inflight)
				if backend == "postgres" && n > 0 {
					b.ReportMetric(float64(walLSN(b, srv.URL)-wal0)/float64(n), "WAL-B/record")
				}
			})
		}
	}
}

func walLSN(b *testing.B, url string) int64 {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// countingBackend counts commits.
type countingBackend struct {
	storage.Backend
	commits atomic.Int64
}

func (c *countingBackend) Commit(ctx context.Context, b *storage.Batch) error {
	c.commits.Add(1)
	return c.Backend.Commit(ctx, b)
}

func (c *countingBackend) GetMany(ctx context.Context, keys [][]byte) ([][]byte, error) {
	return c.Backend.(storage.MultiGetter).GetMany(ctx, keys)
}

// benchAppend runs b.N appends and returns how many were acknowledged.
func benchAppend(b *testing.B, st storage.Backend, inflight int) int {
	ctx := context.Background()
	cs := &countingBackend{Backend: st}
	l, err := storage.Open(ctx, cs, storagetest.LogOptions(true))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const appenders = 64
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
				if len(ring) > inflight && !wait() {
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
		b.ReportMetric(float64(len(all))/float64(cs.commits.Load()-c0), "records/commit")
	}
	return len(all)
}

// BenchmarkRead measures reads of a log of 2^16 keyed records, on pebble
// and from a PostgreSQL replica (a read-only log on its own read-only
// store beside the writer): inclusion proofs warm (tile cache on, after a
// first pass) and cold (tile caches off: every tile read from the store),
// and key lookups.
func BenchmarkRead(b *testing.B) {
	srv := pgtest.Start(b)
	ctx := context.Background()
	const n = 1 << 16
	for _, backend := range []string{"pebble", "postgres"} {
		dir := b.TempDir()
		log := fmt.Sprintf("read-%d", logSeq.Add(1))
		openStore := func(readOnly bool) storage.Backend {
			var st storage.Backend
			var err error
			if backend == "pebble" {
				st, err = pebblestore.Open(dir, nil)
			} else {
				st, err = pgstore.Open(ctx, srv.URL, &pgstore.Options{Log: log, ReadOnly: readOnly})
			}
			if err != nil {
				b.Fatal(err)
			}
			return st
		}
		wl, err := storage.Open(ctx, openStore(false), storagetest.LogOptions(true))
		if err != nil {
			b.Fatal(err)
		}
		entries := make([]storage.Entry, n)
		for i := range entries {
			entries[i] = storage.Entry{Key: fmt.Appendf(nil, "key %d", i), Record: fmt.Appendf(nil, "record %d", i)}
		}
		for _, f := range wl.AppendBatch(ctx, entries, nil) {
			if _, _, err := f.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if backend == "pebble" {
			wl.Close() // one process: the reader reopens the store
		}
		for _, kind := range []string{"proof-warm", "proof-cold", "lookup"} {
			b.Run(fmt.Sprintf("backend=%s/%s", backend, kind), func(b *testing.B) {
				opts := storagetest.LogOptions(false)
				opts.CacheTiles, opts.CacheUpperTiles = 1024, 1024
				if kind == "proof-cold" {
					opts.CacheTiles, opts.CacheUpperTiles = -1, -1
				}
				if backend == "postgres" {
					opts.Signer, opts.ReadOnly, opts.Follow = nil, true, -1
				}
				l, err := storage.Open(ctx, openStore(backend == "postgres"), opts)
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				if kind == "proof-warm" {
					for i := int64(0); i < n; i += 256 {
						if _, err := l.ProveRecord(ctx, n, i); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					idx := int64(uint64(i) * 40503 % n)
					var err error
					if kind == "lookup" {
						_, err = l.Lookup(ctx, fmt.Appendf(nil, "key %d", idx))
					} else {
						_, err = l.ProveRecord(ctx, n, idx)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		if backend == "postgres" {
			wl.Close()
		}
	}
}
