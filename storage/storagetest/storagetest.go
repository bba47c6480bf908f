// Package storagetest is the conformance suite that every storage.Backend
// must pass, run through a storage.Log: the backend contract itself, then
// the log on top of it, compared with golang.org/x/mod/sumdb/tlog, and a
// randomized model test that reopens the store between steps.
//
// A backend's test calls Run with a function that makes a fresh store and
// returns its Opener:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storagetest.Opener {
//			dir := t.TempDir()
//			return func() (storage.Backend, error) { return pebblestore.Open(dir, nil) }
//		})
//	}
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

// An Opener opens the store under test. Each call opens the same store
// again; a call while an earlier handle is still open must fail with an
// error wrapping storage.ErrLocked.
type Opener func() (storage.Backend, error)

// Origin is the origin of the logs the suite creates.
const Origin = "example.com/storagetest"

// Keys returns a fixed (deterministic) key pair named name. Ed25519
// signatures are deterministic, so a log signed with it produces the same
// checkpoint bytes on every run.
func Keys(name string) (note.Signer, note.Verifier) {
	skey, vkey := keyPair(name)
	s, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		panic(err)
	}
	return s, v
}

// VerifierKey returns the encoded verifier key of Keys(name), for
// configuration files.
func VerifierKey(name string) string {
	_, vkey := keyPair(name)
	return vkey
}

func keyPair(name string) (skey, vkey string) {
	seed := sha256.Sum256([]byte("storagetest key " + name))
	skey, vkey, err := note.GenerateKey(bytes.NewReader(seed[:]), name)
	if err != nil {
		panic(err)
	}
	return skey, vkey
}

// LogOptions returns Options for a log of the suite, signed by Keys("log").
func LogOptions(create bool) storage.Options {
	s, v := Keys("log")
	return storage.Options{Origin: Origin, Signer: s, Verifier: v, Create: create, CacheTiles: 8}
}

// Run runs the suite. newStore makes a new, empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) Opener) {
	t.Run("Backend", func(t *testing.T) { testBackend(t, newStore(t)) })
	t.Run("Lock", func(t *testing.T) { testLock(t, newStore(t)) })
	t.Run("OpenRefusals", func(t *testing.T) { testOpenRefusals(t, newStore(t)) })
	t.Run("AppendMatchesXmod", func(t *testing.T) { testAppendMatchesXmod(t, newStore(t)) })
	t.Run("Keyed", func(t *testing.T) { testKeyed(t, newStore(t)) })
	t.Run("Golden", func(t *testing.T) { testGolden(t, newStore(t)) })
	t.Run("Model", func(t *testing.T) { testModel(t, newStore(t)) })
	t.Run("Format1", func(t *testing.T) { testFormat1(t, newStore(t)) })
}

func mustOpen(t *testing.T, open Opener) storage.Backend {
	t.Helper()
	b, err := open()
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	return b
}

