package witness_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/sumdbclient"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
	"github.com/tlogkit/tlogkit/witness"
)

// cosignedDB is a checksum database whose checkpoints two witnesses
// cosign.
type cosignedDB struct {
	log       *storage.Log
	vkey      string
	cosigning *witness.Cosigning
	server    *httptest.Server
	witnesses []*httptest.Server
	policy    note.CosignaturePolicy
}

func newCosignedDB(t *testing.T, src sumdbserver.Source) *cosignedDB {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "sumdb.test")
	require.NoError(t, err)
	signer, err := note.NewSigner(skey)
	require.NoError(t, err)
	verifier, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	l, err := storage.Open(context.Background(), memstore.New(), storage.Options{Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	db := &cosignedDB{log: l, vkey: vkey}
	var remotes []witness.Remote
	for i := range 2 {
		wskey, _, err := note.GenerateCosignerKey(rand.Reader, fmt.Sprintf("witness.example/w%d", i))
		require.NoError(t, err)
		cs, err := note.NewCosigner(wskey, nil)
		require.NoError(t, err)
		w, err := witness.New(cs, []witness.Log{{Origin: note.SumDBOrigin, Verifiers: []note.Verifier{verifier}}}, memstore.New(), nil)
		require.NoError(t, err)
		hs := httptest.NewServer(w)
		t.Cleanup(hs.Close)
		db.witnesses = append(db.witnesses, hs)
		remotes = append(remotes, witness.Remote{URL: hs.URL, Verifier: cs.Verifier()})
		db.policy.Cosigners = append(db.policy.Cosigners, cs.Verifier())
	}
	db.policy.K = 2
	db.cosigning = witness.NewCosigning(l, remotes, 0, nil, nil)
	srv, err := sumdbserver.NewServer(sumdbserver.Config{Log: witness.ServedLog(sumdbserver.StorageLog(l), db.cosigning), Source: src})
	require.NoError(t, err)
	db.server = httptest.NewServer(srv)
	t.Cleanup(db.server.Close)
	return db
}

func (db *cosignedDB) client(t *testing.T, policy note.CosignaturePolicy) *sumdbclient.Client {
	src, err := sumdbclient.NewSource(db.server.URL)
	require.NoError(t, err)
	c, err := sumdbclient.New(sumdbclient.Options{Source: src, VerifierKey: db.vkey, Witnesses: policy})
	require.NoError(t, err)
	return c
}

func goSum(ctx context.Context, m module.Version) ([]byte, error) {
	return fmt.Appendf(nil, "%s %s h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n%s %s/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		m.Path, m.Version, m.Path, m.Version), nil
}

// TestCosignedLog: the log's checkpoints get cosigned by both witnesses
// and served with their cosignatures; a client requiring both accepts
// them; a witness that goes down stops only the cosignatures, and the
// client then refuses, naming it; a new Cosigning recovers each witness's
// size from its 409.
func TestCosignedLog(t *testing.T) {
	ctx := context.Background()
	db := newCosignedDB(t, sumdbserver.SourceFunc(goSum))
	_, _, err := db.log.AppendKeyed(ctx, []byte("example.com/a@v1.0.0"), must(goSum(ctx, module.Version{Path: "example.com/a", Version: "v1.0.0"})))
	require.NoError(t, err)
	require.NoError(t, db.cosigning.Update(ctx))
	signed, tree, n := db.cosigning.Checkpoint()
	require.Equal(t, int64(1), tree.N)
	require.Equal(t, 2, n)
	require.NoError(t, db.policy.Check(signed))

	c := db.client(t, db.policy)
	th, err := c.FetchLatest(ctx)
	require.NoError(t, err)
	require.Equal(t, tree, th.Tree)

	// A policy naming a third witness, 3 of 3: refused, naming it.
	_, v3, err := note.GenerateCosignerKey(rand.Reader, "witness.example/absent")
	require.NoError(t, err)
	absent, err := note.NewCosignatureVerifier(v3)
	require.NoError(t, err)
	strict := note.CosignaturePolicy{Cosigners: append(append([]note.Verifier{}, db.policy.Cosigners...), absent), K: 3}
	_, err = db.client(t, strict).FetchLatest(ctx)
	require.ErrorIs(t, err, note.ErrPolicy)
	require.ErrorContains(t, err, "witness.example/absent")

	// Witness 1 goes down: appends go on, the new checkpoint has one
	// cosignature, and the 2-of-2 client refuses it naming witness 1.
	db.witnesses[1].Close()
	_, _, err = db.log.AppendKeyed(ctx, []byte("example.com/b@v1.0.0"), must(goSum(ctx, module.Version{Path: "example.com/b", Version: "v1.0.0"})))
	require.NoError(t, err)
	require.Error(t, db.cosigning.Update(ctx), "2 of 2 with a witness down")
	both := []witness.Remote{{URL: db.witnesses[0].URL, Verifier: db.policy.Cosigners[0]}, {URL: db.witnesses[1].URL, Verifier: db.policy.Cosigners[1]}}
	require.NoError(t, witness.NewCosigning(db.log, both, 1, nil, nil).Update(ctx), "1 of 2 with a witness down")
	_, tree, n = db.cosigning.Checkpoint()
	require.Equal(t, int64(2), tree.N)
	require.Equal(t, 1, n)
	_, err = c.FetchLatest(ctx)
	require.ErrorIs(t, err, note.ErrPolicy)
	require.ErrorContains(t, err, "witness.example/w1")
	require.NotContains(t, err.Error(), "witness.example/w0")
	// A lookup is refused as well: its tree head lacks the cosignature.
	_, err = c.Lookup(ctx, "example.com/b", "v1.0.0")
	require.ErrorIs(t, err, note.ErrPolicy)
	// 1 of 2 accepts.
	_, err = db.client(t, note.CosignaturePolicy{Cosigners: db.policy.Cosigners, K: 1}).FetchLatest(ctx)
	require.NoError(t, err)

	// A new Cosigning (sizes unknown) against witness 0, which has size 2:
	// its 409 gives the size, the retry succeeds.
	_, _, err = db.log.AppendKeyed(ctx, []byte("example.com/c@v1.0.0"), must(goSum(ctx, module.Version{Path: "example.com/c", Version: "v1.0.0"})))
	require.NoError(t, err)
	fresh := witness.NewCosigning(db.log, []witness.Remote{{URL: db.witnesses[0].URL, Verifier: db.policy.Cosigners[0]}}, 0, nil, nil)
	require.NoError(t, fresh.Update(ctx))
	_, tree, n = fresh.Checkpoint()
	require.Equal(t, int64(3), tree.N)
	require.Equal(t, 1, n)
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestGoCommandAcceptsCosignedNotes: the go command, which knows only the
// log's key, accepts tree heads carrying the witnesses' cosignatures (it
// ignores signatures by keys it does not know).
func TestGoCommandAcceptsCosignedNotes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	proxyDir := t.TempDir()
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		sumdbtest.WriteModule(t, proxyDir, module.Version{Path: "example.com/hello", Version: v}, map[string]string{
			"hello.go": "package hello\n\nconst V = \"" + v + "\"\n",
		})
	}
	up, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(proxyDir))
	require.NoError(t, err)
	db := newCosignedDB(t, up)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go db.cosigning.Run(ctx, 5*time.Millisecond)
	e := sumdbtest.NewGoEnv(t, proxyDir, db.vkey+" "+db.server.URL)
	mod := filepath.Join(e.Work, "scratch")
	require.NoError(t, os.MkdirAll(mod, 0o777))
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/scratch\n\ngo 1.21\n"), 0o666))
	e.MustRun(mod, "get", "example.com/hello@v1.0.0")
	// Wait until the served checkpoint is cosigned by both, then go on.
	require.Eventually(t, func() bool { _, _, n := db.cosigning.Checkpoint(); return n == 2 }, 10*time.Second, 5*time.Millisecond)
	code, latest := httpGet(t, db.server.URL+"/latest")
	require.Equal(t, 200, code)
	require.Equal(t, 3, strings.Count(latest, "\n— "), "the log's signature and two cosignatures:\n%s", latest)
	e.MustRun(mod, "get", "example.com/hello@v1.1.0")
	require.Contains(t, e.MustRun(mod, "mod", "verify"), "all modules verified")
}
