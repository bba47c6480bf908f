package witness_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/witness"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedCosigner is a witness key from a fixed seed, signing at a fixed
// time, so that its cosignatures are the same bytes on every run.
func fixedCosigner(t *testing.T, name string) *note.Cosigner {
	seed := sha256.Sum256([]byte("witness test key " + name))
	skey, _, err := note.GenerateCosignerKey(bytes.NewReader(seed[:]), name)
	require.NoError(t, err)
	cs, err := note.NewCosigner(skey, func() time.Time { return time.Unix(1764892800, 0) })
	require.NoError(t, err)
	return cs
}

func goldenRecord(i int) []byte { return fmt.Appendf(nil, "golden record %d\n", i) }

// TestProofGolden builds a log of 1000 records cosigned by two witnesses,
// makes the tlog-proof of record 777, compares it with the golden file,
// and verifies the golden file offline; any change to the record, the
// proof, the checkpoint or the policy fails the verification.
func TestProofGolden(t *testing.T) {
	ctx := context.Background()
	s, v := storagetest.Keys("log1")
	l, err := storage.Open(ctx, memstore.New(), storage.Options{Origin: "example.com/log1", Signer: s, Verifier: v, Create: true})
	require.NoError(t, err)
	defer l.Close()
	entries := make([]storage.Entry, 1000)
	for i := range entries {
		entries[i].Record = goldenRecord(i)
	}
	for _, f := range l.AppendBatch(ctx, entries, nil) {
		_, _, err := f.Wait(ctx)
		require.NoError(t, err)
	}
	var remotes []witness.Remote
	var policy note.CosignaturePolicy
	for _, name := range []string{"witness.example/a", "witness.example/b"} {
		cs := fixedCosigner(t, name)
		w, err := witness.New(cs, []witness.Log{{Origin: "example.com/log1", Verifiers: []note.Verifier{v}}}, memstore.New(), nil)
		require.NoError(t, err)
		hs := httptest.NewServer(w)
		defer hs.Close()
		remotes = append(remotes, witness.Remote{URL: hs.URL, Verifier: cs.Verifier()})
		policy.Cosigners = append(policy.Cosigners, cs.Verifier())
	}
	policy.K = 2
	c := witness.NewCosigning(l, remotes, 0, nil, nil)
	require.NoError(t, c.Update(ctx))
	signed, _, n := c.Checkpoint()
	require.Equal(t, 2, n)
	p, err := witness.NewProof(ctx, l, 777, signed)
	require.NoError(t, err)
	p.Extra = []byte("golden")
	got := p.Format()

	golden := filepath.Join("testdata", "record-777.tlog-proof")
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "proof differs from %s (go test -update rewrites it)", golden)
	require.True(t, strings.HasPrefix(string(want), "c2sp.org/tlog-proof@v1\nextra Z29sZGVu\nindex 777\n"))

	// Offline verification of the golden file.
	logKeys := note.VerifierList(v)
	gp, err := witness.ParseProof(want)
	require.NoError(t, err)
	require.Equal(t, []byte("golden"), gp.Extra)
	cp, err := gp.Verify(goldenRecord(777), "example.com/log1", logKeys, policy)
	require.NoError(t, err)
	require.Equal(t, int64(1000), cp.N)
	require.Equal(t, want, gp.Format(), "parse and format round trip")

	_, err = gp.Verify(goldenRecord(778), "example.com/log1", logKeys, policy)
	require.ErrorIs(t, err, witness.ErrProof, "another record")
	_, err = gp.Verify(goldenRecord(777), "example.com/other", logKeys, policy)
	require.Error(t, err, "another origin")
	absent := fixedCosigner(t, "witness.example/c").Verifier()
	_, err = gp.Verify(goldenRecord(777), "example.com/log1", logKeys, note.CosignaturePolicy{Cosigners: []note.Verifier{absent}, K: 1})
	require.ErrorIs(t, err, note.ErrPolicy)
	_, other := storagetest.Keys("other")
	_, err = gp.Verify(goldenRecord(777), "example.com/log1", note.VerifierList(other), policy)
	require.Error(t, err, "another log key")

	// Every byte of the proof lines flipped: refused, by the parser or
	// by the verification.
	lines := strings.SplitAfter(string(want), "\n")
	start := len(lines[0]) + len(lines[1]) + len(lines[2])
	end := strings.Index(string(want), "\n\n")
	for i := start; i < end; i++ {
		b := bytes.Clone(want)
		b[i] ^= 0x01
		if q, err := witness.ParseProof(b); err == nil {
			_, err = q.Verify(goldenRecord(777), "example.com/log1", logKeys, policy)
			require.Error(t, err, "byte %d flipped", i)
		}
	}
}

func TestParseProofHostile(t *testing.T) {
	h := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	for _, bad := range []string{
		"",
		"c2sp.org/tlog-proof@v2\nindex 0\n\nx\n",
		"c2sp.org/tlog-proof@v1\nindex -1\n\nx\n",
		"c2sp.org/tlog-proof@v1\nindex 01\n\nx\n",
		"c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\nx\n",
		"c2sp.org/tlog-proof@v1\nindex 1\n" + h,
		"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx\n",
		"c2sp.org/tlog-proof@v1\nindex 1\n" + strings.Repeat(h, 64) + "\nx\n",
		"c2sp.org/tlog-proof@v1\nindex 1\n\n" + strings.Repeat("x", witness.MaxProofBytes),
	} {
		_, err := witness.ParseProof([]byte(bad))
		require.ErrorIs(t, err, witness.ErrProof, "%.60q", bad)
	}
}