func testBackend(t *testing.T, open Opener) {
	ctx := context.Background()
	b := mustOpen(t, open)
	if _, err := b.Get(ctx, []byte("a")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get of missing key: %v, want ErrNotFound", err)
	}
	var batch storage.Batch
	for _, k := range []string{"b", "a", "c", "ab", "b\x00", "d"} {
		batch.Set([]byte(k), []byte("v"+k))
	}
	batch.Set([]byte("c"), []byte("second")) // later op wins
	batch.Delete([]byte("d"))
	batch.Set([]byte("e"), []byte{}) // empty value
	if err := b.Commit(ctx, &batch); err != nil {
		t.Fatal(err)
	}
	check := func(b storage.Backend) {
		t.Helper()
		want := map[string]string{"a": "va", "ab": "vab", "b": "vb", "b\x00": "vb\x00", "c": "second", "e": ""}
		for k, v := range want {
			got, err := b.Get(ctx, []byte(k))
			if err != nil || string(got) != v || got == nil {
				t.Errorf("Get(%q) = %q, %v; want %q", k, got, err, v)
			}
		}
		if _, err := b.Get(ctx, []byte("d")); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get of deleted key: %v, want ErrNotFound", err)
		}
		var keys []string
		err := b.Scan(ctx, []byte("ab"), []byte("c"), func(k, v []byte) error {
			keys = append(keys, string(k))
			if string(v) != want[string(k)] {
				t.Errorf("Scan value of %q = %q", k, v)
			}
			return nil
		})
		if err != nil || fmt.Sprint(keys) != fmt.Sprint([]string{"ab", "b", "b\x00"}) {
			t.Errorf("Scan [ab, c) = %q, %v", keys, err)
		}
		keys = nil
		if err := b.Scan(ctx, nil, nil, func(k, v []byte) error { keys = append(keys, string(k)); return nil }); err != nil ||
			fmt.Sprint(keys) != fmt.Sprint([]string{"a", "ab", "b", "b\x00", "c", "e"}) {
			t.Errorf("Scan all = %q, %v", keys, err)
		}
		stop := errors.New("stop")
		n := 0
		if err := b.Scan(ctx, nil, nil, func(k, v []byte) error { n++; return stop }); err != stop || n != 1 {
			t.Errorf("Scan with error from fn: %v after %d calls", err, n)
		}
	}
	check(b)
	checkGetMany(t, b)
	// Get returns a copy.
	v, _ := b.Get(ctx, []byte("a"))
	v[0] = 'X'
	if v2, _ := b.Get(ctx, []byte("a")); string(v2) != "va" {
		t.Errorf("modifying Get's result changed the store")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, []byte("a")); err == nil {
		t.Errorf("Get after Close succeeded")
	}
	b = mustOpen(t, open)
	defer b.Close()
	check(b) // durable across reopen
}

// checkGetMany checks a storage.MultiGetter against Get, on the store
// testBackend wrote.
func checkGetMany(t *testing.T, b storage.Backend) {
	t.Helper()
	m, ok := b.(storage.MultiGetter)
	if !ok {
		return
	}
	ctx := context.Background()
	keys := [][]byte{[]byte(""), []byte("a"), []byte("aa"), []byte("ab"), []byte("b"), []byte("b\x00"), []byte("b\x00\x00"), []byte("d"), []byte("e"), []byte("zz")}
	for lo := range keys {
		for hi := lo; hi <= len(keys); hi++ {
			vals, err := m.GetMany(ctx, keys[lo:hi])
			if err != nil || len(vals) != hi-lo {
				t.Fatalf("GetMany(%q) = %d values, %v", keys[lo:hi], len(vals), err)
			}
			for i, k := range keys[lo:hi] {
				v, err := b.Get(ctx, k)
				if errors.Is(err, storage.ErrNotFound) {
					v = nil
				} else if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(vals[i], v) || (vals[i] == nil) != (v == nil) {
					t.Errorf("GetMany: %q = %q, Get gives %q", k, vals[i], v)
				}
			}
		}
	}
	if vals, _ := m.GetMany(ctx, keys[:3]); vals[1] != nil {
		vals[1][0] = 'X'
		if v, _ := b.Get(ctx, []byte("a")); string(v) != "va" {
			t.Errorf("modifying GetMany's result changed the store")
		}
	}
	for _, bad := range [][][]byte{{[]byte("b"), []byte("a")}, {[]byte("a"), []byte("a")}} {
		if _, err := m.GetMany(ctx, bad); err == nil {
			t.Errorf("GetMany(%q) (not increasing) succeeded", bad)
		}
	}
}

func testLock(t *testing.T, open Opener) {
	b := mustOpen(t, open)
	b2, err := open()
	if err == nil {
		b2.Close()
		t.Fatalf("second open of the same store succeeded")
	}
	if !errors.Is(err, storage.ErrLocked) {
		t.Errorf("second open: %v, want ErrLocked", err)
	}
	b.Close()
	b = mustOpen(t, open)
	b.Close()
}

func openLog(t *testing.T, open Opener, opts storage.Options) (*storage.Log, error) {
	t.Helper()
	b := mustOpen(t, open)
	return storage.Open(context.Background(), b, opts)
}

