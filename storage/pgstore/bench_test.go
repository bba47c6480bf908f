package pgstore_test

import (
	"context"
	"fmt"
	"testing"

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
				l, err := storage.Open(context.Background(), st, storagetest.LogOptions(true))
				if err != nil {
					b.Fatal(err)
				}
				n := storagetest.BenchAppends(b, l, 64, inflight, false)
				l.Close()
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
