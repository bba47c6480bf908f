package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/tlog"
)

// The storage benchmarks measure the durable log engine (package storage
// on Pebble): appends from concurrent appenders with synced commits, and
// inclusion proofs from a stored log of 10^6 records (10^7 with
// TLOGKIT_LONG=1), warm and with cold caches, beside x/mod's ProveRecord
// over all stored hashes in memory. x/mod has no storage engine, so that
// is the only side-by-side pair.

// storageRecord is record i: 150 random (incompressible) bytes.
func storageRecord(i int64, dst []byte) []byte { return storagetest.BenchRecord(i, dst) }

// storageKey is the key of record i, shaped like a sumdb key.
func storageKey(i int64) []byte { return storagetest.BenchKey(i) }

func storageLogOptions() storage.Options {
	return storagetest.LogOptions(true)
}

// BenchmarkStorageAppend: durable appends of 150-byte records from
// concurrent appenders; records/s and the p50/p99 time from submitting a
// record to its acknowledgment (durable and published). In the cases
// without inflight, each appender calls Append and waits for its
// acknowledgment before the next record, so the rate is bounded by
// appenders/commit latency; with inflight=K, each appender keeps K records
// in flight through AppendAsync (AppendKeyedAsync with keyed=true: every
// record under a new sumdb-shaped key) and waits for the oldest when it
// has K. backend=mem has no sync and shows the engine's own ceiling.
func BenchmarkStorageAppend(b *testing.B) {
	type benchCase struct {
		appenders, inflight int
		keyed               bool
	}
	cases := []benchCase{
		{appenders: 64}, {appenders: 1024},
		{appenders: 64, inflight: 16}, {appenders: 64, inflight: 64},
		{appenders: 64, keyed: true}, {appenders: 64, inflight: 64, keyed: true},
	}
	for _, backend := range []string{"pebble", "mem"} {
		for _, c := range cases {
			name := fmt.Sprintf("backend=%s/appenders=%d", backend, c.appenders)
			if c.inflight > 0 {
				name += fmt.Sprintf("/inflight=%d", c.inflight)
			}
			if c.keyed {
				name += "/keyed"
			}
			b.Run(name, func(b *testing.B) {
				l := openAppendLog(b, backend)
				defer l.Close()
				benchAppenders(b, l, c.appenders, c.inflight, c.keyed)
			})
		}
	}
}

