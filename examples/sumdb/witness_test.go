package main

import (
	"crypto/rand"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
	"github.com/tlogkit/tlogkit/witness"
)

// TestWitnessFlag: with -witness, the served tree heads carry the
// witness's cosignature, and the go command still accepts them.
func TestWitnessFlag(t *testing.T) {
	proxyDir := t.TempDir()
	sumdbtest.WriteModule(t, proxyDir, module.Version{Path: "example.com/hello", Version: "v1.0.0"}, map[string]string{"hello.go": "package hello\n"})
	data := t.TempDir()
	args := []string{"-listen", "127.0.0.1:0", "-data", data, "-upstream", "file://" + filepath.ToSlash(proxyDir)}
	in := start(t, args...)
	require.NoError(t, in.stop())
	vkeyText, err := os.ReadFile(filepath.Join(data, "vkey"))
	require.NoError(t, err)
	logV, err := note.NewVerifier(strings.TrimSpace(string(vkeyText)))
	require.NoError(t, err)

	wskey, wvkey, err := note.GenerateCosignerKey(rand.Reader, "witness.example/w1")
	require.NoError(t, err)
	cs, err := note.NewCosigner(wskey, nil)
	require.NoError(t, err)
	w, err := witness.New(cs, []witness.Log{{Origin: note.SumDBOrigin, Verifiers: []note.Verifier{logV}}}, memstore.New(), nil)
	require.NoError(t, err)
	ws := httptest.NewServer(w)
	defer ws.Close()

	in = start(t, append(args, "-witness", ws.URL+"="+wvkey, "-cosign-interval", "10ms")...)
	m := gosumdbLine.FindStringSubmatch(in.stdout.String())
	require.NotNil(t, m)
	e := sumdbtest.NewGoEnv(t, proxyDir, m[1]+" "+m[2])
	e.MustRun(e.Work, "mod", "download", "-json", "example.com/hello@v1.0.0")
	policy := note.CosignaturePolicy{Cosigners: []note.Verifier{cs.Verifier()}, K: 1}
	require.Eventually(t, func() bool {
		code, body := get(t, "http://"+in.addr+"/latest")
		return code == 200 && strings.Contains(body, "\n1\n") && policy.Check([]byte(body)) == nil
	}, 10*time.Second, 10*time.Millisecond, "a cosigned tree head of size 1")
	e2 := sumdbtest.NewGoEnv(t, proxyDir, m[1]+" "+m[2])
	e2.MustRun(e2.Work, "mod", "download", "-json", "example.com/hello@v1.0.0")
}
