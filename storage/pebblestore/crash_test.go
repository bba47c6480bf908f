package pebblestore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

func long() bool { return os.Getenv("TLOGKIT_LONG") == "1" }

// appenders runs n goroutines appending until stop is closed, keyed and
// unkeyed, recording what the log acknowledges and publishes in o.
func appenders(l *storage.Log, o *storagetest.Observed, n int, tag string, stop <-chan struct{}) (wait func() []error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for g := range n {
		wg.Go(func() {
			ctx := context.Background()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rec := fmt.Appendf(nil, "%s g%d i%d %s", tag, g, i, strings.Repeat("x", i%150))
				var idx int64
				var err error
				if i%4 == 0 {
					idx, _, err = l.AppendKeyed(ctx, rec, rec)
				} else {
					idx, err = l.Append(ctx, rec)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				o.Ack(idx, rec)
				_, tree := l.Checkpoint()
				if !o.Saw(tree) {
					panic("two published trees of one size")
				}
			}
		})
	}
	return func() []error {
		wg.Wait()
		return errs
	}
}

func smallOptions(fs vfs.FS) *pebblestore.Options {
	// Small memtables make flushes and compactions happen during the test.
	return &pebblestore.Options{FS: fs, MemTableSize: 256 << 10, CacheSize: 1 << 20}
}

// TestPowerLoss crashes Pebble's file system (dropping a random part of
// the unsynced data) in the middle of concurrent appends, over many seeds,
// and checks the recovered log.
func TestPowerLoss(t *testing.T) {
	seeds := 12
	if long() {
		seeds = 300
	}
	ctx := context.Background()
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 99))
		fs := vfs.NewCrashableMem()
		o := storagetest.NewObserved()
		// Several crashes in a row on the same store.
		for crash := range 3 {
			st, err := pebblestore.Open("/db", smallOptions(fs))
			if err != nil {
				t.Fatalf("seed %d crash %d: %v", seed, crash, err)
			}
			l, err := storage.Open(ctx, st, storagetest.LogOptions(crash == 0))
			if err != nil {
				t.Fatalf("seed %d crash %d: %v", seed, crash, err)
			}
			storagetest.CheckRecovered(t, l, o)
			stop := make(chan struct{})
			wait := appenders(l, o, 8, fmt.Sprintf("s%d c%d", seed, crash), stop)
			target := o.Len() + 50 + rng.IntN(2000)
			for o.Len() < target {
				time.Sleep(100 * time.Microsecond)
			}
			before := o.Snapshot()
			clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rand.New(rand.NewPCG(uint64(seed), uint64(crash)))})
			close(stop)
			if errs := wait(); len(errs) > 0 {
				t.Fatalf("append failed: %v", errs[0])
			}
			l.Close()
			fs, o = clone, before
		}
		st, err := pebblestore.Open("/db", smallOptions(fs))
		if err != nil {
			t.Fatal(err)
		}
		l, err := storage.Open(ctx, st, storagetest.LogOptions(false))
		if err != nil {
			t.Fatalf("seed %d: reopening after crash: %v", seed, err)
		}
		storagetest.CheckRecovered(t, l, o)
		_, tree := l.Checkpoint()
		t.Logf("seed %d: %d acknowledged before the last crash, %d recovered", seed, o.Len(), tree.N)
		l.Close()
	}
}

var errInjected = errors.New("injected I/O error")

// TestIOErrors fails the k-th write or sync of Pebble's WAL for many k
// (each k ten times with TLOGKIT_LONG=1, with different timing):
// the log must stop (fail-stop), and a healthy restart, after a power
// loss that keeps only synced data, must satisfy the invariants.
func TestIOErrors(t *testing.T) {
	reps := 1
	if long() {
		reps = 10
	}
	ctx := context.Background()
	for i := range 40 * reps {
		k := i % 40
		fs := vfs.NewCrashableMem()
		var armed atomic.Bool
		var count atomic.Int64
		inj := errorfs.InjectorFunc(func(op errorfs.Op) error {
			if !armed.Load() || !strings.HasSuffix(op.Path, ".log") {
				return nil
			}
			switch op.Kind {
			case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo, errorfs.OpFileFlush:
				if count.Add(1)-1 == int64(k) {
					return errInjected
				}
			}
			return nil
		})
		// k stays small enough that the error comes before Pebble's first
		// WAL rotation (its first memtable is 256 KiB): Pebble panics,
		// taking the process down, if closing the old WAL fails during a
		// rotation. That is a fail-stop too, whose restart TestKill9
		// covers, but it cannot be observed in-process.
		st, err := pebblestore.Open("/db", smallOptions(errorfs.Wrap(fs, inj)))
		if err != nil {
			t.Fatal(err)
		}
		l, err := storage.Open(ctx, st, storagetest.LogOptions(true))
		if err != nil {
			t.Fatal(err)
		}
		o := storagetest.NewObserved()
		_, tree := l.Checkpoint()
		o.Saw(tree)
		armed.Store(true)
		stop := make(chan struct{})
		wait := appenders(l, o, 8, fmt.Sprintf("k%d", k), stop)
		deadline := time.Now().Add(2 * time.Second)
		for count.Load() <= int64(k) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
		time.Sleep(2 * time.Millisecond)
		close(stop)
		errs := wait()
		if count.Load() <= int64(k) {
			t.Fatalf("k=%d: only %d WAL operations", k, count.Load())
		}
		if len(errs) == 0 {
			t.Fatalf("k=%d: no append failed after the injected error", k)
		}
		for _, err := range errs {
			if !errors.Is(err, storage.ErrStopped) {
				t.Fatalf("k=%d: append failed with %v, want ErrStopped", k, err)
			}
		}
		if _, err := l.Append(ctx, []byte("after")); !errors.Is(err, storage.ErrStopped) {
			t.Fatalf("k=%d: Append after the error: %v, want ErrStopped", k, err)
		}
		// What was published before the error is still served correctly.
		storagetest.CheckRecovered(t, l, o)
		clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
		l.Close()

		st, err = pebblestore.Open("/db", smallOptions(clone))
		if err != nil {
			t.Fatal(err)
		}
		l, err = storage.Open(ctx, st, storagetest.LogOptions(false))
		if err != nil {
			t.Fatalf("k=%d: healthy restart: %v", k, err)
		}
		storagetest.CheckRecovered(t, l, o)
		_, tree = l.Checkpoint()
		t.Logf("k=%d: %d acknowledged, %d recovered; first error: %v", k, o.Len(), tree.N, errs[0])
		if errs := appenders(l, o, 4, "after", closedChan())(); len(errs) > 0 {
			t.Fatal(errs[0])
		}
		if _, err := l.Append(ctx, []byte("after restart")); err != nil {
			t.Fatalf("k=%d: append after restart: %v", k, err)
		}
		l.Close()
	}
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}
