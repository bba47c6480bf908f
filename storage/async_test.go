package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

// asyncBackends makes a fresh store of each backend.
var asyncBackends = []struct {
	name string
	new  func(t *testing.T) storage.Backend
}{
	{"mem", func(t *testing.T) storage.Backend { return memstore.New() }},
	{"pebble", func(t *testing.T) storage.Backend {
		st, err := pebblestore.Open(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

// asyncWorkload is entry i of the workload the async tests append: every
// third keyed, with a key repeated now and then.
func asyncWorkload(i int) storage.Entry {
	rec := fmt.Appendf(nil, "record %d\n", i)
	switch {
	case i%7 == 3:
		return storage.Entry{Key: fmt.Appendf(nil, "key %d", i/70), Record: rec}
	case i%3 == 0:
		return storage.Entry{Key: fmt.Appendf(nil, "key %d", i), Record: rec}
	}
	return storage.Entry{Record: rec}
}

type appendResult struct {
	index   int64
	existed bool
}

// TestAsyncMatchesSync: the same workload appended one record at a time
// (Append, AppendKeyed), with AppendAsync/AppendKeyedAsync from one
// goroutine, and with AppendBatch gives the same indexes, the same
// existed flags, the same final signed checkpoint (Ed25519 signatures are
// deterministic) and the same records, on both backends.
func TestAsyncMatchesSync(t *testing.T) {
	const n = 1500
	ctx := context.Background()
	for _, be := range asyncBackends {
		t.Run(be.name, func(t *testing.T) {
			var checkpoints [][]byte
			var results [][]appendResult
			var records [][][]byte
			for _, mode := range []string{"sync", "async", "batch"} {
				l, err := storage.Open(ctx, be.new(t), storagetest.LogOptions(true))
				if err != nil {
					t.Fatal(err)
				}
				res := make([]appendResult, n)
				switch mode {
				case "sync":
					for i := range n {
						e := asyncWorkload(i)
						var r appendResult
						if e.Key != nil {
							r.index, r.existed, err = l.AppendKeyed(ctx, e.Key, e.Record)
						} else {
							r.index, err = l.Append(ctx, e.Record)
						}
						if err != nil {
							t.Fatal(err)
						}
						res[i] = r
					}
				case "async":
					futures := make([]storage.Future, n)
					for i := range n {
						e := asyncWorkload(i)
						if e.Key != nil {
							futures[i] = l.AppendKeyedAsync(ctx, e.Key, e.Record)
						} else {
							futures[i] = l.AppendAsync(ctx, e.Record)
						}
						if i%100 == 99 {
							time.Sleep(time.Millisecond) // several batches
						}
					}
					for i, f := range futures {
						if res[i].index, res[i].existed, err = f.Wait(ctx); err != nil {
							t.Fatal(err)
						}
					}
				case "batch":
					var futures []storage.Future
					for start := 0; start < n; start += 500 {
						var entries []storage.Entry
						for i := start; i < start+500; i++ {
							entries = append(entries, asyncWorkload(i))
						}
						futures = l.AppendBatch(ctx, entries, futures)
					}
					if len(futures) != n {
						t.Fatalf("AppendBatch returned %d futures for %d entries", len(futures), n)
					}
					for i, f := range futures {
						<-f.Done()
						if res[i].index, res[i].existed, err = f.Wait(ctx); err != nil {
							t.Fatal(err)
						}
					}
				}
				cp, tree := l.Checkpoint()
				recs, err := l.ReadRecords(ctx, 0, tree.N)
				if err != nil {
					t.Fatal(err)
				}
				checkpoints = append(checkpoints, cp)
				results = append(results, res)
				records = append(records, recs)
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			}
			for m := 1; m < len(results); m++ {
				if !bytes.Equal(checkpoints[m], checkpoints[0]) {
					t.Errorf("mode %d: checkpoint\n%s\nwant (sync)\n%s", m, checkpoints[m], checkpoints[0])
				}
				for i := range n {
					if results[m][i] != results[0][i] {
						t.Fatalf("mode %d: entry %d: %+v, sync gave %+v", m, i, results[m][i], results[0][i])
					}
				}
				if len(records[m]) != len(records[0]) {
					t.Fatalf("mode %d: %d records, sync %d", m, len(records[m]), len(records[0]))
				}
				for i := range records[0] {
					if !bytes.Equal(records[m][i], records[0][i]) {
						t.Fatalf("mode %d: record %d = %q, sync %q", m, i, records[m][i], records[0][i])
					}
				}
			}
			// The workload has duplicates: the log is shorter than n.
			if len(records[0]) >= n {
				t.Fatalf("log has %d records for %d entries with duplicate keys", len(records[0]), n)
			}
		})
	}
}

// TestAsyncKeyedBurst: many appends of a few keys queued at once (from
// several goroutines, async and batched) give each key exactly one index,
// whose record is one of those appended under it, and every other append
// of that key reports existed with the same index.
func TestAsyncKeyedBurst(t *testing.T) {
	ctx := context.Background()
	for _, be := range asyncBackends {
		t.Run(be.name, func(t *testing.T) {
			l, err := storage.Open(ctx, be.new(t), storagetest.LogOptions(true))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			const keys, per = 20, 50
			var mu sync.Mutex
			type got struct {
				key     int
				rec     []byte
				res     appendResult
				waitErr error
			}
			var all []got
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					var fs []storage.Future
					var mine []got
					var entries []storage.Entry
					for j := range per {
						for k := range keys {
							rec := fmt.Appendf(nil, "key %d from %d/%d", k, g, j)
							mine = append(mine, got{key: k, rec: rec})
							if g%2 == 0 {
								fs = append(fs, l.AppendKeyedAsync(ctx, fmt.Appendf(nil, "k%d", k), rec))
							} else {
								entries = append(entries, storage.Entry{Key: fmt.Appendf(nil, "k%d", k), Record: rec})
							}
						}
					}
					if g%2 == 1 {
						fs = l.AppendBatch(ctx, entries, nil)
					}
					for i, f := range fs {
						mine[i].res.index, mine[i].res.existed, mine[i].waitErr = f.Wait(ctx)
					}
					mu.Lock()
					all = append(all, mine...)
					mu.Unlock()
				})
			}
			wg.Wait()
			index := map[int]int64{}
			logged := map[int]int{}
			for _, g := range all {
				if g.waitErr != nil {
					t.Fatal(g.waitErr)
				}
				if idx, ok := index[g.key]; ok && idx != g.res.index {
					t.Fatalf("key %d got indexes %d and %d", g.key, idx, g.res.index)
				}
				index[g.key] = g.res.index
				if !g.res.existed {
					logged[g.key]++
					recs, err := l.ReadRecords(ctx, g.res.index, 1)
					if err != nil || !bytes.Equal(recs[0], g.rec) {
						t.Fatalf("record %d = %q, %v; want %q", g.res.index, recs, err, g.rec)
					}
				}
			}
			for k := range keys {
				if logged[k] != 1 {
					t.Errorf("key %d logged %d times", k, logged[k])
				}
			}
			if _, tree := l.Checkpoint(); tree.N != keys {
				t.Errorf("log has %d records for %d keys", tree.N, keys)
			}
		})
	}
}

// gatedStore is a memstore whose commits wait until the gate is opened.
type gatedStore struct {
	*memstore.Store
	gate    chan struct{}
	entered chan struct{} // receives when a commit is waiting
}

func newGatedStore() *gatedStore {
	return &gatedStore{Store: memstore.New(), gate: make(chan struct{}), entered: make(chan struct{}, 100)}
}

func (g *gatedStore) Commit(ctx context.Context, b *storage.Batch) error {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.gate
	return g.Store.Commit(ctx, b)
}

// openGated opens a log on a gated store with small limits, and waits
// until the sequencer is stuck in the commit of a first record.
func openGated(t *testing.T) (*storage.Log, *gatedStore, storage.Future) {
	t.Helper()
	ctx := context.Background()
	st := newGatedStore()
	opts := storagetest.LogOptions(true)
	opts.MaxBatchRecords = 4
	opts.MaxPending = 8
	// Open commits the empty log through the gate.
	var l *storage.Log
	var err error
	done := make(chan struct{})
	go func() { l, err = storage.Open(ctx, st, opts); close(done) }()
	<-st.entered
	st.gate <- struct{}{}
	<-done
	if err != nil {
		t.Fatal(err)
	}
	first := l.AppendAsync(ctx, []byte("first"))
	<-st.entered
	return l, st, first
}

// TestAsyncContext: AppendAsync blocks only when MaxPending appends are
// queued, and gives up with ctx's error then (appending nothing); Wait
// gives up when its ctx ends, and a later Wait has the result.
func TestAsyncContext(t *testing.T) {
	ctx := context.Background()
	l, st, first := openGated(t)
	var fs []storage.Future
	for i := range 8 { // MaxPending: none of these blocks
		fs = append(fs, l.AppendAsync(ctx, fmt.Appendf(nil, "queued %d", i)))
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	blocked := l.AppendAsync(cctx, []byte("not appended"))
	if _, _, err := blocked.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AppendAsync beyond MaxPending with an ended ctx: %v, want DeadlineExceeded", err)
	}
	if _, err := l.Append(cctx, []byte("not appended either")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append beyond MaxPending with an ended ctx: %v", err)
	}
	if _, _, err := first.Wait(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with an ended ctx while the commit hangs: %v", err)
	}
	select {
	case <-first.Done():
		t.Fatal("Done closed while the commit hangs")
	default:
	}
	// An appender blocked on room goes on once the sequencer takes a batch.
	later := make(chan storage.Future)
	go func() { later <- l.AppendAsync(ctx, []byte("later")) }()
	close(st.gate)
	lf := <-later
	var want int64
	for _, f := range append([]storage.Future{first}, append(fs, lf)...) {
		idx, existed, err := f.Wait(ctx)
		if err != nil || existed || idx != want {
			t.Fatalf("future %d: %d, %v, %v", want, idx, existed, err)
		}
		want++
	}
	recs, err := l.ReadRecords(ctx, 0, want)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if bytes.Contains(r, []byte("not appended")) {
			t.Fatalf("a record whose AppendAsync gave up was appended: %q", r)
		}
	}
	if _, tree := l.Checkpoint(); tree.N != want {
		t.Fatalf("tree has %d records, want %d", tree.N, want)
	}
	l.Close()
}

