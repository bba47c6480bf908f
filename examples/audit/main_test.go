package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

const (
	realDir  = "../../testdata/sum.golang.org"
	realVkey = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
)

func audit(t *testing.T, args ...string) (int, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String() + errOut.String()
}

func files(t *testing.T, dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	require.NoError(t, err, "real sum.golang.org test data missing")
	return out
}

func TestAuditRealData(t *testing.T) {
	code, out := audit(t, "-log", realDir, "-vkey", realVkey)
	require.Equal(t, 0, code, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 12) // latest, 10 lookups, summary
	require.Equal(t, "OK: 10/10 lookups verified, 33/33 tiles verified, 5/5 tree heads consistent, latest tree 66398721; 0 problems", lines[len(lines)-1])
	require.Contains(t, out, "ok    rsc.io/quote@v1.5.2 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y= h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=\n")

	// Named lookups only.
	code, out = audit(t, "-log", realDir, "-vkey", realVkey, "rsc.io/quote@v1.5.2", "golang.org/x/mod@v0.22.0")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "OK: 2/2 lookups verified, 0/0 tiles verified")
	code, out = audit(t, "-log", realDir, "-vkey", realVkey, "rsc.io/quote@v1.5.3")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "FAIL  rsc.io/quote@v1.5.3")
}

// Every file of the copy, changed by one bit, makes the audit fail.
func TestAuditFlippedByteAnywhere(t *testing.T) {
	all := files(t, realDir)
	require.Len(t, all, 44)
	for i, rel := range all {
		dir := t.TempDir()
		for _, f := range all {
			b, err := os.ReadFile(filepath.Join(realDir, f))
			require.NoError(t, err)
			if f == rel {
				pos := (i * 7919) % len(b)
				if !strings.HasPrefix(rel, "tile/") {
					// Change a byte that is not a trailing newline.
					pos = (i * 7919) % (len(b) - 1)
				}
				b[pos] ^= 1 << uint(i%8)
			}
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o777))
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o666))
		}
		code, out := audit(t, "-log", dir, "-vkey", realVkey)
		require.Equal(t, 1, code, "flipped %s:\n%s", rel, out)
		require.Contains(t, out, "FAILED: ")
		require.NotContains(t, out, "SECURITY ERROR", "flipped %s", rel)
	}
}

func TestAuditHTTP(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.Dir(realDir)))
	defer srv.Close()
	code, out := audit(t, "-log", srv.URL, "-vkey", realVkey, "rsc.io/quote@v1.5.2", "gopkg.in/yaml.v3@v3.0.1")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "OK: 2/2 lookups verified")
	// A server needs named lookups.
	code, _ = audit(t, "-log", srv.URL, "-vkey", realVkey)
	require.Equal(t, 2, code)
}

func TestAuditUsage(t *testing.T) {
	for _, args := range [][]string{
		{}, {"-log", realDir}, {"-vkey", realVkey}, {"-bogus"},
		{"-log", filepath.Join(t.TempDir(), "missing"), "-vkey", realVkey},
		{"-log", realDir, "-vkey", "not-a-key"},
	} {
		code, out := audit(t, args...)
		require.Equal(t, 2, code, "%v: %s", args, out)
	}
	code, out := audit(t, "-log", realDir, "-vkey", realVkey, "no-version")
	require.Equal(t, 1, code, out)
	// Another key does not verify the data.
	other := "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn9"
	code, out = audit(t, "-log", realDir, "-vkey", other)
	require.NotEqual(t, 0, code, out)
}

func TestAuditDirWithoutLatest(t *testing.T) {
	dir := t.TempDir()
	for _, f := range files(t, realDir) {
		if f == "latest" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(realDir, f))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o777))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o666))
	}
	code, out := audit(t, "-log", dir, "-vkey", realVkey)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "note  latest: none")
	require.Contains(t, out, "OK: 10/10 lookups verified, 33/33 tiles verified")
}

// TestUsage: -h prints the whole usage and exits 0; a server named without
// module versions is a usage error that says what is missing, before any
// request.
func TestUsage(t *testing.T) {
	code, out := audit(t, "-h")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "With a URL (https://...), name the module versions to look up")
	require.Contains(t, out, "-vkey")

	var requests int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests++ }))
	defer srv.Close()
	code, out = audit(t, "-log", srv.URL, "-vkey", realVkey)
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "is a server: name the module@version lookups to check")
	require.Zero(t, requests)

	code, out = audit(t, "-log", realDir)
	require.Equal(t, 2, code, out)
}

// TestAuditWitnessPolicy: sum.golang.org's tree heads carry no
// cosignature of a witness we name: with -witness the audit fails and
// names it; bad -witness keys and quorums are usage errors.
func TestAuditWitnessPolicy(t *testing.T) {
	_, wkey, err := note.GenerateCosignerKey(rand.Reader, "witness.example/w1")
	require.NoError(t, err)
	code, out := audit(t, "-log", realDir, "-vkey", realVkey, "-witness", wkey, "rsc.io/quote@v1.5.2")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "missing: witness.example/w1+")
	code, out = audit(t, "-log", realDir, "-vkey", realVkey, "-witness", "not-a-key", "rsc.io/quote@v1.5.2")
	require.Equal(t, 2, code, out)
	code, out = audit(t, "-log", realDir, "-vkey", realVkey, "-witness", wkey, "-witness-quorum", "2", "rsc.io/quote@v1.5.2")
	require.Equal(t, 2, code, out)
}

// TestAuditProof verifies the witness package's golden tlog-proof bundle
// offline: with the log's key and both witnesses required it passes; for
// another record, or requiring a witness that did not cosign, it fails.
func TestAuditProof(t *testing.T) {
	proof := filepath.Join("..", "..", "witness", "testdata", "record-777.tlog-proof")
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	require.NoError(t, os.WriteFile(record, []byte("golden record 777\n"), 0o644))
	wrong := filepath.Join(dir, "wrong")
	require.NoError(t, os.WriteFile(wrong, []byte("golden record 778\n"), 0o644))
	wkey := func(name string) string {
		seed := sha256.Sum256([]byte("witness test key " + name))
		_, vkey, err := note.GenerateCosignerKey(bytes.NewReader(seed[:]), name)
		require.NoError(t, err)
		return vkey
	}
	logKey := storagetest.VerifierKey("log1")
	args := []string{"-proof", proof, "-origin", "example.com/log1", "-vkey", logKey, "-witness", wkey("witness.example/a"), "-witness", wkey("witness.example/b")}
	code, out := audit(t, append(args, "-record", record)...)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "OK: "+record+" is entry 777 of example.com/log1, tree 1000")
	code, out = audit(t, append(args, "-record", wrong)...)
	require.Equal(t, 1, code, out)
	code, out = audit(t, append(args, "-record", record, "-witness", wkey("witness.example/c"))...)
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "missing: witness.example/c+")
	code, out = audit(t, "-proof", proof, "-vkey", logKey)
	require.Equal(t, 2, code, out)
}
