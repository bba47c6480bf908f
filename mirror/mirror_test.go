package mirror_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tlogkit/tlogkit/mirror"
	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/sumdbclient"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/tile"
)

// An origin is a checksum database on 127.0.0.1: a storage.Log behind a
// sumdbserver.Server.
type origin struct {
	log  *storage.Log
	srv  *httptest.Server
	skey string
	vkey string
	n    int64
}

func newOrigin(t *testing.T, skey, vkey string, src sumdbserver.Source) *origin {
	t.Helper()
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, _ := note.NewVerifier(vkey)
	l, err := storage.Open(context.Background(), memstore.New(), storage.Options{
		Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.StorageLog(l), Source: src, C2SP: true})
	if err != nil {
		t.Fatal(err)
	}
	o := &origin{log: l, srv: httptest.NewServer(s), skey: skey, vkey: vkey}
	t.Cleanup(func() { o.srv.Close(); l.Close() })
	return o
}

func newKey(t *testing.T) (string, string) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "origin.example")
	if err != nil {
		t.Fatal(err)
	}
	return skey, vkey
}

// record returns the go.sum lines of example.com/m<i/3> v1.<i%3>.0,
// with hashes derived from i and salt.
func record(i int64, salt string) (key string, rec []byte) {
	p, v := fmt.Sprintf("example.com/m%d", i/3), fmt.Sprintf("v1.%d.0", i%3)
	h1 := sha256.Sum256(fmt.Appendf(nil, "%s zip %d", salt, i))
	h2 := sha256.Sum256(fmt.Appendf(nil, "%s mod %d", salt, i))
	return p + "@" + v, fmt.Appendf(nil, "%s %s h1:%s\n%s %s/go.mod h1:%s\n",
		p, v, base64.StdEncoding.EncodeToString(h1[:]), p, v, base64.StdEncoding.EncodeToString(h2[:]))
}

// grow appends k records to the origin.
func (o *origin) grow(t *testing.T, k int64, salt string) {
	t.Helper()
	ctx := context.Background()
	entries := make([]storage.Entry, k)
	for i := range entries {
		key, rec := record(o.n+int64(i), salt)
		entries[i] = storage.Entry{Key: []byte(key), Record: rec}
	}
	for _, f := range o.log.AppendBatch(ctx, entries, nil) {
		if _, _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	o.n += k
}

func get(t *testing.T, h http.Handler, path string) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.Bytes()
}

