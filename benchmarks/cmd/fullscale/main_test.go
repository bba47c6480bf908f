package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/tlog"
)

// TestRun builds and audits a log of 100000 records on pebble.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	res, err := run(context.Background(), []string{"-n", "100000", "-dir", dir, "-appenders", "512", "-progress", "0"}, &out, io.Discard)
	require.NoError(t, err)
	t.Log(out.String())
	require.Equal(t, int64(100000), res.N)
	require.Equal(t, int64(100000), res.AuditDataRead)
	// 391 level-0 tiles (390 full, 1 partial), 2 level-1 tiles (1 full, 1 partial), 1 partial level-2 tile.
	require.Equal(t, int64(391+2+1), res.AuditTiles)
	require.Greater(t, res.DiskBefore, res.RecordBytes/4)
	require.Greater(t, res.DiskAfter, int64(0))
	require.Greater(t, res.BuildHWM, int64(0))
	require.Contains(t, out.String(), "build: 100000 records")
	require.Contains(t, out.String(), "audit: 100000 records and 394 hash tiles")
	// The store is left in place without -rm, and run refuses to reuse it.
	_, err = os.Stat(filepath.Join(dir, "store"))
	require.NoError(t, err)
	_, err = run(context.Background(), []string{"-n", "10", "-dir", dir}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "exists")
}

func TestRunRemove(t *testing.T) {
	dir := t.TempDir()
	_, err := run(context.Background(), []string{"-n", "300", "-dir", dir, "-rm", "-keyed=false", "-compact=false", "-progress", "0"}, io.Discard, io.Discard)
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "store"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-n", "0", "-dir", "x"},
		{"-n", "1.5", "-dir", "x"},
		{"-n", "-3", "-dir", "x"},
		{"-n", "1e11", "-dir", "x"},
		{"-n", "10"},
		{"-n", "10", "-dir", "x", "-appenders", "0"},
		{"-n", "10", "-dir", "x", "extra"},
	} {
		_, err := parseFlags(args, io.Discard)
		require.Error(t, err, "%q", args)
	}
	c, err := parseFlags([]string{"-dir", "x"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, int64(70000000), c.n)
}

func TestRecords(t *testing.T) {
	for _, i := range []int64{0, 1, 2, 3, 4, 255, 1 << 20, 69999999, 1<<40 + 3} {
		rec := appendRecord(nil, i)
		require.Equal(t, i, parseRecordNumber(rec), "%q", rec)
		lines := strings.Split(strings.TrimSuffix(string(rec), "\n"), "\n")
		require.Len(t, lines, 2)
		p, v := recordModule(i)
		require.Equal(t, p+"@"+v, string(recordKey(i)))
		require.True(t, strings.HasPrefix(lines[0], p+" "+v+" h1:"))
		require.True(t, strings.HasPrefix(lines[1], p+" "+v+"/go.mod h1:"))
		require.Len(t, lines[0], len(p)+len(v)+2+3+44)
	}
	require.NotEqual(t, appendRecord(nil, 5), appendRecord(nil, 6))
	for _, bad := range []string{"", "example.com/mod", "example.com/mod1 v1.4.0 h1:", "example.com/modx v1.0.0 h1:",
		"example.com/mod-1 v1.0.0 h1:", "other.com/mod1 v1.0.0 h1:", "example.com/mod1 v2.0.0 h1:", "example.com/mod1 v1.0.1 h1:"} {
		require.Equal(t, int64(-1), parseRecordNumber([]byte(bad)), "%q", bad)
	}
}

