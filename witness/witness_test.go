package witness_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/tlog"
	"github.com/tlogkit/tlogkit/witness"
)

// testLog is a log whose checkpoints the tests submit.
type testLog struct {
	t *testing.T
	l *storage.Log
}

func newTestLog(t *testing.T, name string) *testLog {
	s, v := storagetest.Keys(name)
	l, err := storage.Open(context.Background(), memstore.New(), storage.Options{
		Origin: "example.com/" + name, Signer: s, Verifier: v, Create: true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return &testLog{t, l}
}

func (tl *testLog) grow(k int) (signed []byte, tree tlog.Tree) {
	for i := range k {
		_, err := tl.l.Append(context.Background(), fmt.Appendf(nil, "record %d %d", time.Now().UnixNano(), i))
		require.NoError(tl.t, err)
	}
	return tl.l.Checkpoint()
}

// request formats an add-checkpoint body from old to the log's current
// tree.
func (tl *testLog) request(old int64) []byte {
	signed, tree := tl.l.Checkpoint()
	var proof tlog.TreeProof
	if old > 0 && old < tree.N {
		var err error
		proof, err = tl.l.ProveTree(context.Background(), tree.N, old)
		require.NoError(tl.t, err)
	}
	return body(old, proof, signed)
}

func body(old int64, proof tlog.TreeProof, signed []byte) []byte {
	b := fmt.Appendf(nil, "old %d\n", old)
	for _, h := range proof {
		b = append(b, base64.StdEncoding.EncodeToString(h[:])+"\n"...)
	}
	return append(append(b, '\n'), signed...)
}

func newWitness(t *testing.T, logs ...*testLog) (*witness.Server, *note.Cosigner, *memstore.Store) {
	skey, _, err := note.GenerateCosignerKey(rand.Reader, "witness.example/w1")
	require.NoError(t, err)
	cs, err := note.NewCosigner(skey, nil)
	require.NoError(t, err)
	var config []witness.Log
	for _, tl := range logs {
		_, v := storagetest.Keys(strings.TrimPrefix(originOf(tl), "example.com/"))
		config = append(config, witness.Log{Origin: originOf(tl), Verifiers: []note.Verifier{v}})
	}
	st := memstore.New()
	w, err := witness.New(cs, config, st, nil)
	require.NoError(t, err)
	return w, cs, st
}

func originOf(tl *testLog) string {
	signed, _ := tl.l.Checkpoint()
	origin, _, _ := strings.Cut(string(signed), "\n")
	return origin
}

type answer struct {
	code  int
	ctype string
	body  string
}

func post(t *testing.T, h http.Handler, b []byte) answer {
	t.Helper()
	r := httptest.NewRequest("POST", "/add-checkpoint", bytes.NewReader(b))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return answer{rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()}
}

// cosigned checks that sigs are cosignature lines of cs on signed's text,
// returning the note with both signatures verified.
func cosigned(t *testing.T, signed []byte, sigs string, cs *note.Cosigner, logV note.Verifier) *note.Note {
	t.Helper()
	require.True(t, strings.HasPrefix(sigs, "— witness.example/w1 "), sigs)
	require.True(t, strings.HasSuffix(sigs, "\n"))
	n, err := note.Open(append(bytes.Clone(signed), sigs...), note.VerifierList(logV, cs.Verifier()))
	require.NoError(t, err)
	require.Len(t, n.Sigs, 2)
	for _, s := range n.Sigs {
		if s.Name == cs.Name() {
			ts, err := note.CosignatureTimestamp(s)
			require.NoError(t, err)
			require.InDelta(t, time.Now().Unix(), ts, 5)
		}
	}
	return n
}

func TestAddCheckpoint(t *testing.T) {
	tl := newTestLog(t, "log1")
	w, cs, _ := newWitness(t, tl)
	_, logV := storagetest.Keys("log1")

	// First checkpoint: old 0, no proof.
	signed, _ := tl.grow(5)
	a := post(t, w, tl.request(0))
	require.Equal(t, 200, a.code, a.body)
	cosigned(t, signed, a.body, cs, logV)

	// Growth with a consistency proof.
	signed, _ = tl.grow(300)
	a = post(t, w, tl.request(5))
	require.Equal(t, 200, a.code, a.body)
	cosigned(t, signed, a.body, cs, logV)

	// The same checkpoint again: old = size, same root.
	a = post(t, w, tl.request(305))
	require.Equal(t, 200, a.code, a.body)

	// A stale old size: 409 with the witness's size.
	tl.grow(10)
	a = post(t, w, tl.request(5))
	require.Equal(t, 409, a.code)
	require.Equal(t, "text/x.tlog.size", a.ctype)
	require.Equal(t, "305\n", a.body)
	a = post(t, w, tl.request(0))
	require.Equal(t, 409, a.code)
	require.Equal(t, "305\n", a.body)

	// A proof that does not verify: 422, and nothing changes.
	good := tl.request(305)
	bad := bytes.Replace(good, []byte("\n"), []byte("\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), 1)
	a = post(t, w, bad)
	require.Equal(t, 422, a.code, a.body)
	a = post(t, w, good)
	require.Equal(t, 200, a.code, a.body)
	latest, err := w.Latest(context.Background(), originOf(tl))
	require.NoError(t, err)
	c, err := note.ParseCheckpoint(latest)
	require.NoError(t, err)
	require.Equal(t, int64(315), c.N)
}

func TestRefusals(t *testing.T) {
	tl := newTestLog(t, "log1")
	other := newTestLog(t, "other")
	w, _, _ := newWitness(t, tl)
	signed, _ := tl.grow(3)
	osigned, _ := other.grow(3)

	// The same origin signed by another key.
	s2, _ := storagetest.Keys("impostor")
	text, _, _ := strings.Cut(string(signed), "\n\n")
	forged, err := note.Sign(&note.Note{Text: text + "\n"}, s2)
	require.NoError(t, err)
	// A trusted key's signature line with a wrong signature.
	sigLine := strings.SplitN(string(signed), "\n\n", 2)[1]
	raw, _ := base64.StdEncoding.DecodeString(strings.Fields(sigLine)[2])
	raw[10] ^= 1
	broken := text + "\n\n— " + strings.Fields(sigLine)[1] + " " + base64.StdEncoding.EncodeToString(raw) + "\n"

	for _, tc := range []struct {
		name string
		body []byte
		code int
	}{
		{"unknown origin", body(0, nil, osigned), 404},
		{"untrusted key", body(0, nil, forged), 403},
		{"broken signature", body(0, nil, []byte(broken)), 403},
		{"old above size", body(4, nil, signed), 400},
		{"no old line", append([]byte("\n"), signed...), 400},
		{"old with leading zero", []byte("old 00\n\n" + string(signed)), 400},
		{"negative old", []byte("old -1\n\n" + string(signed)), 400},
		{"old 01", []byte("old 01\n\n" + string(signed)), 400},
		{"bad proof line", []byte("old 0\nnot base64\n\n" + string(signed)), 400},
		{"short proof line", []byte("old 0\nAAAA\n\n" + string(signed)), 400},
		{"no blank line", []byte("old 0\n"), 400},
		{"empty", nil, 400},
		{"not a checkpoint of a known log", []byte("old 0\n\nhello\n"), 404},
		{"known origin, not a signed note", []byte("old 0\n\nexample.com/log1\n"), 400},
		{"proof from 0", []byte("old 0\n" + strings.Repeat(base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n", 1) + "\n" + string(signed)), 422},
		{"64 proof lines", []byte("old 0\n" + strings.Repeat(base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n", 64) + "\n" + string(signed)), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := post(t, w, tc.body)
			require.Equal(t, tc.code, a.code, a.body)
		})
	}
	// Not POST; not the path; too large.
	rec := httptest.NewRecorder()
	w.ServeHTTP(rec, httptest.NewRequest("GET", "/add-checkpoint", nil))
	require.Equal(t, 405, rec.Code)
	rec = httptest.NewRecorder()
	w.ServeHTTP(rec, httptest.NewRequest("POST", "/other", nil))
	require.Equal(t, 404, rec.Code)
	a := post(t, w, append([]byte("old 0\n\n"), make([]byte, witness.MaxRequestBytes)...))
	require.Equal(t, 413, a.code)
	// Nothing was cosigned.
	latest, err := w.Latest(context.Background(), originOf(tl))
	require.NoError(t, err)
	require.Nil(t, latest)
}

// TestForkRefused: a log that shows the witness two trees is cosigned on
// one of them only.
func TestForkRefused(t *testing.T) {
	a := newTestLog(t, "log1")
	w, _, _ := newWitness(t, a)
	a.grow(10)
	require.Equal(t, 200, post(t, w, a.request(0)).code)

	// A second log of the same origin and key, with other records: a fork.
	s, v := storagetest.Keys("log1")
	fl, err := storage.Open(context.Background(), memstore.New(), storage.Options{Origin: "example.com/log1", Signer: s, Verifier: v, Create: true})
	require.NoError(t, err)
	defer fl.Close()
	fork := &testLog{t, fl}
	fork.grow(10)
	r := post(t, w, fork.request(10))
	require.Equal(t, 409, r.code, "same size, other root: %s", r.body)
	fork.grow(20)
	r = post(t, w, fork.request(10))
	require.Equal(t, 422, r.code, "a proof from the fork's own tree of 10: %s", r.body)
	a.grow(5)
	require.Equal(t, 200, post(t, w, a.request(10)).code)
}

// TestConcurrentSameOldSize: of many concurrent requests from the same
// old size, exactly one is cosigned; the others get 409.
func TestConcurrentSameOldSize(t *testing.T) {
	tl := newTestLog(t, "log1")
	w, _, _ := newWitness(t, tl)
	tl.grow(1)
	require.Equal(t, 200, post(t, w, tl.request(0)).code)
	var bodies [][]byte
	for range 16 {
		tl.grow(1)
		bodies = append(bodies, tl.request(1))
	}
	var wg sync.WaitGroup
	codes := make([]int, len(bodies))
	for i, b := range bodies {
		wg.Go(func() { codes[i] = post(t, w, b).code })
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case 200:
			ok++
		case 409:
		default:
			t.Fatalf("code %d", c)
		}
	}
	require.Equal(t, 1, ok, "codes %v", codes)
}

// TestStateSurvivesReopen: the state is in the backend: a new witness on
// the same store continues from it, and a failed commit cosigns nothing.
func TestStateSurvivesReopen(t *testing.T) {
	tl := newTestLog(t, "log1")
	w, cs, st := newWitness(t, tl)
	tl.grow(7)
	require.Equal(t, 200, post(t, w, tl.request(0)).code)

	st.SetFault(func(op memstore.Op, seq int) memstore.Fault {
		if op == memstore.OpCommit {
			return memstore.FailNotPersisted
		}
		return memstore.NoFault
	})
	tl.grow(3)
	a := post(t, w, tl.request(7))
	require.Equal(t, 500, a.code)
	require.NotContains(t, a.body, "—")
	st.SetFault(nil)
	require.NoError(t, w.Close())

	st2, err := st.Reopen()
	require.NoError(t, err)
	_, logV := storagetest.Keys("log1")
	w2, err := witness.New(cs, []witness.Log{{Origin: originOf(tl), Verifiers: []note.Verifier{logV}}}, st2, nil)
	require.NoError(t, err)
	a = post(t, w2, tl.request(0))
	require.Equal(t, 409, a.code)
	require.Equal(t, "7\n", a.body)
	require.Equal(t, 200, post(t, w2, tl.request(7)).code)
}

func TestParseConfig(t *testing.T) {
	_, va, err := note.GenerateKey(rand.Reader, "a")
	require.NoError(t, err)
	_, vb, err := note.GenerateKey(rand.Reader, "b")
	require.NoError(t, err)
	logs, err := witness.ParseConfig(strings.NewReader("# logs\n\nlog example.com/a " + va + "\nlog example.com/a " + vb + "\nlog example.com/b " + vb + "\nlog go.sum database tree " + va + "\n"))
	require.NoError(t, err)
	require.Len(t, logs, 3)
	require.Equal(t, "example.com/a", logs[0].Origin)
	require.Equal(t, "go.sum database tree", logs[2].Origin)
	require.Len(t, logs[0].Verifiers, 2)
	require.Len(t, logs[1].Verifiers, 1)
	for _, bad := range []string{"log example.com/a\n", "logs x y\n", "log example.com/a notakey\n"} {
		_, err := witness.ParseConfig(strings.NewReader(bad))
		require.Error(t, err, bad)
	}
	_, err = witness.New(nil, logs, memstore.New(), nil)
	require.Error(t, err)
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}
