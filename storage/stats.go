package storage

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/tlogkit/tlogkit/tlog"
)

// Stats are a Log's counters and distributions since Open, for monitoring
// (package metrics exports them to Prometheus). Counters only grow.
type Stats struct {
	// Appends is the number of append requests answered successfully
	// (an AppendKeyed of a key already logged included), AppendErrors the
	// number answered with an error by a commit (a failed or refused
	// batch; not invalid arguments).
	Appends, AppendErrors int64
	// Commits is the number of batches made durable and published;
	// CommitErrors the number that failed (each stops the log).
	Commits, CommitErrors int64
	// Records is the number of records appended, Bytes the bytes of keys
	// and values written by the commits.
	Records, Bytes int64
	// Pending is the number of append requests queued and not yet taken
	// by the sequencer, InFlight the number taken and not yet answered.
	Pending  int
	InFlight int64
	// Tree is the latest published tree, and Published when it was
	// published (for the tree found by Open, the time of Open).
	Tree      tlog.Tree
	Published time.Time
	// Stopped is the error that stopped the log, or nil; Closed reports
	// whether Close was called.
	Stopped error
	Closed  bool
	// TileCacheHits and TileCacheMisses count lookups of full hash tiles
	// in the tile caches; a miss reads the tile from the backend.
	TileCacheHits, TileCacheMisses int64
	// CommitSeconds is the time from taking a batch to its publication;
	// SyncSeconds the part of it spent waiting for the backend to make
	// the written batch durable (zero for a backend that is not a
	// Pipeliner, whose Commit includes it); BatchRequests the number of
	// append requests per batch.
	CommitSeconds, SyncSeconds, BatchRequests Histogram
	// ReadOnly reports a read-only Log (Options.ReadOnly); Refreshed is
	// when it last read the backend's checkpoint successfully (new or
	// not), RefreshErrors the number of reads or checks that failed.
	ReadOnly      bool
	Refreshed     time.Time
	RefreshErrors int64
}

// A Histogram is a distribution in fixed buckets: Counts[i] observations
// were at most Bounds[i] (and above Bounds[i-1]); Counts[len(Bounds)] were
// above the last bound. Count and Sum are their number and sum.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// Bucket bounds of the Stats histograms.
var (
	latencyBounds = []float64{50e-6, 100e-6, 200e-6, 400e-6, 800e-6, 1.6e-3, 3.2e-3, 6.4e-3, 12.8e-3, 25.6e-3, 51.2e-3, 0.1024, 0.2048, 0.4096, 0.8192, 1.6384}
	batchBounds   = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536}
)

// histogram is a Histogram written by one goroutine at a time and read
// by any.
type histogram struct {
	bounds []float64
	counts []atomic.Uint64
	count  atomic.Uint64
	sum    atomic.Uint64 // in units of 1e-9 (nanoseconds, or 1e-9 requests)
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.count.Add(1)
	h.sum.Add(uint64(v * 1e9))
}

func (h *histogram) snapshot() Histogram {
	out := Histogram{Bounds: h.bounds, Counts: make([]uint64, len(h.counts))}
	for i := range h.counts {
		out.Counts[i] = h.counts[i].Load()
	}
	out.Count = h.count.Load()
	out.Sum = float64(h.sum.Load()) / 1e9
	return out
}

// stats are the Log's counters.
type stats struct {
	appends, appendErrors  atomic.Int64
	commits, commitErrors  atomic.Int64
	records, bytes         atomic.Int64
	inflight               atomic.Int64
	published              atomic.Int64 // unix nanoseconds
	refreshed              atomic.Int64 // unix nanoseconds of the last successful Refresh
	refreshErrors          atomic.Int64
	commitSec, syncSec     *histogram
	batchRequests          *histogram
	cacheHits, cacheMisses stripedCounter
}

func newStats() *stats {
	s := &stats{
		commitSec:     newHistogram(latencyBounds),
		syncSec:       newHistogram(latencyBounds),
		batchRequests: newHistogram(batchBounds),
	}
	s.published.Store(time.Now().UnixNano())
	return s
}

// A stripedCounter is a counter that concurrent readers of the tile cache
// increment without sharing one cache line.
type stripedCounter [8]struct {
	n atomic.Int64
	_ [56]byte
}

func (c *stripedCounter) add() { c[rand.Uint32()&7].n.Add(1) }

func (c *stripedCounter) load() int64 {
	var n int64
	for i := range c {
		n += c[i].n.Load()
	}
	return n
}

// Stats returns the Log's counters and distributions. It takes no lock that
// an append holds for long and reads no storage.
func (l *Log) Stats() Stats {
	st := l.stats
	s := l.snap.Load()
	l.mu.Lock()
	pending, stopped, closed := l.queued, l.stopErr, l.closed
	l.mu.Unlock()
	return Stats{
		Appends:         st.appends.Load(),
		AppendErrors:    st.appendErrors.Load(),
		Commits:         st.commits.Load(),
		CommitErrors:    st.commitErrors.Load(),
		Records:         st.records.Load(),
		Bytes:           st.bytes.Load(),
		Pending:         pending,
		InFlight:        st.inflight.Load(),
		Tree:            s.tree,
		Published:       time.Unix(0, st.published.Load()),
		Stopped:         stopped,
		Closed:          closed,
		TileCacheHits:   st.cacheHits.load(),
		TileCacheMisses: st.cacheMisses.load(),
		CommitSeconds:   st.commitSec.snapshot(),
		SyncSeconds:     st.syncSec.snapshot(),
		BatchRequests:   st.batchRequests.snapshot(),
		ReadOnly:        l.opts.ReadOnly,
		Refreshed:       time.Unix(0, st.refreshed.Load()),
		RefreshErrors:   st.refreshErrors.Load(),
	}
}
