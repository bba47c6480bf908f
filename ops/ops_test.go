package ops_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/ops"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/sumdbserver"
)

func goSum(m module.Version) []byte {
	h1 := sha256.Sum256([]byte(m.String()))
	h2 := sha256.Sum256([]byte(m.String() + "/go.mod"))
	return fmt.Appendf(nil, "%s %s h1:%s\n%s %s/go.mod h1:%s\n",
		m.Path, m.Version, base64.StdEncoding.EncodeToString(h1[:]),
		m.Path, m.Version, base64.StdEncoding.EncodeToString(h2[:]))
}

// scrape returns the samples of the metrics page as "name{labels}" -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	return out
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsAfterTraffic serves a checksum database with every collector,
// sends known traffic, and checks the scraped values; then it makes the log
// fail-stop and checks the metrics and health endpoints flip.
func TestMetricsAfterTraffic(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	sk, vk := storagetest.Keys("ops")
	l, err := storage.Open(ctx, st, storage.Options{Origin: note.SumDBOrigin, Signer: sk, Verifier: vk, Create: true})
	require.NoError(t, err)
	defer l.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(ops.NewLogCollector("test.sumdb", l))
	fetches := ops.NewFetchMetrics("test.sumdb")
	reg.MustRegister(fetches)
	src := sumdbserver.SourceFunc(func(ctx context.Context, m module.Version) ([]byte, error) {
		switch {
		case strings.HasPrefix(m.Path, "missing.example"):
			return nil, fmt.Errorf("%w: %s", sumdbserver.ErrNotFound, m)
		case strings.HasPrefix(m.Path, "bad.example"):
			return nil, fmt.Errorf("%w: %s: zip has a file outside the module", sumdbserver.ErrInvalidModule, m)
		}
		return goSum(m), nil
	})
	srv, err := sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.StorageLog(l), Source: src, FetchObserver: fetches.Observe})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.Handle("/healthz", ops.Healthz())
	mux.Handle("/readyz", ops.Readyz(l, 0))
	h, err := ops.InstrumentHandler(reg, "test.sumdb", mux, ops.SumDBRoute)
	require.NoError(t, err)
	_, err = ops.InstrumentHandler(reg, "test.sumdb", mux, ops.SumDBRoute)
	require.Error(t, err, "registering the same metrics twice")
	hs := httptest.NewServer(h)
	defer hs.Close()
	ms := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer ms.Close()

	for i := range 5 {
		code, body := get(t, fmt.Sprintf("%s/lookup/example.com/m%d@v1.0.0", hs.URL, i))
		require.Equal(t, 200, code, body)
	}
	for range 2 {
		code, _ := get(t, hs.URL+"/lookup/example.com/m0@v1.0.0")
		require.Equal(t, 200, code)
	}
	code, _ := get(t, hs.URL+"/lookup/missing.example/x@v1.0.0")
	require.Equal(t, 404, code)
	code, _ = get(t, hs.URL+"/lookup/bad.example/x@v1.0.0")
	require.Equal(t, 404, code)
	code, _ = get(t, hs.URL+"/lookup/example.com/m0@v1.0")
	require.Equal(t, 400, code)
	for range 3 {
		code, _ = get(t, hs.URL+"/latest")
		require.Equal(t, 200, code)
	}
	code, _ = get(t, hs.URL+"/tile/8/0/000.p/5")
	require.Equal(t, 200, code)
	code, body := get(t, hs.URL+"/readyz")
	require.Equal(t, 200, code, body)
	require.Equal(t, "ok: tree 5\n", body)

	m := scrape(t, ms.URL)
	lbl := `log="test.sumdb"`
	for name, want := range map[string]float64{
		`tlog_appends_total{` + lbl + `,outcome="ok"}`:                    5,
		`tlog_appends_total{` + lbl + `,outcome="error"}`:                 0,
		`tlog_commits_total{` + lbl + `,outcome="ok"}`:                    5,
		`tlog_records_total{` + lbl + `}`:                                 5,
		`tlog_tree_size{` + lbl + `}`:                                     5,
		`tlog_pending_requests{` + lbl + `}`:                              0,
		`tlog_stopped{` + lbl + `}`:                                       0,
		`tlog_commit_seconds_count{` + lbl + `}`:                          5,
		`tlog_sync_seconds_count{` + lbl + `}`:                            5,
		`tlog_batch_requests_bucket{` + lbl + `,le="1"}`:                  5,
		`tlog_upstream_fetches_total{` + lbl + `,outcome="ok"}`:           5,
		`tlog_upstream_fetches_total{` + lbl + `,outcome="not_found"}`:    1,
		`tlog_upstream_fetches_total{` + lbl + `,outcome="invalid"}`:      1,
		`tlog_upstream_fetches_total{` + lbl + `,outcome="error"}`:        0,
		`tlog_upstream_fetch_seconds_count{` + lbl + `,outcome="ok"}`:     5,
		`tlog_verification_failures_total{` + lbl + `}`:                   1,
		`tlog_http_requests_total{code="200",` + lbl + `,route="lookup"}`: 7,
		`tlog_http_requests_total{code="404",` + lbl + `,route="lookup"}`: 2,
		`tlog_http_requests_total{code="400",` + lbl + `,route="lookup"}`: 1,
		`tlog_http_requests_total{code="200",` + lbl + `,route="latest"}`: 3,
		`tlog_http_requests_total{code="200",` + lbl + `,route="tile"}`:   1,
		`tlog_http_requests_total{code="200",` + lbl + `,route="readyz"}`: 1,
		`tlog_http_request_seconds_count{` + lbl + `,route="lookup"}`:     10,
		`tlog_tile_cache_requests_total{` + lbl + `,result="miss"}`:       0,
	} {
		got, ok := m[name]
		require.True(t, ok, "metric %s missing", name)
		require.Equal(t, want, got, name)
	}
	require.Greater(t, m[`tlog_commit_bytes_total{`+lbl+`}`], float64(5*150))
	require.GreaterOrEqual(t, m[`tlog_checkpoint_age_seconds{`+lbl+`}`], 0.0)

	// A failing commit stops the log: metrics and readiness say so.
	st.SetFault(func(op memstore.Op, seq int) memstore.Fault {
		if op == memstore.OpCommit {
			return memstore.FailNotPersisted
		}
		return memstore.NoFault
	})
	code, _ = get(t, hs.URL+"/lookup/example.com/new@v1.0.0")
	require.Equal(t, 500, code)
	code, body = get(t, hs.URL+"/readyz")
	require.Equal(t, 503, code)
	require.Contains(t, body, "not ready")
	require.Contains(t, body, "stopped")
	code, _ = get(t, hs.URL+"/healthz")
	require.Equal(t, 200, code)
	m = scrape(t, ms.URL)
	for name, want := range map[string]float64{
		`tlog_stopped{` + lbl + `}`:                                       1,
		`tlog_commits_total{` + lbl + `,outcome="error"}`:                 1,
		`tlog_appends_total{` + lbl + `,outcome="error"}`:                 1,
		`tlog_upstream_fetches_total{` + lbl + `,outcome="error"}`:        1,
		`tlog_http_requests_total{code="500",` + lbl + `,route="lookup"}`: 1,
		`tlog_http_requests_total{code="503",` + lbl + `,route="readyz"}`: 1,
		`tlog_tree_size{` + lbl + `}`:                                     5,
	} {
		require.Equal(t, want, m[name], name)
	}
}

