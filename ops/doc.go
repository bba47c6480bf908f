// Package ops is what an operator needs around a log: Prometheus metrics,
// health endpoints and progress reports for long jobs.
//
// # Metrics
//
// Nothing is registered globally: the caller makes a registry, registers
// the collectors of its logs and servers on it, and serves it (usually on
// a separate, private address):
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(ops.NewLogCollector("localhost.sumdb", log))
//	fetches := ops.NewFetchMetrics("localhost.sumdb")
//	reg.MustRegister(fetches)
//	srv, _ := sumdbserver.NewServer(sumdbserver.Config{..., FetchObserver: fetches.Observe})
//	http.Handle("/", ops.InstrumentHandler(reg, "localhost.sumdb", srv, ops.SumDBRoute))
//	go http.ListenAndServe("127.0.0.1:9090", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Every metric has a "log" label, so that one process serving many logs
// stays readable. The log collector reads [storage.Log.Stats] at each
// scrape and adds nothing to the append path:
//
//	tlog_appends_total{log,outcome}            append requests answered: ok, error
//	tlog_commits_total{log,outcome}            batches committed: ok, error
//	tlog_records_total{log}                    records appended
//	tlog_commit_bytes_total{log}               bytes written by commits
//	tlog_commit_seconds{log}                   histogram: batch taken to published
//	tlog_sync_seconds{log}                     histogram: waiting for durability
//	tlog_batch_requests{log}                   histogram: append requests per batch
//	tlog_pending_requests{log}                 appends queued for the sequencer
//	tlog_tree_size{log}                        records in the published tree
//	tlog_checkpoint_age_seconds{log}           time since the latest publication
//	tlog_stopped{log}                          1 once the log has fail-stopped
//	tlog_tile_cache_requests_total{log,result} full tile lookups: hit, miss
//
// [FetchMetrics] counts a checksum database's fetches of new module
// versions (tlog_upstream_fetches_total{log,outcome},
// tlog_upstream_fetch_seconds{log,outcome}) and content that failed its
// checks (tlog_verification_failures_total{log}); [InstrumentHandler]
// counts HTTP requests (tlog_http_requests_total{log,route,code}) and
// their latency (tlog_http_request_seconds{log,route}). The pebble backend
// exports its own summary (storage/pebblestore's NewCollector).
//
// # Health
//
// [Healthz] answers 200 while the process serves HTTP at all. [Readyz]
// answers 200 only while the log is open, has not fail-stopped, and has
// published a checkpoint within a bound whenever appends are waiting: a
// log that has stopped, or whose commits have stalled (a hung disk), is
// taken out of rotation, while an idle log stays ready.
//
// # Progress
//
// A [Progress] reports a long job's progress (done, rate, ETA): as one
// line rewritten in place on a terminal, or as slog lines at an interval.
package ops
