package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Record times: every commit of new records also stores when it was
// made, so that a log can say when each record was logged (a module
// index, index.golang.org style, is built on it). The time of the first
// record of a commit is the time the sequencer took the batch; each
// later record of the batch is one nanosecond later, and the first
// record of the next commit is later still, so record times strictly
// increase with the index even when the clock steps back. Times are not
// covered by the signed checkpoint: they are the log's own account.
//
// Key, one a commit:
//
//	"m" end(8)               start(8) || unix nanoseconds of record start(8):
//	                         the commit of records start..end-1
//
// Keyed by the end, the commit holding record i is the first at or after
// "m" (i+1). A store written before the log kept times gets, at its first
// Open by a writer, one entry for all its records with the time of that
// Open (the earliest this log vouches for). An imported log has none.
const prefixTime = 'm'

func timeKey(end int64) []byte {
	k := make([]byte, 9)
	k[0] = prefixTime
	binary.BigEndian.PutUint64(k[1:], uint64(end))
	return k
}

func timeValue(start int64, t int64) []byte {
	v := make([]byte, 16)
	binary.BigEndian.PutUint64(v, uint64(start))
	binary.BigEndian.PutUint64(v[8:], uint64(t))
	return v
}

// A commitTime is one commit's time entry: records start..end-1, the
// first logged at t (unix nanoseconds).
type commitTime struct {
	start, end, t int64
}

func (c commitTime) at(i int64) int64 { return c.t + (i - c.start) }

// nextTime returns the time of the first record of a commit made now,
// after the last record time last.
func nextTime(last int64) int64 {
	return max(time.Now().UnixNano(), last+1)
}

// setTime adds the time entry of a commit of records start..end-1 to
// batch, and returns the time of its last record.
func setTime(batch *Batch, start, end, t int64) int64 {
	batch.Set(timeKey(end), timeValue(start, t))
	return t + (end - 1 - start)
}

// commitAt reads the time entry of the commit that holds record i.
// It returns ErrNotFound if record i has no time.
func (l *Log) commitAt(ctx context.Context, i int64) (commitTime, error) {
	var c commitTime
	found := false
	err := l.b.Scan(ctx, timeKey(i+1), []byte{prefixTime + 1}, func(k, v []byte) error {
		if len(k) != 9 || len(v) != 16 {
			return fmt.Errorf("%w: record time entry of %d+%d bytes", ErrCorrupt, len(k), len(v))
		}
		c = commitTime{
			start: int64(binary.BigEndian.Uint64(v)),
			end:   int64(binary.BigEndian.Uint64(k[1:])),
			t:     int64(binary.BigEndian.Uint64(v[8:])),
		}
		found = true
		return errStopScan
	})
	if err != nil && err != errStopScan {
		return c, err
	}
	if !found || c.start > i {
		return c, fmt.Errorf("%w: record %d has no logged time", ErrNotFound, i)
	}
	if c.start < 0 || c.start >= c.end {
		return c, fmt.Errorf("%w: record time entry of records %d..%d", ErrCorrupt, c.start, c.end-1)
	}
	return c, nil
}

// Times returns the times records start..start+n-1 of the published tree
// were logged (see the package's note on record times). It fails with an
// error wrapping ErrNotFound if one of them is not published or has no
// time (records of an imported log).
func (l *Log) Times(ctx context.Context, start, n int64) ([]time.Time, error) {
	if start < 0 || n < 0 || n > MaxReadRecords {
		return nil, fmt.Errorf("%w: Times(%d, %d)", ErrInvalid, start, n)
	}
	s := l.snap.Load()
	if start > s.tree.N || n > s.tree.N-start {
		return nil, fmt.Errorf("%w: records %d..%d are not in the published tree of size %d", ErrNotFound, start, start+n-1, s.tree.N)
	}
	times := make([]time.Time, 0, n)
	for i := start; i < start+n; {
		c, err := l.commitAt(ctx, i)
		if err != nil {
			return nil, err
		}
		for ; i < min(c.end, start+n); i++ {
			times = append(times, time.Unix(0, c.at(i)).UTC())
		}
	}
	return times, nil
}

// LoggedSince returns the index of the first record of the published tree
// logged at or after t, or the tree's size if there is none. Records
// without a time (see Times) count as logged before any time.
func (l *Log) LoggedSince(ctx context.Context, t time.Time) (int64, error) {
	lo, hi := int64(0), l.snap.Load().tree.N
	// UnixNano is defined for years 1678 to 2262 only.
	var want int64
	switch {
	case t.Before(time.Unix(0, 0)):
		want = 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return hi, nil
	default:
		want = t.UnixNano()
	}
	// Invariant: records before lo are earlier than t; hi is the answer
	// or a record at or after it.
	for lo < hi {
		mid := lo + (hi-lo)/2
		c, err := l.commitAt(ctx, mid)
		if errors.Is(err, ErrNotFound) {
			lo = mid + 1
			continue
		}
		if err != nil {
			return 0, err
		}
		switch {
		case c.at(min(c.end, hi)-1) < want:
			lo = min(c.end, hi)
		case c.t >= want:
			hi = max(c.start, lo)
		default:
			return c.start + (want - c.t), nil
		}
	}
	return lo, nil
}

// timeOnOpen returns the time of the log's last record, for a writer
// continuing it; a store of records without times gets its entry.
func (l *Log) timeOnOpen(ctx context.Context, n int64) (int64, error) {
	if n == 0 {
		return 0, nil
	}
	c, err := l.commitAt(ctx, n-1)
	if err == nil {
		return c.at(n - 1), nil
	}
	if !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	// The records after the last that has a time (all of them in a store
	// written before the log kept times; this scan is then empty).
	start, last := int64(0), int64(0)
	err = l.b.Scan(ctx, timeKey(0), []byte{prefixTime + 1}, func(k, v []byte) error {
		if len(k) == 9 && len(v) == 16 {
			end := int64(binary.BigEndian.Uint64(k[1:]))
			c := commitTime{start: int64(binary.BigEndian.Uint64(v)), end: end, t: int64(binary.BigEndian.Uint64(v[8:]))}
			start, last = end, c.at(end-1)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var batch Batch
	last = setTime(&batch, start, n, nextTime(last))
	if err := l.b.Commit(ctx, &batch); err != nil {
		return 0, fmt.Errorf("storage: storing record times: %w", err)
	}
	return last, nil
}