// TestAsyncClose: Close with futures pending commits what is queued and
// answers every future; appends after Close fail with ErrClosed.
func TestAsyncClose(t *testing.T) {
	ctx := context.Background()
	l, st, first := openGated(t)
	fs := []storage.Future{first}
	for i := range 7 {
		fs = append(fs, l.AppendKeyedAsync(ctx, fmt.Appendf(nil, "k%d", i%5), fmt.Appendf(nil, "r%d", i)))
	}
	closed := make(chan error)
	go func() { closed <- l.Close() }()
	time.Sleep(5 * time.Millisecond)
	if f := l.AppendAsync(ctx, []byte("after")); isDone(f) {
		if _, _, err := f.Wait(ctx); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("AppendAsync during Close: %v, want ErrClosed", err)
		}
	} else {
		fs = append(fs, f) // Close had not started yet (slow machine)
	}
	close(st.gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for i, f := range fs {
		idx, existed, err := f.Wait(ctx)
		if err != nil {
			t.Fatalf("future %d after Close: %v", i, err)
		}
		if existed != (i == 6 || i == 7) || (!existed && seen[idx]) {
			t.Fatalf("future %d: index %d existed %v", i, idx, existed)
		}
		seen[idx] = true
	}
	if _, _, err := l.AppendBatch(ctx, []storage.Entry{{Record: []byte("x")}}, nil)[0].Wait(ctx); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("AppendBatch after Close: %v, want ErrClosed", err)
	}
	// Everything answered was committed.
	st2, err := st.Reopen()
	if err != nil {
		t.Fatal(err)
	}
	l, err = storage.Open(ctx, st2, storagetest.LogOptions(false))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, tree := l.Checkpoint(); tree.N != int64(len(seen)) {
		t.Fatalf("reopened log has %d records, want %d", tree.N, len(seen))
	}
}