func mustOpenLog(t *testing.T, open Opener, opts storage.Options) *storage.Log {
	t.Helper()
	l, err := openLog(t, open, opts)
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	return l
}

func testOpenRefusals(t *testing.T, open Opener) {
	ctx := context.Background()
	if _, err := openLog(t, open, LogOptions(false)); !errors.Is(err, storage.ErrNoLog) {
		t.Fatalf("Open of an empty store without Create: %v, want ErrNoLog", err)
	}
	l := mustOpenLog(t, open, LogOptions(true))
	for i := range 300 {
		if _, err := l.Append(ctx, fmt.Appendf(nil, "record %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := l.Checkpoint()
	for i := range 10 {
		if _, err := l.Append(ctx, fmt.Appendf(nil, "later %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	latest, tree := l.Checkpoint()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Another key.
	s2, v2 := Keys("other")
	opts := LogOptions(false)
	opts.Signer, opts.Verifier = s2, v2
	if _, err := openLog(t, open, opts); !errors.Is(err, storage.ErrVerify) {
		t.Errorf("Open with another key: %v, want ErrVerify", err)
	}
	// Mismatched signer and verifier.
	opts = LogOptions(false)
	opts.Signer = s2
	if _, err := openLog(t, open, opts); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("Open with Signer and Verifier of different keys: %v, want ErrInvalid", err)
	}
	// Another origin.
	opts = LogOptions(false)
	opts.Origin = "example.com/other"
	if _, err := openLog(t, open, opts); !errors.Is(err, storage.ErrOrigin) {
		t.Errorf("Open with another origin: %v, want ErrOrigin", err)
	}
	// LastKnown: equal and older are fine; newer, or forked, is a rollback.
	for _, known := range [][]byte{old, latest} {
		opts = LogOptions(false)
		opts.LastKnown = known
		l := mustOpenLog(t, open, opts)
		l.Close()
	}
	s, _ := Keys("log")
	ahead := signTree(t, s, tlog.Tree{N: tree.N + 1, Hash: tree.Hash})
	forked := signTree(t, s, tlog.Tree{N: 300, Hash: tree.Hash})
	for name, known := range map[string][]byte{"ahead": ahead, "forked": forked} {
		opts = LogOptions(false)
		opts.LastKnown = known
		if _, err := openLog(t, open, opts); !errors.Is(err, storage.ErrRollback) {
			t.Errorf("Open with LastKnown %s: %v, want ErrRollback", name, err)
		}
	}
	opts = LogOptions(false)
	opts.LastKnown = signTree(t, s2, tree)
	if _, err := openLog(t, open, opts); !errors.Is(err, storage.ErrVerify) {
		t.Errorf("Open with LastKnown by another key: %v, want ErrVerify", err)
	}
	// A second log on an open store.
	l = mustOpenLog(t, open, LogOptions(false))
	defer l.Close()
	if b, err := open(); err == nil {
		b.Close()
		t.Errorf("opening the store of an open log succeeded")
	}
	if _, got := l.Checkpoint(); got != tree {
		t.Errorf("reopened tree %v, want %v", got, tree)
	}
}

func signTree(t *testing.T, s note.Signer, tree tlog.Tree) []byte {
	text, err := note.Checkpoint{Origin: Origin, N: tree.N, Hash: tree.Hash}.Format()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, s)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// A reference is the x/mod model of a log: all records and stored hashes.
type reference struct {
	records [][]byte
	hashes  []xtlog.Hash
	keys    map[string]int64
}

func (r *reference) add(rec []byte) {
	hs, err := xtlog.StoredHashes(int64(len(r.records)), rec, r)
	if err != nil {
		panic(err)
	}
	r.records = append(r.records, rec)
	r.hashes = append(r.hashes, hs...)
}

func (r *reference) ReadHashes(indexes []int64) ([]xtlog.Hash, error) {
	out := make([]xtlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = r.hashes[x]
	}
	return out, nil
}

func (r *reference) treeHash(n int64) tlog.Hash {
	if n == 0 {
		return tlog.Hash(sha256.Sum256(nil))
	}
	h, err := xtlog.TreeHash(n, r)
	if err != nil {
		panic(err)
	}
	return tlog.Hash(h)
}

// checkLog compares everything the log serves with the reference, for the
// published tree sizes in sizes (tiles and proofs sampled with rng).
func checkLog(t *testing.T, l *storage.Log, ref *reference, rng *rand.Rand, sizes []int64) {
	t.Helper()
	ctx := context.Background()
	signed, tree := l.Checkpoint()
	n := int64(len(ref.records))
	if tree.N != n || tree.Hash != ref.treeHash(n) {
		t.Fatalf("tree %v, want size %d hash %v", tree, n, ref.treeHash(n))
	}
	_, v := Keys("log")
	nt, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint does not verify: %v", err)
	}
	if c, err := note.ParseCheckpoint([]byte(nt.Text)); err != nil || c.Tree() != tree || c.Origin != Origin {
		t.Fatalf("checkpoint %q does not match tree %v (%v)", nt.Text, tree, err)
	}
	if n == 0 {
		return
	}
	// Records: a random range, and the whole right edge.
	start := rng.Int64N(n)
	cnt := min(n-start, 1+rng.Int64N(600))
	for _, rg := range [][2]int64{{start, cnt}, {n - n%256, n % 256}, {n - 1, 1}} {
		recs, err := l.ReadRecords(ctx, rg[0], rg[1])
		if err != nil {
			t.Fatalf("ReadRecords(%d, %d): %v", rg[0], rg[1], err)
		}
		for i, r := range recs {
			if !bytes.Equal(r, ref.records[rg[0]+int64(i)]) {
				t.Fatalf("record %d = %q, want %q", rg[0]+int64(i), r, ref.records[rg[0]+int64(i)])
			}
		}
	}
	if _, err := l.ReadRecords(ctx, n, 1); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("ReadRecords past the tree: %v, want ErrNotFound", err)
	}
	for _, size := range sizes {
		if size == 0 || size > n {
			continue
		}
		// All tiles of this size, compared with x/mod.
		for _, xt := range xtlog.NewTiles(8, 0, size) {
			if rng.IntN(4) != 0 && xt.W == 256 {
				continue
			}
			want, err := xtlog.ReadTileData(xt, ref)
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.ReadTile(ctx, tile.Tile{H: xt.H, L: xt.L, N: xt.N, W: xt.W})
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("ReadTile(%v) at size %d = %x, %v; want %x", xt.Path(), size, got, err, want)
			}
		}
		th := ref.treeHash(size)
		if h, err := l.TreeHash(ctx, size); err != nil || h != th {
			t.Fatalf("TreeHash(%d) = %v, %v; want %v", size, h, err, th)
		}
		for range 3 {
			i := rng.Int64N(size)
			p, err := l.ProveRecord(ctx, size, i)
			if err != nil {
				t.Fatalf("ProveRecord(%d, %d): %v", size, i, err)
			}
			xp := make(xtlog.RecordProof, len(p))
			for j := range p {
				xp[j] = xtlog.Hash(p[j])
			}
			if err := xtlog.CheckRecord(xp, size, xtlog.Hash(th), i, xtlog.RecordHash(ref.records[i])); err != nil {
				t.Fatalf("proof of record %d in %d does not verify with x/mod: %v", i, size, err)
			}
			o := 1 + rng.Int64N(size)
			tp, err := l.ProveTree(ctx, size, o)
			if err != nil {
				t.Fatalf("ProveTree(%d, %d): %v", size, o, err)
			}
			xtp := make(xtlog.TreeProof, len(tp))
			for j := range tp {
				xtp[j] = xtlog.Hash(tp[j])
			}
			if err := xtlog.CheckTree(xtp, size, xtlog.Hash(th), o, xtlog.Hash(ref.treeHash(o))); err != nil {
				t.Fatalf("proof of tree %d in %d does not verify with x/mod: %v", o, size, err)
			}
		}
	}
	// A tile beyond the tree.
	if _, err := l.ReadTile(ctx, tile.Tile{H: 8, L: 0, N: n / 256, W: int(n%256) + 1}); !errors.Is(err, storage.ErrNotFound) && n%256 != 255 {
		t.Errorf("ReadTile past the tree: %v, want ErrNotFound", err)
	}
}

func testAppendMatchesXmod(t *testing.T, open Opener) {
	ctx := context.Background()
	l := mustOpenLog(t, open, LogOptions(true))
	defer func() { l.Close() }()
	ref := &reference{}
	rng := rand.New(rand.NewPCG(1, 2))
	var sizes []int64
	checkLog(t, l, ref, rng, nil)
	for step := range 40 {
		// Batches of varied size, appended concurrently.
		k := []int{1, 2, 3, 255, 256, 257, 513, 40, 1000}[step%9]
		recs := make([][]byte, k)
		for i := range recs {
			recs[i] = fmt.Appendf(nil, "record %d.%d %x", step, i, rng.Uint64())
		}
		idx := make([]int64, k)
		var wg sync.WaitGroup
		for i := range recs {
			wg.Go(func() {
				var err error
				idx[i], err = l.Append(ctx, recs[i])
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		byIdx := make([][]byte, k)
		base := int64(len(ref.records))
		for i, x := range idx {
			if x < base || x >= base+int64(k) || byIdx[x-base] != nil {
				t.Fatalf("index %d out of range or duplicate (batch base %d)", x, base)
			}
			byIdx[x-base] = recs[i]
		}
		for _, r := range byIdx {
			ref.add(r)
		}
		sizes = append(sizes, int64(len(ref.records)))
		if step%5 == 4 {
			l.Close()
			l = mustOpenLog(t, open, LogOptions(false))
		}
		checkLog(t, l, ref, rng, []int64{sizes[rng.IntN(len(sizes))], int64(len(ref.records))})
	}
	// Bad arguments.
	n := int64(len(ref.records))
	bad := []tile.Tile{{H: 7, L: 0, N: 0, W: 1}, {H: 8, L: -1, N: 0, W: 1}, {H: 8, L: 0, N: -1, W: 1}, {H: 8, L: 0, N: 0, W: 0}, {H: 8, L: 0, N: 0, W: 257}, {H: 8, L: 8, N: 0, W: 1}}
	for _, bt := range bad {
		if _, err := l.ReadTile(ctx, bt); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("ReadTile(%+v): %v, want ErrInvalid", bt, err)
		}
	}
	for _, a := range [][2]int64{{-1, 1}, {0, -1}, {0, storage.MaxReadRecords + 1}} {
		if _, err := l.ReadRecords(ctx, a[0], a[1]); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("ReadRecords(%d, %d): %v, want ErrInvalid", a[0], a[1], err)
		}
	}
	for _, a := range [][2]int64{{n + 1, 0}, {0, 0}, {5, 5}, {5, -1}} {
		if _, err := l.ProveRecord(ctx, a[0], a[1]); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("ProveRecord(%d, %d): %v, want ErrInvalid", a[0], a[1], err)
		}
	}
	for _, a := range [][2]int64{{n, 0}, {n + 1, 1}, {5, 6}} {
		if _, err := l.ProveTree(ctx, a[0], a[1]); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("ProveTree(%d, %d): %v, want ErrInvalid", a[0], a[1], err)
		}
	}
	if _, err := l.Append(ctx, make([]byte, 1<<16)); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("Append of a too large record: %v, want ErrInvalid", err)
	}
	if _, _, err := l.AppendKeyed(ctx, nil, []byte("x")); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("AppendKeyed with an empty key: %v, want ErrInvalid", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, []byte("x")); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	l = mustOpenLog(t, open, LogOptions(false))
}