func getURL(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func openMirror(t *testing.T, b storage.Backend, o *origin, src sumdbclient.Source, c2sp bool) *mirror.Mirror {
	t.Helper()
	if src == nil {
		var err error
		if src, err = sumdbclient.NewHTTPSource(o.srv.URL, nil); err != nil {
			t.Fatal(err)
		}
	}
	m, err := mirror.Open(context.Background(), b, mirror.Options{
		Source: src, VerifierKey: o.vkey, C2SP: c2sp, BatchRecords: 1000, Retries: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkSame compares the mirror with the origin over HTTP: the tree head
// byte for byte, every hash and data tile, and lookups.
func checkSame(t *testing.T, m *mirror.Mirror, o *origin, c2sp bool) {
	t.Helper()
	latest := "/latest"
	if c2sp {
		latest = "/checkpoint"
	}
	code, want := getURL(t, o.srv.URL+latest)
	gcode, got := get(t, m, latest)
	if code != 200 || gcode != 200 || !bytes.Equal(got, want) {
		t.Fatalf("%s: mirror %d %q, origin %d %q", latest, gcode, got, code, want)
	}
	for _, tl := range tile.NewTiles(tile.Height, 0, o.n) {
		p := tl.Path()
		if c2sp {
			p = tl.C2SPPath()
		}
		code, want := getURL(t, o.srv.URL+"/"+p)
		gcode, got := get(t, m, "/"+p)
		if code != 200 || gcode != 200 || !bytes.Equal(got, want) {
			t.Fatalf("%s: mirror %d (%d bytes), origin %d (%d bytes)", p, gcode, len(got), code, len(want))
		}
	}
	for _, i := range []int64{0, 1, o.n / 2, o.n - 1} {
		key, _ := record(i, "")
		p := "/lookup/" + key
		code, want := getURL(t, o.srv.URL+p)
		gcode, got := get(t, m, p)
		if code != 200 || gcode != 200 || !bytes.Equal(got, want) {
			t.Fatalf("%s: mirror %d %q, origin %d %q", p, gcode, got, code, want)
		}
	}
	if code, _ := get(t, m, "/lookup/example.com/unknown@v1.0.0"); code != 404 {
		t.Fatalf("lookup of an unknown version: %d, want 404", code)
	}
}

// TestFollow mirrors an origin that grows in rounds, in both layouts, and
// serves it byte for byte; a reopened mirror serves at once and resumes.
func TestFollow(t *testing.T) {
	n := int64(100000)
	if testing.Short() {
		n = 20000
	}
	if os.Getenv("TLOGKIT_LONG") != "" {
		n = 1000000
	}
	for _, c2sp := range []bool{false, true} {
		t.Run(fmt.Sprintf("c2sp=%v", c2sp), func(t *testing.T) {
			ctx := context.Background()
			skey, vkey := newKey(t)
			o := newOrigin(t, skey, vkey, nil)
			ms := memstore.New()
			m := openMirror(t, ms, o, nil, c2sp)
			if code, _ := get(t, m, "/latest"); code != http.StatusServiceUnavailable {
				t.Fatalf("before the first import: %d, want 503", code)
			}
			for round, k := range []int64{n, 1, 300, 255, n / 3} {
				o.grow(t, k, "")
				tree, err := m.Sync(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if tree.N != o.n {
					t.Fatalf("round %d: mirror at %d, origin at %d", round, tree.N, o.n)
				}
				checkSame(t, m, o, c2sp)
				if round == 2 {
					m.Close()
					ms, _ = ms.Reopen()
					m = openMirror(t, ms, o, nil, c2sp)
					checkSame(t, m, o, c2sp)
				}
			}
			m.Close()
		})
	}
}

// tamper is a source that rewrites responses.
type tamper struct {
	src sumdbclient.Source
	fn  atomic.Pointer[func(path string, data []byte) []byte]
}

func (s *tamper) Read(ctx context.Context, path string, max int64) ([]byte, error) {
	data, err := s.src.Read(ctx, path, max)
	if f := s.fn.Load(); err == nil && f != nil {
		data = (*f)(path, data)
	}
	return data, err
}

func (s *tamper) set(f func(path string, data []byte) []byte) {
	if f == nil {
		s.fn.Store(nil)
		return
	}
	s.fn.Store(&f)
}

// TestTamper: after mirroring, the origin rewrites a data tile, serves a
// hash tile that does not match its parent, signs a badly formed head and
// forks its tree with the same key. Each is detected, nothing of it is
// stored, and the fork halts the mirror with a SecurityError carrying
// both notes and the proof, which a reopened mirror still reports, while
// serving the last good tree.
func TestTamper(t *testing.T) {
	ctx := context.Background()
	skey, vkey := newKey(t)
	o := newOrigin(t, skey, vkey, nil)
	o.grow(t, 3000, "")
	src, _ := sumdbclient.NewHTTPSource(o.srv.URL, nil)
	ts := &tamper{src: src}
	ms := memstore.New()
	m := openMirror(t, ms, o, ts, false)
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	_, goodNote := get(t, m, "/latest")
	o.grow(t, 2000, "")

	// A rewritten data tile.
	ts.set(func(path string, data []byte) []byte {
		if path == "/tile/8/data/015" {
			return bytes.Replace(data, []byte("h1:"), []byte("h1:A"), 1)
		}
		return data
	})
	before := ms.Bytes()
	stored := m.Stored()
	if _, err := m.Sync(ctx); err == nil {
		t.Fatal("rewritten data tile accepted")
	} else {
		t.Logf("rewritten data tile: %v", err)
	}
	// The tile of level 1 at the right edge of a new tree does not hash
	// to its root.
	o.grow(t, 1000, "")
	ts.set(func(path string, data []byte) []byte {
		if strings.HasPrefix(path, "/tile/8/1/000") {
			data = bytes.Clone(data)
			data[0] ^= 1
		}
		return data
	})
	if _, err := m.Sync(ctx); !errors.Is(err, tile.ErrInconsistent) {
		t.Fatalf("bad right-edge tile: %v, want tile.ErrInconsistent", err)
	}
	if m.Stored() > stored+1000 || m.Halted() != nil {
		// Batches before the bad tile may be stored (they verified); the
		// mirror must not halt for a bad tile.
		t.Fatalf("stored %d (was %d), halted %v", m.Stored(), stored, m.Halted())
	}
	if m.Stored() == stored && ms.Bytes() != before {
		t.Fatalf("nothing imported but the store changed")
	}

	// A fork: a larger tree that does not contain the origin's, signed
	// with the same key.
	ts.set(nil)
	fork := newOrigin(t, skey, vkey, nil)
	fork.grow(t, 2999, "")
	fork.grow(t, 4001, "fork")
	forkSrc, _ := sumdbclient.NewHTTPSource(fork.srv.URL, nil)
	ts.src = forkSrc
	_, err := m.Sync(ctx)
	var se *sumdbclient.SecurityError
	if !errors.As(err, &se) || !se.Verify() || len(se.Proof) == 0 {
		t.Fatalf("fork: %v, want a verifiable SecurityError with a consistency proof", err)
	}
	if !strings.Contains(err.Error(), string(goodNote[:20])) {
		t.Fatalf("error does not show the notes:\n%v", err)
	}
	if code, got := get(t, m, "/latest"); code != 200 || !bytes.Equal(got, goodNote) {
		t.Fatalf("after the fork the mirror serves %d %q, want the last good note", code, got)
	}
	m.Close()

	// After a restart, the halt is still there, with the proof.
	ms, _ = ms.Reopen()
	ts.src = src
	m = openMirror(t, ms, o, ts, false)
	defer m.Close()
	if err := m.Halted(); !errors.As(err, &se) || !se.Verify() {
		t.Fatalf("after reopen Halted = %v, want the SecurityError", err)
	}
	if _, err := m.Sync(ctx); !errors.As(err, &se) {
		t.Fatalf("Sync after reopen: %v, want the halt", err)
	}
	if code, got := get(t, m, "/latest"); code != 200 || !bytes.Equal(got, goodNote) {
		t.Fatalf("after reopen the mirror serves %d %q", code, got)
	}
	// An operator clears it: the mirror follows the real origin again.
	if err := m.ClearHalt(ctx); err != nil {
		t.Fatal(err)
	}
	if tree, err := m.Sync(ctx); err != nil || tree.N != o.n {
		t.Fatalf("after ClearHalt: %v %v", tree, err)
	}
	checkSame(t, m, o, false)
}

// TestBadSignature: a tree head not signed by the origin's key halts the
// mirror.
func TestBadSignature(t *testing.T) {
	ctx := context.Background()
	skey, vkey := newKey(t)
	o := newOrigin(t, skey, vkey, nil)
	o.grow(t, 10, "")
	src, _ := sumdbclient.NewHTTPSource(o.srv.URL, nil)
	ts := &tamper{src: src}
	m := openMirror(t, memstore.New(), o, ts, false)
	defer m.Close()
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	o.grow(t, 10, "")
	ts.set(func(path string, data []byte) []byte {
		if path == "/latest" {
			return bytes.Replace(data, []byte("\n20\n"), []byte("\n21\n"), 1)
		}
		return data
	})
	if _, err := m.Sync(ctx); err == nil || m.Halted() == nil {
		t.Fatalf("badly signed head: %v, halted %v", err, m.Halted())
	}
	if _, tree := m.Log().Checkpoint(); tree.N != 10 {
		t.Fatalf("serving %d records, want the last good 10", tree.N)
	}
}

// TestHostileOrigin: a data tile larger than the bound, one with a record
// too few, and a tree head of an absurd size are clear errors; nothing is
// stored and the mirror does not halt (none of them is signed proof).
func TestHostileOrigin(t *testing.T) {
	ctx := context.Background()
	skey, vkey := newKey(t)
	o := newOrigin(t, skey, vkey, nil)
	o.grow(t, 600, "")
	var mode atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case mode.Load() == 0 && r.URL.Path == "/tile/8/data/001":
			w.Write(bytes.Repeat([]byte("x"), 17<<20))
			return
		case mode.Load() == 1 && r.URL.Path == "/tile/8/data/001":
			_, data := getURL(t, o.srv.URL+r.URL.Path)
			i := bytes.Index(data, []byte("\n\n"))
			w.Write(data[i+2:]) // 255 records
			return
		}
		resp, err := http.Get(o.srv.URL + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
	hostile := httptest.NewServer(h)
	defer hostile.Close()
	src, _ := sumdbclient.NewHTTPSource(hostile.URL, nil)
	m := openMirror(t, memstore.New(), o, src, false)
	defer m.Close()
	if _, err := m.Sync(ctx); !errors.Is(err, sumdbclient.ErrTooLarge) {
		t.Fatalf("huge data tile: %v, want ErrTooLarge", err)
	}
	mode.Store(1)
	if _, err := m.Sync(ctx); !errors.Is(err, tile.ErrMalformedData) {
		t.Fatalf("short data tile: %v, want ErrMalformedData", err)
	}
	if m.Stored() != 0 || m.Halted() != nil || m.Log() != nil {
		t.Fatalf("stored %d, halted %v, serving %v", m.Stored(), m.Halted(), m.Log() != nil)
	}
	mode.Store(2)
	if tree, err := m.Sync(ctx); err != nil || tree.N != 600 {
		t.Fatalf("honest origin: %v %v", tree, err)
	}
}

// TestCheckHashTiles: with CheckHashTiles, a level-0 hash tile of the
// origin that does not match its records (and so not its parent) is
// reported and nothing is stored; the honest tiles pass.
func TestCheckHashTiles(t *testing.T) {
	ctx := context.Background()
	skey, vkey := newKey(t)
	o := newOrigin(t, skey, vkey, nil)
	o.grow(t, 1000, "")
	src, _ := sumdbclient.NewHTTPSource(o.srv.URL, nil)
	ts := &tamper{src: src}
	ts.set(func(path string, data []byte) []byte {
		if path == "/tile/8/0/001" {
			data = bytes.Clone(data)
			data[40] ^= 1
		}
		return data
	})
	m, err := mirror.Open(ctx, memstore.New(), mirror.Options{Source: ts, VerifierKey: vkey, CheckHashTiles: true, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Sync(ctx); !errors.Is(err, tile.ErrInconsistent) || m.Stored() != 0 {
		t.Fatalf("bad level-0 tile: %v (stored %d), want tile.ErrInconsistent", err, m.Stored())
	}
	ts.set(nil)
	if tree, err := m.Sync(ctx); err != nil || tree.N != 1000 {
		t.Fatalf("honest tiles: %v %v", tree, err)
	}
	checkSame(t, m, o, false)
}

// TestResumeServesPublished: an import of a new tree head that stops
// half way (here: the origin loses a data tile) leaves the stored records
// ahead of the published tree; a reopened mirror serves the published
// tree exactly (note, tiles, records) and then completes the import.
func TestResumeServesPublished(t *testing.T) {
	ctx := context.Background()
	skey, vkey := newKey(t)
	o := newOrigin(t, skey, vkey, nil)
	o.grow(t, 1000, "")
	src, _ := sumdbclient.NewHTTPSource(o.srv.URL, nil)
	ts := &tamper{src: src}
	ms := memstore.New()
	m := openMirror(t, ms, o, ts, false)
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	oldNote, _ := o.log.Checkpoint()
	var oldTiles [][]byte
	paths := []string{"/tile/8/0/003.p/232", "/tile/8/1/000.p/3", "/tile/8/data/003.p/232", "/tile/8/data/001"}
	for _, p := range paths {
		code, data := get(t, m, p)
		if code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
		oldTiles = append(oldTiles, data)
	}
	o.grow(t, 5000, "")
	ts.set(func(path string, data []byte) []byte {
		if path == "/tile/8/data/020" {
			return []byte("gone")
		}
		return data
	})
	if _, err := m.Sync(ctx); err == nil {
		t.Fatal("import with a broken tile succeeded")
	}
	if m.Stored() <= 1000 {
		t.Fatalf("stored %d: want the batches before the broken tile", m.Stored())
	}
	m.Close()
	ms, _ = ms.Reopen()
	ts.set(nil)
	m = openMirror(t, ms, o, ts, false)
	defer m.Close()
	if _, got := get(t, m, "/latest"); !bytes.Equal(got, oldNote) {
		t.Fatalf("reopened mirror serves %q, want the published %q", got, oldNote)
	}
	for i, p := range paths {
		if code, got := get(t, m, p); code != 200 || !bytes.Equal(got, oldTiles[i]) {
			t.Fatalf("%s after reopen: %d, differs", p, code)
		}
	}
	if tree, err := m.Sync(ctx); err != nil || tree.N != o.n {
		t.Fatalf("resume: %v %v", tree, err)
	}
	checkSame(t, m, o, false)
}

// TestLimit: with Options.Limit, an import stops after the first Limit
// records of a larger tree, stores them verified and serves nothing of
// that tree; without the limit it completes from there.
func TestLimit(t *testing.T) {
	ctx := context.Background()
	skey, vkey := newKey(t)
	o := newOrigin(t, skey, vkey, nil)
	o.grow(t, 300, "")
	ms := memstore.New()
	m := openMirror(t, ms, o, nil, false)
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	m.Close()
	o.grow(t, 2000, "")

	ms, _ = ms.Reopen()
	src, _ := sumdbclient.NewHTTPSource(o.srv.URL, nil)
	lm, err := mirror.Open(ctx, ms, mirror.Options{Source: src, VerifierKey: o.vkey, BatchRecords: 256, Retries: -1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := lm.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tree.N != 300 || lm.Stored() != 1000 {
		t.Fatalf("with Limit 1000 of 2300: serving %d, stored %d; want 300, 1000", tree.N, lm.Stored())
	}
	if code, _ := get(t, lm, "/tile/8/data/003"); code != 404 {
		t.Fatalf("a tile of the unpublished tree: %d, want 404", code)
	}
	lm.Close()

	ms, _ = ms.Reopen()
	m = openMirror(t, ms, o, nil, false)
	defer m.Close()
	if tree, err := m.Sync(ctx); err != nil || tree.N != o.n {
		t.Fatalf("without the limit: %v %v", tree, err)
	}
	checkSame(t, m, o, false)
}