// TestAsyncFailStop: when a commit fails, every future of that batch and
// of every batch queued behind it fails with ErrStopped, earlier ones keep
// their indexes, and the acknowledged records survive a reopen.
func TestAsyncFailStop(t *testing.T) {
	ctx := context.Background()
	for _, fault := range []memstore.Fault{memstore.FailNotPersisted, memstore.FailPersisted} {
		t.Run(fmt.Sprint("fault=", fault), func(t *testing.T) {
			st := memstore.New()
			opts := storagetest.LogOptions(true)
			opts.MaxBatchRecords = 16
			l, err := storage.Open(ctx, st, opts)
			if err != nil {
				t.Fatal(err)
			}
			commits := 0
			st.SetFault(func(op memstore.Op, seq int) memstore.Fault {
				if op != memstore.OpCommit {
					return memstore.NoFault
				}
				commits++
				if commits == 4 {
					return fault
				}
				return memstore.NoFault
			})
			o := storagetest.NewObserved()
			var entries []storage.Entry
			for i := range 500 {
				entries = append(entries, storage.Entry{Record: fmt.Appendf(nil, "r%d", i)})
			}
			fs := l.AppendBatch(ctx, entries, nil)
			ok, failed := 0, 0
			for i, f := range fs {
				idx, _, err := f.Wait(ctx)
				switch {
				case err == nil:
					if failed > 0 {
						t.Fatalf("future %d succeeded after a failed one", i)
					}
					o.Ack(idx, entries[i].Record)
					ok++
				case errors.Is(err, storage.ErrStopped) && errors.Is(err, memstore.ErrInjected):
					failed++
				default:
					t.Fatalf("future %d: %v, want ErrStopped wrapping the cause", i, err)
				}
			}
			if ok == 0 || failed == 0 {
				t.Fatalf("%d succeeded, %d failed", ok, failed)
			}
			if _, _, err := l.AppendAsync(ctx, []byte("after")).Wait(ctx); !errors.Is(err, storage.ErrStopped) {
				t.Fatalf("AppendAsync after the failure: %v", err)
			}
			l.Close()
			st.SetFault(nil)
			st2, err := st.Reopen()
			if err != nil {
				t.Fatal(err)
			}
			l, err = storage.Open(ctx, st2, storagetest.LogOptions(false))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			storagetest.CheckRecovered(t, l, o)
		})
	}
}

