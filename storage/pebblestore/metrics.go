package pebblestore

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// A Collector exports a summary of Pebble's own metrics (disk use, read
// amplification, compactions, flushes, memtables, WAL, block cache) as
// Prometheus metrics labelled log=name. Pebble already depends on the
// Prometheus client, so this adds no module to a build that uses the
// store.
type Collector struct {
	s     *Store
	descs map[string]*prometheus.Desc
}

// NewCollector returns a Collector of s's metrics.
func NewCollector(name string, s *Store) *Collector {
	lbl := prometheus.Labels{"log": name}
	c := &Collector{s: s, descs: map[string]*prometheus.Desc{}}
	for _, d := range []struct{ name, help string }{
		{"pebble_disk_bytes", "Bytes on disk of the store (sstables, WAL, manifest)."},
		{"pebble_read_amplification", "Sstables a read may have to consult (read amplification)."},
		{"pebble_compactions_total", "Compactions run."},
		{"pebble_compaction_debt_bytes", "Estimated bytes still to compact."},
		{"pebble_flushes_total", "Memtable flushes."},
		{"pebble_memtable_bytes", "Bytes in memtables."},
		{"pebble_wal_bytes_written_total", "Bytes written to the WAL (physical)."},
		{"pebble_block_cache_bytes", "Bytes in the block cache."},
		{"pebble_block_cache_hits_total", "Block cache hits."},
		{"pebble_block_cache_misses_total", "Block cache misses."},
		{"pebble_tables", "Sstables in all levels."},
	} {
		c.descs[d.name] = prometheus.NewDesc(d.name, d.help, nil, lbl)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A closed store reports
// nothing.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if err := c.s.enter(context.Background()); err != nil {
		return
	}
	defer c.s.mu.RUnlock()
	m := c.s.db.Metrics()
	put := func(name string, t prometheus.ValueType, v float64) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], t, v)
	}
	put("pebble_disk_bytes", prometheus.GaugeValue, float64(m.DiskSpaceUsage()))
	put("pebble_read_amplification", prometheus.GaugeValue, float64(m.ReadAmp()))
	put("pebble_compactions_total", prometheus.CounterValue, float64(m.Compact.Count))
	put("pebble_compaction_debt_bytes", prometheus.GaugeValue, float64(m.Compact.EstimatedDebt))
	put("pebble_flushes_total", prometheus.CounterValue, float64(m.Flush.Count))
	put("pebble_memtable_bytes", prometheus.GaugeValue, float64(m.MemTable.Size))
	put("pebble_wal_bytes_written_total", prometheus.CounterValue, float64(m.WAL.BytesWritten))
	put("pebble_block_cache_bytes", prometheus.GaugeValue, float64(m.BlockCache.Size))
	put("pebble_block_cache_hits_total", prometheus.CounterValue, float64(m.BlockCache.Hits))
	put("pebble_block_cache_misses_total", prometheus.CounterValue, float64(m.BlockCache.Misses))
	put("pebble_tables", prometheus.GaugeValue, float64(m.Total().TablesCount))
}
