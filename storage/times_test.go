package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

// appendTimed appends k records in one batch and returns the times just
// before and after.
func appendTimed(t *testing.T, l *storage.Log, n, k int) (before, after time.Time) {
	t.Helper()
	ctx := context.Background()
	entries := make([]storage.Entry, k)
	for i := range entries {
		entries[i] = storage.Entry{Key: fmt.Appendf(nil, "key %d", n+i), Record: fmt.Appendf(nil, "record %d\n", n+i)}
	}
	before = time.Now()
	for _, f := range l.AppendBatch(ctx, entries, nil) {
		if _, _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return before, time.Now()
}

// checkTimes requires strictly increasing times for all records, and
// LoggedSince to find each record by its time (and the next one by a time
// just after).
func checkTimes(t *testing.T, l *storage.Log) []time.Time {
	t.Helper()
	ctx := context.Background()
	_, tree := l.Checkpoint()
	times, err := l.Times(ctx, 0, tree.N)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(times)) != tree.N {
		t.Fatalf("Times: %d times for %d records", len(times), tree.N)
	}
	for i := 1; i < len(times); i++ {
		if !times[i].After(times[i-1]) {
			t.Fatalf("time of record %d (%v) is not after record %d's (%v)", i, times[i], i-1, times[i-1])
		}
	}
	for i, ti := range times {
		if got, err := l.LoggedSince(ctx, ti); err != nil || got != int64(i) {
			t.Fatalf("LoggedSince(time of record %d) = %d, %v", i, got, err)
		}
		if got, err := l.LoggedSince(ctx, ti.Add(time.Nanosecond)); err != nil || got != int64(i+1) {
			t.Fatalf("LoggedSince(time of record %d + 1ns) = %d, %v; want %d", i, got, err, i+1)
		}
	}
	if got, err := l.LoggedSince(ctx, time.Time{}); err != nil || got != 0 {
		t.Fatalf("LoggedSince(zero time) = %d, %v", got, err)
	}
	return times
}

func TestRecordTimes(t *testing.T) {
	ctx := context.Background()
	ms := memstore.New()
	l, err := storage.Open(ctx, ms, storagetest.LogOptions(true))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := l.LoggedSince(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("empty log: LoggedSince = %d, %v", n, err)
	}
	n := 0
	var windows [][2]time.Time
	for _, k := range []int{1, 3, 300, 1, 1000} {
		before, after := appendTimed(t, l, n, k)
		for range k {
			windows = append(windows, [2]time.Time{before, after})
		}
		n += k
	}
	times := checkTimes(t, l)
	for i, ti := range times {
		// A record's time is when its batch was taken, plus at most a
		// nanosecond per record before it in the batch.
		if ti.Before(windows[i][0]) || ti.After(windows[i][1].Add(time.Duration(n))) {
			t.Fatalf("record %d logged at %v, outside its append %v..%v", i, ti, windows[i][0], windows[i][1])
		}
	}
	if _, err := l.Times(ctx, int64(n-1), 2); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Times beyond the tree: %v, want ErrNotFound", err)
	}
	for _, after := range []time.Time{times[n-1].Add(time.Hour), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if got, err := l.LoggedSince(ctx, after); err != nil || got != int64(n) {
			t.Fatalf("LoggedSince(%v, after all) = %d, %v; want %d", after, got, err, n)
		}
	}
	if got, err := l.LoggedSince(ctx, time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || got != 0 {
		t.Fatalf("LoggedSince(year 1000) = %d, %v; want 0", got, err)
	}

	// A reader on the same store sees the same times.
	r := mustOpenLog(t, ms.Reader(), readerOptions(-1))
	rt, err := r.Times(ctx, 0, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	for i := range rt {
		if !rt[i].Equal(times[i]) {
			t.Fatalf("reader: record %d at %v, writer says %v", i, rt[i], times[i])
		}
	}

	// Reopened, the times are kept and new records come after them.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ms, err = ms.Reopen()
	if err != nil {
		t.Fatal(err)
	}
	l = mustOpenLog(t, ms, storagetest.LogOptions(false))
	appendTimed(t, l, n, 5)
	again := checkTimes(t, l)
	for i := range times {
		if !again[i].Equal(times[i]) {
			t.Fatalf("reopened: record %d at %v, was %v", i, again[i], times[i])
		}
	}
}

// TestRecordTimesUpgrade: a store written before the log kept times gets
// one time for its records at the first Open, later than none of them
// could have been logged, and the log goes on timing new records.
func TestRecordTimesUpgrade(t *testing.T) {
	ctx := context.Background()
	ms := memstore.New()
	l, err := storage.Open(ctx, ms, storagetest.LogOptions(true))
	if err != nil {
		t.Fatal(err)
	}
	appendTimed(t, l, 0, 10)
	appendTimed(t, l, 10, 10)
	l.Close()

	// Remove the time entries, as in a store of an older version, and
	// also those of the second batch only, as in a store written by an
	// older version after a newer one.
	for _, keep := range []int{0, 1} {
		if ms, err = ms.Reopen(); err != nil {
			t.Fatal(err)
		}
		var batch storage.Batch
		seen := 0
		err := ms.Scan(ctx, []byte("m"), []byte("n"), func(k, v []byte) error {
			if seen >= keep {
				batch.Delete(append([]byte(nil), k...))
			}
			seen++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := ms.Commit(ctx, &batch); err != nil {
			t.Fatal(err)
		}
		before := time.Now()
		l = mustOpenLog(t, ms, storagetest.LogOptions(false))
		times := checkTimes(t, l)
		last := len(times) - 1
		if times[last].Before(before) {
			t.Fatalf("keep %d: untimed record %d got %v, before the Open at %v", keep, last, times[last], before)
		}
		if keep == 1 && !times[19].Before(before) {
			t.Fatalf("keep 1: record 19 lost its earlier time: %v", times[19])
		}
		appendTimed(t, l, len(times), 3)
		checkTimes(t, l)
		l.Close()
	}
}