// TestCompactRange compares the rebuilt root and subtree roots with x/mod's
// tree hash for many sizes.
func TestCompactRange(t *testing.T) {
	var stored []xtlog.Hash
	hr := xtlog.HashReaderFunc(func(idx []int64) ([]xtlog.Hash, error) {
		out := make([]xtlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	var cr compactRange
	require.Equal(t, tlog.Hash(xtlog.Hash{}), tlog.Hash{}) // same type shape
	for n := int64(0); n < 70000; n++ {
		if n == 0 || n%997 == 0 || n == 65536 || n < 600 {
			want, err := xtlog.TreeHash(n, hr)
			require.NoError(t, err)
			require.Equal(t, tlog.Hash(want), cr.root(), "n=%d", n)
		}
		rec := appendRecord(nil, n)
		hs, err := xtlog.StoredHashes(n, rec, hr)
		require.NoError(t, err)
		stored = append(stored, hs...)
		cr.push(0, tlog.RecordHash(rec))
	}
	// Level-8 roots are the stored hashes at level 8.
	require.Len(t, cr.tileLevel[1], 70000/256)
	for i, h := range cr.tileLevel[1] {
		require.Equal(t, tlog.Hash(stored[xtlog.StoredHashIndex(8, int64(i))]), h)
	}
}

// TestAuditDetects corrupts every value of a small log in turn (except the
// key index, which the audit does not read) and checks that opening or
// auditing it fails.
func TestAuditDetects(t *testing.T) {
	ctx := context.Background()
	skey, vkey, err := note.GenerateKey(rand.Reader, "test")
	require.NoError(t, err)
	signer, err := note.NewSigner(skey)
	require.NoError(t, err)
	verifier, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	opts := storage.Options{Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true}
	c := &config{n: 2000, appenders: 64, keyed: true}

	ms := memstore.New()
	lg, err := storage.Open(ctx, ms, opts)
	require.NoError(t, err)
	require.NoError(t, build(ctx, c, lg, &result{}, io.Discard))
	_, tree := lg.Checkpoint()
	require.NoError(t, lg.Close())

	auditStore := func(st *memstore.Store) error {
		lg, err := storage.Open(ctx, st, storage.Options{Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier})
		if err != nil {
			return err
		}
		defer lg.Close()
		return audit(ctx, c, lg, verifier, tree, &result{}, io.Discard)
	}
	ms, err = ms.Reopen()
	require.NoError(t, err)
	var keys, values [][]byte
	require.NoError(t, ms.Scan(ctx, nil, nil, func(k, v []byte) error {
		// Every key but the key index and the record times (the log's
		// own account of when, which no signature covers) is checked.
		if k[0] != 'k' && k[0] != 'm' {
			keys = append(keys, bytes.Clone(k))
			values = append(values, bytes.Clone(v))
		}
		return nil
	}))
	require.NoError(t, ms.Close())
	require.Greater(t, len(keys), 17)

	ms, err = ms.Reopen()
	require.NoError(t, err)
	require.NoError(t, auditStore(ms))
	for i, k := range keys {
		for _, pos := range []int{0, len(values[i]) / 2, len(values[i]) - 1} {
			v := bytes.Clone(values[i])
			v[pos] ^= 0x20
			set := func(v []byte) {
				ms, err = ms.Reopen()
				require.NoError(t, err)
				var b storage.Batch
				b.Set(k, v)
				require.NoError(t, ms.Commit(ctx, &b))
				require.NoError(t, ms.Close())
			}
			set(v)
			ms, err = ms.Reopen()
			require.NoError(t, err)
			require.Error(t, auditStore(ms), "key %x, byte %d flipped", k, pos)
			set(values[i])
		}
	}
	ms, err = ms.Reopen()
	require.NoError(t, err)
	require.NoError(t, auditStore(ms))
}

func TestMaxBuildTime(t *testing.T) {
	var out bytes.Buffer
	res, err := run(context.Background(), []string{"-n", "1e8", "-dir", t.TempDir(), "-max-build-time", "300ms", "-progress", "0", "-compact=false", "-rm"}, &out, io.Discard)
	require.NoError(t, err)
	require.Greater(t, res.N, int64(0))
	require.Less(t, res.N, int64(1e8))
	require.Equal(t, res.N, res.AuditDataRead)
	require.Contains(t, out.String(), "audit: ")
}