func testKeyed(t *testing.T, open Opener) {
	ctx := context.Background()
	l := mustOpenLog(t, open, LogOptions(true))
	defer func() { l.Close() }()
	if _, err := l.Lookup(ctx, []byte("a")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Lookup in an empty log: %v, want ErrNotFound", err)
	}
	// 50 keys, each appended by 8 goroutines at once with different records.
	type res struct {
		idx     int64
		existed bool
	}
	results := make([][]res, 50)
	var wg sync.WaitGroup
	for k := range 50 {
		results[k] = make([]res, 8)
		for g := range 8 {
			wg.Go(func() {
				idx, existed, err := l.AppendKeyed(ctx, fmt.Appendf(nil, "key%d", k), fmt.Appendf(nil, "rec %d from %d", k, g))
				if err != nil {
					t.Error(err)
				}
				results[k][g] = res{idx, existed}
			})
		}
	}
	wg.Wait()
	if _, tree := l.Checkpoint(); tree.N != 50 {
		t.Fatalf("log has %d records after 50 distinct keys, want 50", tree.N)
	}
	seen := make(map[int64]bool)
	for k := range 50 {
		news := 0
		for _, r := range results[k] {
			if r.idx != results[k][0].idx {
				t.Fatalf("key%d got indexes %v", k, results[k])
			}
			if !r.existed {
				news++
			}
		}
		if news != 1 || seen[results[k][0].idx] {
			t.Fatalf("key%d: %d calls reported a new record, index %d seen before %v", k, news, results[k][0].idx, seen[results[k][0].idx])
		}
		seen[results[k][0].idx] = true
	}
	check := func() {
		for k := range 50 {
			idx, err := l.Lookup(ctx, fmt.Appendf(nil, "key%d", k))
			if err != nil || idx != results[k][0].idx {
				t.Fatalf("Lookup(key%d) = %d, %v; want %d", k, idx, err, results[k][0].idx)
			}
			recs, err := l.ReadRecords(ctx, idx, 1)
			if err != nil || !bytes.HasPrefix(recs[0], fmt.Appendf(nil, "rec %d from ", k)) {
				t.Fatalf("record of key%d = %q, %v", k, recs, err)
			}
		}
	}
	check()
	l.Close()
	l = mustOpenLog(t, open, LogOptions(false))
	check()
	// After reopening, the keys still have their indexes.
	for k := range 50 {
		idx, existed, err := l.AppendKeyed(ctx, fmt.Appendf(nil, "key%d", k), []byte("again"))
		if err != nil || !existed || idx != results[k][0].idx {
			t.Fatalf("AppendKeyed(key%d) after reopen = %d, %v, %v", k, idx, existed, err)
		}
	}
	if _, tree := l.Checkpoint(); tree.N != 50 {
		t.Fatalf("log grew to %d on duplicate keys", tree.N)
	}
	// Unkeyed appends do not touch the key index.
	i, err := l.Append(ctx, []byte("key0"))
	if err != nil || i != 50 {
		t.Fatalf("Append = %d, %v", i, err)
	}
	if _, err := l.Lookup(ctx, []byte("nokey")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Lookup of an unknown key: %v", err)
	}
}

