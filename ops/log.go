package ops

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlogkit/tlogkit/storage"
)

// A LogCollector is a prometheus.Collector of a storage.Log's Stats.
type LogCollector struct {
	name string
	log  *storage.Log
	now  func() time.Time

	appends, commits, records, bytes *prometheus.Desc
	commitSec, syncSec, batch        *prometheus.Desc
	pending, size, age, stopped      *prometheus.Desc
	cache, refreshAge, refreshErrors *prometheus.Desc
}

// NewLogCollector returns a collector of l's metrics, labelled log=name.
func NewLogCollector(name string, l *storage.Log) *LogCollector {
	lbl := prometheus.Labels{"log": name}
	d := func(n, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(n, help, labels, lbl)
	}
	return &LogCollector{
		name: name, log: l, now: time.Now,
		appends:   d("tlog_appends_total", "Append requests answered, by outcome (ok, error).", "outcome"),
		commits:   d("tlog_commits_total", "Batches committed, by outcome (ok, error).", "outcome"),
		records:   d("tlog_records_total", "Records appended."),
		bytes:     d("tlog_commit_bytes_total", "Bytes of keys and values written by commits."),
		commitSec: d("tlog_commit_seconds", "Time from taking a batch to publishing it."),
		syncSec:   d("tlog_sync_seconds", "Time a written batch waited to be durable."),
		batch:     d("tlog_batch_requests", "Append requests per batch."),
		pending:   d("tlog_pending_requests", "Append requests queued for the sequencer."),
		size:      d("tlog_tree_size", "Records in the published tree."),
		age:       d("tlog_checkpoint_age_seconds", "Seconds since the latest checkpoint was published (or the log opened)."),
		stopped:   d("tlog_stopped", "1 if the log has fail-stopped (or is closed), else 0."),
		cache:     d("tlog_tile_cache_requests_total", "Lookups of full hash tiles in the tile caches, by result (hit, miss).", "result"),
		refreshAge: d("tlog_reader_refresh_age_seconds",
			"Read-only logs only: seconds since the stored checkpoint was last read successfully."),
		refreshErrors: d("tlog_reader_refresh_errors_total",
			"Read-only logs only: reads or checks of the stored checkpoint that failed."),
	}
}

// Describe implements prometheus.Collector.
func (c *LogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.appends, c.commits, c.records, c.bytes, c.commitSec, c.syncSec, c.batch, c.pending, c.size, c.age, c.stopped, c.cache, c.refreshAge, c.refreshErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *LogCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.log.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(c.appends, s.Appends, "ok")
	counter(c.appends, s.AppendErrors, "error")
	counter(c.commits, s.Commits, "ok")
	counter(c.commits, s.CommitErrors, "error")
	counter(c.records, s.Records)
	counter(c.bytes, s.Bytes)
	counter(c.cache, s.TileCacheHits, "hit")
	counter(c.cache, s.TileCacheMisses, "miss")
	ch <- constHistogram(c.commitSec, s.CommitSeconds)
	ch <- constHistogram(c.syncSec, s.SyncSeconds)
	ch <- constHistogram(c.batch, s.BatchRequests)
	gauge(c.pending, float64(s.Pending))
	gauge(c.size, float64(s.Tree.N))
	gauge(c.age, c.now().Sub(s.Published).Seconds())
	stopped := 0.0
	if s.Stopped != nil || s.Closed {
		stopped = 1
	}
	gauge(c.stopped, stopped)
	if s.ReadOnly {
		gauge(c.refreshAge, c.now().Sub(s.Refreshed).Seconds())
		counter(c.refreshErrors, s.RefreshErrors)
	}
}

// constHistogram turns a storage.Histogram (per-bucket counts) into a
// Prometheus histogram (cumulative counts).
func constHistogram(d *prometheus.Desc, h storage.Histogram) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		buckets[b] = cum
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets)
}
