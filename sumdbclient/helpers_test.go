package sumdbclient

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
	xsumdb "golang.org/x/mod/sumdb"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

// testLog is an in-memory checksum database log.
type testLog struct {
	signer note.Signer
	vkey   string
	texts  [][]byte
	hashes []tlog.Hash
	ids    map[string]int64 // "module@version" -> record id
}

func newKey(t testing.TB, name string) (note.Signer, string) {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	require.NoError(t, err)
	s, err := note.NewSigner(skey)
	require.NoError(t, err)
	return s, vkey
}

func newTestLog(t testing.TB, s note.Signer, vkey string) *testLog {
	return &testLog{signer: s, vkey: vkey, ids: map[string]int64{}}
}

// goSumRecord is the record the real database holds for mod@ver.
func goSumRecord(mod, ver, salt string) []byte {
	h := func(s string) string {
		sum := tlog.RecordHash([]byte(salt + s))
		return "h1:" + sum.String()
	}
	return []byte(fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", mod, ver, h(mod+ver), mod, ver, h(mod+ver+"/go.mod")))
}

func (l *testLog) addText(t testing.TB, key string, text []byte) int64 {
	id := int64(len(l.texts))
	hs, err := tlog.StoredHashes(id, text, tlog.HashReaderFunc(l.readHashes))
	require.NoError(t, err)
	l.hashes = append(l.hashes, hs...)
	l.texts = append(l.texts, text)
	if key != "" {
		l.ids[key] = id
	}
	return id
}

// fill adds module versions example.com/mN@v1.0.0 up to n records.
func (l *testLog) fill(t testing.TB, n int, salt string) {
	for len(l.texts) < n {
		mod := fmt.Sprintf("example.com/m%d", len(l.texts))
		l.addText(t, mod+"@v1.0.0", goSumRecord(mod, "v1.0.0", salt))
	}
}

func (l *testLog) readHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(l.hashes)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

func (l *testLog) tree(t testing.TB, n int64) tlog.Tree {
	h, err := tlog.TreeHash(n, tlog.HashReaderFunc(l.readHashes))
	require.NoError(t, err)
	return tlog.Tree{N: n, Hash: h}
}

func (l *testLog) signed(t testing.TB, n int64) []byte {
	return signTree(t, l.signer, l.tree(t, n))
}

func signTree(t testing.TB, s note.Signer, tree tlog.Tree) []byte {
	msg, err := note.Sign(&note.Note{Text: string(note.FormatTree(tree))}, s)
	require.NoError(t, err)
	return msg
}

// testServer serves a testLog at size n over HTTP, with hooks to misbehave.
type testServer struct {
	t   testing.TB
	mu  sync.Mutex
	log *testLog
	n   int64 // published tree size
	// noPartial makes partial hash tiles 404 when the full tile exists
	// in the log (the log has grown past n).
	noPartial bool
	// latest, if set, replaces the signed tree head in every response.
	latest []byte
	// mutate, if set, rewrites every response body.
	mutate func(path string, body []byte) []byte
	reqs   map[string]int
}

func (s *testServer) set(f func(s *testServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *testServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reqs == nil {
		s.reqs = map[string]int{}
	}
	s.reqs[r.URL.Path]++
	body, code := s.serve(r.URL.Path)
	if code != http.StatusOK {
		http.Error(w, http.StatusText(code), code)
		return
	}
	if s.mutate != nil {
		body = s.mutate(r.URL.Path, body)
	}
	w.Write(body)
}

func (s *testServer) head() []byte {
	if s.latest != nil {
		return s.latest
	}
	return s.log.signed(s.t, s.n)
}

func (s *testServer) serve(path string) ([]byte, int) {
	switch {
	case path == "/latest":
		return s.head(), http.StatusOK
	case strings.HasPrefix(path, "/lookup/"):
		ep, ev, ok := strings.Cut(strings.TrimPrefix(path, "/lookup/"), "@")
		mod, err1 := module.UnescapePath(ep)
		ver, err2 := module.UnescapeVersion(ev)
		if !ok || err1 != nil || err2 != nil {
			return nil, http.StatusBadRequest
		}
		id, ok := s.log.ids[mod+"@"+ver]
		if !ok || id >= s.n {
			return nil, http.StatusNotFound
		}
		msg, err := note.FormatRecord(id, s.log.texts[id])
		require.NoError(s.t, err)
		return append(msg, s.head()...), http.StatusOK
	case strings.HasPrefix(path, "/tile/"):
		tl, err := tile.ParseTilePath(path[1:])
		if err != nil || tl.L < 0 {
			return nil, http.StatusNotFound
		}
		// The tile must exist in the log, and (unless the log has
		// grown) in the published tree.
		count := int64(len(s.log.texts)) >> uint(8*tl.L)
		if tl.N<<8+int64(tl.W) > count {
			return nil, http.StatusNotFound
		}
		if tl.W < 256 && s.noPartial && tl.N<<8+256 <= count {
			return nil, http.StatusNotFound
		}
		data, err := tile.ReadTileData(tl, tlog.HashReaderFunc(s.log.readHashes))
		require.NoError(s.t, err)
		return data, http.StatusOK
	}
	return nil, http.StatusNotFound
}

func startServer(t testing.TB, s *testServer) string {
	s.t = t
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL
}

func newTestClient(t testing.TB, url, vkey, state string) *Client {
	src, err := NewHTTPSource(url, nil)
	require.NoError(t, err)
	c, err := New(Options{Source: src, VerifierKey: vkey, StateDir: state})
	require.NoError(t, err)
	return c
}

// xmodOps runs x/mod's sumdb.Client against a source.
type xmodOps struct {
	t        testing.TB
	src      Source
	vkey     string
	mu       sync.Mutex
	latest   []byte
	security []string
}

func (o *xmodOps) ReadRemote(path string) ([]byte, error) {
	return o.src.Read(context.Background(), path, 1<<20)
}
func (o *xmodOps) ReadConfig(file string) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if file == "key" {
		return []byte(o.vkey), nil
	}
	if strings.HasSuffix(file, "/latest") {
		return o.latest, nil
	}
	return nil, fmt.Errorf("unknown config %s", file)
}
func (o *xmodOps) WriteConfig(file string, old, new []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if string(old) != string(o.latest) {
		return xsumdb.ErrWriteConflict
	}
	o.latest = new
	return nil
}
func (o *xmodOps) ReadCache(file string) ([]byte, error) { return nil, errors.New("no cache") }
func (o *xmodOps) WriteCache(file string, data []byte)   {}
func (o *xmodOps) Log(msg string)                        {}
func (o *xmodOps) SecurityError(msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.security = append(o.security, msg)
}

// xmodLookup returns what x/mod's client returns for both lines of
// mod@ver (the module line, then the go.mod line).
func xmodLookup(c *xsumdb.Client, mod, ver string) ([]string, error) {
	a, err := c.Lookup(mod, ver)
	if err != nil {
		return nil, err
	}
	b, err := c.Lookup(mod, ver+"/go.mod")
	if err != nil {
		return nil, err
	}
	return append(a, b...), nil
}