// TestAsyncInvalid: bad arguments fail in the Future, alone.
func TestAsyncInvalid(t *testing.T) {
	ctx := context.Background()
	opts := storagetest.LogOptions(true)
	opts.MaxRecordSize = 10
	l, err := storage.Open(ctx, memstore.New(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for name, f := range map[string]storage.Future{
		"empty key":    l.AppendKeyedAsync(ctx, []byte{}, []byte("r")),
		"nil key":      l.AppendKeyedAsync(ctx, nil, []byte("r")),
		"large record": l.AppendAsync(ctx, make([]byte, 11)),
		"zero Future":  {},
	} {
		if _, _, err := f.Wait(ctx); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
		<-f.Done()
	}
	fs := l.AppendBatch(ctx, []storage.Entry{{Record: []byte("a")}, {Key: []byte{}, Record: []byte("b")}, {Record: make([]byte, 11)}, {Key: []byte("k"), Record: []byte("c")}}, nil)
	want := []error{nil, storage.ErrInvalid, storage.ErrInvalid, nil}
	for i, f := range fs {
		idx, _, err := f.Wait(ctx)
		if !errors.Is(err, want[i]) || (want[i] == nil && err != nil) {
			t.Errorf("entry %d: %v, want %v", i, err, want[i])
		}
		if err == nil && idx != int64(i/3) {
			t.Errorf("entry %d: index %d, want %d", i, idx, i/3)
		}
	}
}

func isDone(f storage.Future) bool {
	select {
	case <-f.Done():
		return true
	default:
		return false
	}
}
