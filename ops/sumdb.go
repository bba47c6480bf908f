package ops

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlogkit/tlogkit/sumdbserver"
)

// FetchMetrics counts a checksum database's fetches of new module
// versions. Its Observe method is a sumdbserver.Config.FetchObserver.
type FetchMetrics struct {
	fetches  *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	failures prometheus.Counter
}

// NewFetchMetrics returns fetch metrics labelled log=name.
func NewFetchMetrics(name string) *FetchMetrics {
	lbl := prometheus.Labels{"log": name}
	m := &FetchMetrics{
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tlog_upstream_fetches_total", ConstLabels: lbl,
			Help: "Fetches of new module versions from the upstream proxy, by outcome (ok, not_found, invalid, upstream, error).",
		}, []string{"outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tlog_upstream_fetch_seconds", ConstLabels: lbl,
			Help:    "Time to fetch, check and durably log a new module version, by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"outcome"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tlog_verification_failures_total", ConstLabels: lbl,
			Help: "Module versions whose content failed the checks (zip, go.mod, sizes) and was not logged.",
		}),
	}
	for _, o := range []string{sumdbserver.FetchOK, sumdbserver.FetchNotFound, sumdbserver.FetchInvalid, sumdbserver.FetchUpstream, sumdbserver.FetchError} {
		m.fetches.WithLabelValues(o) // every outcome shows, at 0 at first
	}
	return m
}

// Observe records one fetch.
func (m *FetchMetrics) Observe(e sumdbserver.FetchEvent) {
	m.fetches.WithLabelValues(e.Outcome).Inc()
	m.seconds.WithLabelValues(e.Outcome).Observe(e.Duration.Seconds())
	if e.Outcome == sumdbserver.FetchInvalid {
		m.failures.Inc()
	}
}

// Describe implements prometheus.Collector.
func (m *FetchMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.fetches.Describe(ch)
	m.seconds.Describe(ch)
	m.failures.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *FetchMetrics) Collect(ch chan<- prometheus.Metric) {
	m.fetches.Collect(ch)
	m.seconds.Collect(ch)
	m.failures.Collect(ch)
}
