package sumdbserver_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
)

// newReplicaPair serves a writer (a storage.Log on a memstore, with src)
// and a replica (a read-only storage.Log on the same store, forwarding
// new lookups to the writer).
func newReplicaPair(t *testing.T, src sumdbserver.Source) (writer, replica *httptest.Server, wlog, rlog *storage.Log) {
	t.Helper()
	ctx := context.Background()
	signer, err := note.NewSigner(testSKey)
	require.NoError(t, err)
	verifier, err := note.NewVerifier(testVKey)
	require.NoError(t, err)
	ms := memstore.New()
	wlog, err = storage.Open(ctx, ms, storage.Options{Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true})
	require.NoError(t, err)
	t.Cleanup(func() { wlog.Close() })
	rlog, err = storage.Open(ctx, ms.Reader(), storage.Options{Origin: note.SumDBOrigin, Verifier: verifier, ReadOnly: true, Follow: -1})
	require.NoError(t, err)
	t.Cleanup(func() { rlog.Close() })

	ws, err := sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.StorageLog(wlog), Source: src})
	require.NoError(t, err)
	writer = httptest.NewServer(ws)
	t.Cleanup(writer.Close)
	fw, err := sumdbserver.NewForwarder(writer.URL)
	require.NoError(t, err)
	rs, err := sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.ReplicaLog(rlog), Source: fw})
	require.NoError(t, err)
	replica = httptest.NewServer(rs)
	t.Cleanup(replica.Close)
	return writer, replica, wlog, rlog
}

// TestReplicaForwards: a replica answers a new version's lookup after the
// writer logged it, with the writer's bytes; a version the upstream lacks
// is 404 at both; the replica never logs anything itself.
func TestReplicaForwards(t *testing.T) {
	var calls atomic.Int64
	writer, replica, wlog, _ := newReplicaPair(t, fakeSource(&calls))
	for i := range 6 {
		m := modName(i)
		r := get(t, replica.URL+lookupPath(m))
		require.Equal(t, 200, r.code, "%s: %s", m, r.body)
		w := get(t, writer.URL+lookupPath(m))
		require.Equal(t, 200, w.code)
		require.Equal(t, string(w.body), string(r.body), "replica and writer answer %s alike", m)
		require.Contains(t, string(r.body), string(fakeGoSum(m.Path, m.Version)))
	}
	require.Equal(t, int64(6), calls.Load(), "each version fetched once, by the writer")
	_, tree := wlog.Checkpoint()
	require.Equal(t, int64(6), tree.N)
	r := get(t, replica.URL+lookupPath(module.Version{Path: "missing.example/x", Version: "v1.0.0"}))
	require.Equal(t, 404, r.code, "%s", r.body)
	r = get(t, replica.URL+"/latest")
	w := get(t, writer.URL+"/latest")
	require.Equal(t, w.body, r.body)
}

// TestReplicaGoCommand: the go command, pointed at a replica, downloads
// and verifies modules the log did not hold before; the writer logged
// them.
func TestReplicaGoCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	proxyDir := t.TempDir()
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		sumdbtest.WriteModule(t, proxyDir, module.Version{Path: "example.com/hello", Version: v}, map[string]string{
			"hello.go": "package hello\n\nconst Version = \"" + v + "\"\n",
		})
	}
	up, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(proxyDir))
	require.NoError(t, err)
	_, replica, wlog, _ := newReplicaPair(t, up)
	e := sumdbtest.NewGoEnv(t, proxyDir, testVKey+" "+replica.URL)
	mod := filepath.Join(e.Work, "scratch")
	require.NoError(t, os.MkdirAll(mod, 0o777))
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/scratch\n\ngo 1.21\n"), 0o666))
	e.MustRun(mod, "get", "example.com/hello@v1.0.0")
	e.MustRun(mod, "get", "example.com/hello@v1.1.0")
	out := e.MustRun(mod, "mod", "verify")
	require.Contains(t, out, "all modules verified")
	_, tree := wlog.Checkpoint()
	require.Equal(t, int64(2), tree.N)
	sum, err := os.ReadFile(filepath.Join(mod, "go.sum"))
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(sum), "example.com/hello v1.1.0"))
}

type getResult struct {
	code int
	body []byte
}

func get(t *testing.T, url string) getResult {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return getResult{resp.StatusCode, body}
}