func openAppendLog(b *testing.B, backend string) *storage.Log {
	var st storage.Backend
	if backend == "mem" {
		st = memstore.New()
	} else {
		var err error
		st, err = pebblestore.Open(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	l, err := storage.Open(context.Background(), st, storageLogOptions())
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// benchAppenders appends b.N records from appenders goroutines, each with
// inflight records in flight (0: synchronous Append), and reports
// records/s and latency percentiles.
func benchAppenders(b *testing.B, l *storage.Log, appenders, inflight int, keyed bool) {
	storagetest.BenchAppends(b, l, appenders, inflight, keyed)
}

func proofLogSize() int64 {
	if os.Getenv("TLOGKIT_LONG") == "1" {
		return 10_000_000
	}
	return 1_000_000
}

// builtStore is a Pebble store holding a keyed log of n records, built
// once per process (in a fixed directory under the temporary directory,
// reused by later runs if complete), with its bytes on disk after a full
// compaction and the peak resident memory of the build.
type builtStore struct {
	dir       string
	n         int64
	diskBytes uint64
	peakRSS   int64 // 0 if the log was reused or the peak is unknown
	err       error
}

var builtStores sync.Map // n -> *sync.OnceValue

func buildStore(n int64) *builtStore {
	f, _ := builtStores.LoadOrStore(n, sync.OnceValue(func() *builtStore { return doBuildStore(n) }))
	return f.(func() *builtStore)()
}

func doBuildStore(n int64) *builtStore {
	ctx := context.Background()
	bs := &builtStore{dir: filepath.Join(os.TempDir(), fmt.Sprintf("tlogkit-bench-storage-%d", n)), n: n}
	st, err := pebblestore.Open(bs.dir, nil)
	if err != nil {
		bs.err = err
		return bs
	}
	l, err := storage.Open(ctx, st, storageLogOptions())
	if err != nil {
		bs.err = err
		return bs
	}
	_, tree := l.Checkpoint()
	if tree.N != n && tree.N != 0 {
		l.Close()
		os.RemoveAll(bs.dir)
		return doBuildStore(n)
	}
	if tree.N == 0 {
		// The peak is the build's alone, not that of whatever this
		// process ran before: return freed memory to the OS and reset
		// the kernel's high-water mark (Linux; elsewhere no peak is
		// reported).
		runtime.GC()
		debug.FreeOSMemory()
		resetRSS := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Value
		for range 2048 {
			wg.Go(func() {
				var rec []byte
				for {
					i := next.Add(1) - 1
					if i >= n {
						return
					}
					rec = storageRecord(i, rec)
					if _, _, err := l.AppendKeyed(ctx, storageKey(i), rec); err != nil {
						failed.Store(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err, ok := failed.Load().(error); ok {
			bs.err = err
			return bs
		}
		if resetRSS {
			bs.peakRSS = peakRSS()
		}
	}
	l.Close()
	// Measure bytes on disk after a full compaction.
	st, err = pebblestore.Open(bs.dir, nil)
	if err != nil {
		bs.err = err
		return bs
	}
	if err := st.Compact(ctx); err != nil {
		bs.err = err
		return bs
	}
	st.Close()
	// Everything in the directory: tables, WAL, manifest.
	entries, err := os.ReadDir(bs.dir)
	if err != nil {
		bs.err = err
		return bs
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			bs.diskBytes += uint64(info.Size())
		}
	}
	return bs
}

// peakRSS returns the process's peak resident set size in bytes (Linux).
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkStorageBuild reports what the stored log of proofLogSize()
// keyed 150-byte records costs: bytes on disk per record after compaction
// (records + tiles + key index; raw record+hash+key bytes are reported
// beside it) and the peak resident memory while building (reported only
// when this run built the log: a complete log from an earlier run in the
// temporary directory is reused).
func BenchmarkStorageBuild(b *testing.B) {
	n := proofLogSize()
	bs := buildStore(n)
	if bs.err != nil {
		b.Fatal(bs.err)
	}
	for range b.N {
	}
	b.ReportMetric(float64(bs.diskBytes)/float64(n), "disk-B/record")
	b.ReportMetric(float64(150+32+len(storageKey(n/2))), "raw-B/record")
	if bs.peakRSS > 0 {
		b.ReportMetric(float64(bs.peakRSS)/(1<<20), "peak-RSS-MiB")
	}
}

// BenchmarkStorageProveRecord: an inclusion proof for a random record in
// the stored log of proofLogSize() records. cache=warm has every tile it
// touches in the tile cache; cache=cold has no level-0 tile cache, so the
// level-0 tile comes through Pebble, whose 32 MiB block cache holds a small
// fraction of the 8 KiB data blocks of the tiles (the OS page cache is warm),
// while the few upper tiles stay cached (a server's steady state);
// cache=cold-all caches no tile at all and has a 1 KiB Pebble block cache,
// so Pebble also reads its index blocks for every tile. impl=xmod is
// x/mod's ProveRecord over all stored hashes held in memory.
func BenchmarkStorageProveRecord(b *testing.B) {
	n := proofLogSize()
	bs := buildStore(n)
	if bs.err != nil {
		b.Fatal(bs.err)
	}
	ctx := context.Background()
	for _, cache := range []string{"warm", "cold", "cold-all"} {
		b.Run(fmt.Sprintf("size=%d/impl=tlogkit-pebble/cache=%s", n, cache), func(b *testing.B) {
			po := &pebblestore.Options{}
			opts := storagetest.LogOptions(false)
			switch cache {
			case "cold-all":
				opts.CacheUpperTiles = -1
				po.CacheSize = 1 << 10
				opts.CacheTiles = -1
			case "cold":
				opts.CacheTiles = -1
			default:
				opts.CacheTiles = int(n/256 + 64)
			}
			st, err := pebblestore.Open(bs.dir, po)
			if err != nil {
				b.Fatal(err)
			}
			l, err := storage.Open(ctx, st, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			_, tree := l.Checkpoint()
			rng := rand.New(rand.NewPCG(1, 2))
			if cache != "cold-all" {
				for i := int64(0); i < tree.N; i += 256 {
					if _, err := l.ProveRecord(ctx, tree.N, i); err != nil {
						b.Fatal(err)
					}
				}
			}
			// Warming allocated the whole cache (640 MiB at 10^7): collect
			// now, not during the short measured loop.
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := l.ProveRecord(ctx, tree.N, rng.Int64N(tree.N)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if n > 1_000_000 {
		return // x/mod in memory needs all 2n hashes: skip at 10^7
	}
	b.Run(fmt.Sprintf("size=%d/impl=xmod/cache=memory", n), func(b *testing.B) {
		hashes := xmodHashes(n)
		rng := rand.New(rand.NewPCG(1, 2))
		runtime.GC()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := xtlog.ProveRecord(n, rng.Int64N(n), hashes); err != nil {
				b.Fatal(err)
			}
		}
	})
}

var xmodHashesOnce sync.Map

// xmodHashes returns the stored hashes of the benchmark log, computed with
// this module's tlog (the same hashes x/mod computes, which the tlog tests
// check) for speed.
func xmodHashes(n int64) xStore {
	f, _ := xmodHashesOnce.LoadOrStore(n, sync.OnceValue(func() xStore {
		var hs []tlog.Hash
		r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for i, x := range idx {
				out[i] = hs[x]
			}
			return out, nil
		})
		var rec []byte
		for i := range n {
			rec = storageRecord(i, rec)
			h, err := tlog.StoredHashes(i, rec, r)
			if err != nil {
				panic(err)
			}
			hs = append(hs, h...)
		}
		return hashStore(hs).x()
	}))
	return f.(func() xStore)()
}

var _ = runtime.GOMAXPROCS