// GoldenDigest is the SHA-256 of the checkpoints and tiles that testGolden
// produces: the same on every backend and every run.
const GoldenDigest = "98452538c1a7badc972b5b401159c0adae69ff48ff34d79d27ff64b77782e4c1"

func testGolden(t *testing.T, open Opener) {
	ctx := context.Background()
	l := mustOpenLog(t, open, LogOptions(true))
	defer func() { l.Close() }()
	got := GoldenDigestOf(t, ctx, l)
	if got != GoldenDigest {
		t.Errorf("golden digest %s, want %s", got, GoldenDigest)
	}
}

// GoldenDigestOf appends the golden record sequence to the empty log l,
// one record at a time, and returns the SHA-256 of every checkpoint it
// publishes and of all tiles and records of the final tree.
func GoldenDigestOf(t *testing.T, ctx context.Context, l *storage.Log) string {
	t.Helper()
	d := sha256.New()
	cp, _ := l.Checkpoint()
	d.Write(cp)
	for i := range 700 {
		rec := fmt.Appendf(nil, "golden %d\n", i)
		var err error
		if i%3 == 0 {
			_, _, err = l.AppendKeyed(ctx, rec, rec)
		} else {
			_, err = l.Append(ctx, rec)
		}
		if err != nil {
			t.Fatal(err)
		}
		cp, _ := l.Checkpoint()
		d.Write(cp)
	}
	_, tree := l.Checkpoint()
	for _, xt := range xtlog.NewTiles(8, 0, tree.N) {
		data, err := l.ReadTile(ctx, tile.Tile{H: xt.H, L: xt.L, N: xt.N, W: xt.W})
		if err != nil {
			t.Fatal(err)
		}
		d.Write(data)
	}
	recs, err := l.ReadRecords(ctx, 0, tree.N)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		d.Write(r)
	}
	return fmt.Sprintf("%x", d.Sum(nil))
}