// TestReadyStalled: appends stuck in a commit (a hung disk) make the log
// not ready once no checkpoint has been published for longer than the
// bound; an idle log stays ready however long it is idle.
func TestReadyStalled(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	l, err := storage.Open(ctx, st, storagetest.LogOptions(true))
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, ops.Ready(l, time.Second, time.Now().Add(time.Hour)), "idle")

	hang := make(chan struct{})
	st.SetFault(func(op memstore.Op, seq int) memstore.Fault {
		if op == memstore.OpCommit {
			<-hang
		}
		return memstore.NoFault
	})
	done := make(chan error, 1)
	go func() {
		_, err := l.Append(ctx, []byte("stuck"))
		done <- err
	}()
	require.Eventually(t, func() bool {
		s := l.Stats()
		return int64(s.Pending)+s.InFlight == 1
	}, 5*time.Second, time.Millisecond)
	require.NoError(t, ops.Ready(l, time.Minute, time.Now()), "within the bound")
	err = ops.Ready(l, time.Second, time.Now().Add(2*time.Second))
	require.ErrorContains(t, err, "1 appends waiting, no checkpoint published for")
	close(hang)
	require.NoError(t, <-done)
	require.NoError(t, ops.Ready(l, time.Second, time.Now()))
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	var n int64 = 250
	stop := ops.StartProgress(context.Background(), ops.ProgressOptions{
		Name: "build", Total: 1000, Out: &buf, Interval: 5 * time.Millisecond,
		Extra: func() string { return "VmHWM 1 MiB" },
	}, func() int64 { return n })
	time.Sleep(50 * time.Millisecond)
	stop()
	stop() // once
	out := buf.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 2, out)
	require.Regexp(t, `^build: 250/1000 records \(25\.0%\) in \d+s, \d+k? records/s, ETA (\d+[a-z]+|-), VmHWM 1 MiB$`, lines[0])
	require.NotContains(t, lines[len(lines)-1], "ETA", "the last line has no ETA")
	require.True(t, strings.HasPrefix(lines[len(lines)-1], "build: 250/1000 records (25.0%)"))

	// No output configured: nothing runs.
	ops.StartProgress(context.Background(), ops.ProgressOptions{Name: "x"}, func() int64 { return 0 })()
}

