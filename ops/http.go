package ops

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// InstrumentHandler returns h counting its requests by route and status
// code, and timing them by route, in metrics labelled log=name registered
// on reg. route names the route of a request; it must return one of a
// small, fixed set of names (each name makes its own series).
func InstrumentHandler(reg prometheus.Registerer, name string, h http.Handler, route func(*http.Request) string) (http.Handler, error) {
	lbl := prometheus.Labels{"log": name}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tlog_http_requests_total", ConstLabels: lbl,
		Help: "HTTP requests answered, by route and status code.",
	}, []string{"route", "code"})
	seconds := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tlog_http_request_seconds", ConstLabels: lbl,
		Help:    "Time to answer an HTTP request, by route.",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2, 18),
	}, []string{"route"})
	for _, c := range []prometheus.Collector{requests, seconds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		rt := route(r)
		requests.WithLabelValues(rt, strconv.Itoa(code)).Inc()
		seconds.WithLabelValues(rt).Observe(time.Since(start).Seconds())
	}), nil
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// SumDBRoute names the route of a request to a checksum database (see
// package sumdbserver): latest, checkpoint, lookup, tile, data_tile,
// entries, healthz, readyz, or other.
func SumDBRoute(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/latest":
		return "latest"
	case p == "/checkpoint":
		return "checkpoint"
	case p == "/healthz":
		return "healthz"
	case p == "/readyz":
		return "readyz"
	case strings.HasPrefix(p, "/lookup/"):
		return "lookup"
	case strings.HasPrefix(p, "/tile/8/data/"):
		return "data_tile"
	case strings.HasPrefix(p, "/tile/entries/"):
		return "entries"
	case strings.HasPrefix(p, "/tile/"):
		return "tile"
	}
	return "other"
}