// testModel runs random operations against the log and a model, reopening
// the store between steps.
func testModel(t *testing.T, open Opener) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	l := mustOpenLog(t, open, LogOptions(true))
	defer func() { l.Close() }()
	ref := &reference{keys: make(map[string]int64)}
	var sizes []int64
	steps := 60
	if testing.Short() {
		steps = 25
	}
	for step := range steps {
		switch op := rng.IntN(10); {
		case op < 5: // a concurrent batch of keyed and unkeyed appends
			k := 1 + rng.IntN(300)
			type req struct {
				key, rec []byte
			}
			reqs := make([]req, k)
			for i := range reqs {
				reqs[i].rec = fmt.Appendf(nil, "model %d.%d", step, i)
				if rng.IntN(2) == 0 {
					reqs[i].key = fmt.Appendf(nil, "k%d", rng.IntN(400))
				}
			}
			idx := make([]int64, k)
			existed := make([]bool, k)
			var wg sync.WaitGroup
			for i := range reqs {
				wg.Go(func() {
					var err error
					if reqs[i].key != nil {
						idx[i], existed[i], err = l.AppendKeyed(ctx, reqs[i].key, reqs[i].rec)
					} else {
						idx[i], err = l.Append(ctx, reqs[i].rec)
					}
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			base := int64(len(ref.records))
			added := make(map[int64][]byte)
			for i, r := range reqs {
				if r.key != nil {
					if old, ok := ref.keys[string(r.key)]; ok {
						if !existed[i] || idx[i] != old {
							t.Fatalf("key %s: got %d existed=%v, model has %d", r.key, idx[i], existed[i], old)
						}
						continue
					}
				}
				if existed[i] {
					if r.key == nil || idx[i] < base {
						t.Fatalf("request %d: existed with index %d", i, idx[i])
					}
					continue
				}
				if idx[i] < base || added[idx[i]] != nil {
					t.Fatalf("request %d: index %d reused or below %d", i, idx[i], base)
				}
				added[idx[i]] = r.rec
			}
			for i, r := range reqs {
				if r.key != nil && existed[i] && idx[i] >= base && !bytes.HasPrefix(added[idx[i]], []byte("model")) {
					t.Fatalf("key %s points at index %d, which is not new", r.key, idx[i])
				}
			}
			for j := base; j < base+int64(len(added)); j++ {
				rec, ok := added[j]
				if !ok {
					t.Fatalf("index %d missing: indexes not dense", j)
				}
				ref.add(rec)
			}
			for i, r := range reqs {
				if r.key != nil {
					if _, ok := ref.keys[string(r.key)]; !ok {
						ref.keys[string(r.key)] = idx[i]
					}
				}
			}
			sizes = append(sizes, int64(len(ref.records)))
		case op < 7: // reopen
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = mustOpenLog(t, open, LogOptions(false))
		case op < 8: // lookups
			for range 20 {
				key := fmt.Appendf(nil, "k%d", rng.IntN(400))
				idx, err := l.Lookup(ctx, key)
				want, ok := ref.keys[string(key)]
				if ok != (err == nil) || (ok && idx != want) || (!ok && !errors.Is(err, storage.ErrNotFound)) {
					t.Fatalf("Lookup(%s) = %d, %v; model %d, %v", key, idx, err, want, ok)
				}
			}
		default: // full comparison
			var pick []int64
			if len(sizes) > 0 {
				pick = []int64{sizes[rng.IntN(len(sizes))], sizes[len(sizes)-1]}
			}
			checkLog(t, l, ref, rng, pick)
		}
	}
	checkLog(t, l, ref, rng, sizes)
}