// TestReaderReadyAndMetrics: a read-only log is ready while it reads the
// stored checkpoint, not ready once its reads fail for longer than the
// bound, and exports its refresh age and errors.
func TestReaderReadyAndMetrics(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	w, err := storage.Open(ctx, st, storagetest.LogOptions(true))
	require.NoError(t, err)
	defer w.Close()
	opts := storagetest.LogOptions(false)
	opts.ReadOnly, opts.Follow = true, -1
	reader := st.Reader()
	r, err := storage.Open(ctx, reader, opts)
	require.NoError(t, err)
	defer r.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(ops.NewLogCollector("test", r))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	_, err = w.Append(ctx, []byte("one"))
	require.NoError(t, err)
	_, err = r.Refresh(ctx)
	require.NoError(t, err)
	require.NoError(t, ops.Ready(r, time.Second, time.Now()))
	m := scrape(t, srv.URL)
	require.Equal(t, 1.0, m[`tlog_tree_size{log="test"}`])
	require.Equal(t, 0.0, m[`tlog_reader_refresh_errors_total{log="test"}`])

	st.SetFault(func(op memstore.Op, seq int) memstore.Fault {
		if op == memstore.OpGet {
			return memstore.FailNotPersisted
		}
		return memstore.NoFault
	})
	_, err = r.Refresh(ctx)
	require.ErrorIs(t, err, memstore.ErrInjected)
	require.NoError(t, ops.Ready(r, time.Minute, time.Now()), "within the bound")
	require.ErrorContains(t, ops.Ready(r, time.Second, time.Now().Add(2*time.Second)), "stored checkpoint was last read")
	m = scrape(t, srv.URL)
	require.Equal(t, 1.0, m[`tlog_reader_refresh_errors_total{log="test"}`])
	st.SetFault(nil)
	_, err = r.Refresh(ctx)
	require.NoError(t, err)
	require.NoError(t, ops.Ready(r, time.Second, time.Now()))
}
