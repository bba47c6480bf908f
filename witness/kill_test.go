package witness_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/witness"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("TLOGKIT_WITNESS_CHILD"); dir != "" {
		os.Exit(child(dir))
	}
	os.Exit(m.Run())
}

// child serves a witness on the pebble store in dir (key in dir/key,
// log keys of storagetest's "log1") and prints its address.
func child(dir string) int {
	skey, err := os.ReadFile(dir + "/key")
	if err != nil {
		return 2
	}
	cs, err := note.NewCosigner(string(skey), nil)
	if err != nil {
		return 2
	}
	st, err := pebblestore.Open(dir+"/store", nil)
	if err != nil {
		return 2
	}
	_, v := storagetest.Keys("log1")
	w, err := witness.New(cs, []witness.Log{{Origin: "example.com/log1", Verifiers: []note.Verifier{v}}}, st, nil)
	if err != nil {
		return 2
	}
	srv := httptest.NewUnstartedServer(w)
	srv.Start()
	println("addr", srv.URL)
	select {}
}

// TestKillWitness: kill -9 the witness process while the log submits
// checkpoints; reopened, it holds a size at least the last one it
// cosigned (never behind a cosignature it gave), whose checkpoint is one
// the log submitted, and it cosigns on from there.
func TestKillWitness(t *testing.T) {
	if testing.Short() {
		t.Skip("runs witness processes")
	}
	dir := t.TempDir()
	skey, _, err := note.GenerateCosignerKey(rand.Reader, "witness.example/w1")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dir+"/key", []byte(skey), 0o600))
	tl := newTestLog(t, "log1")
	rounds := 3
	if os.Getenv("TLOGKIT_LONG") == "1" {
		rounds = 20
	}
	var acked int64
	submitted := map[int64]string{} // size -> checkpoint text
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run", "^$")
		cmd.Env = append(os.Environ(), "TLOGKIT_WITNESS_CHILD="+dir)
		out, err := cmd.StderrPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		sc := bufio.NewScanner(out)
		require.True(t, sc.Scan(), "child did not start")
		url := strings.TrimPrefix(sc.Text(), "addr ")

		deadline := time.After(time.Duration(50+round*17%40) * time.Millisecond)
	loop:
		for {
			select {
			case <-deadline:
				break loop
			default:
			}
			signed, tree := tl.grow(3)
			text, _, _ := strings.Cut(string(signed), "\n\n")
			submitted[tree.N] = text + "\n"
			resp, err := http.Post(url+"/add-checkpoint", "text/plain", bytes.NewReader(tl.request(acked)))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode)
			acked = tree.N
		}
		// One more request in flight while the process dies.
		tl.grow(3)
		signed, tree := tl.l.Checkpoint()
		text, _, _ := strings.Cut(string(signed), "\n\n")
		submitted[tree.N] = text + "\n"
		go http.Post(url+"/add-checkpoint", "text/plain", bytes.NewReader(tl.request(acked)))
		time.Sleep(time.Duration(round%3) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()

		st, err := pebblestore.Open(dir+"/store", nil)
		require.NoError(t, err)
		cs, _ := note.NewCosigner(skey, nil)
		_, v := storagetest.Keys("log1")
		w, err := witness.New(cs, []witness.Log{{Origin: "example.com/log1", Verifiers: []note.Verifier{v}}}, st, nil)
		require.NoError(t, err)
		latest, err := w.Latest(context.Background(), "example.com/log1")
		require.NoError(t, err)
		c, err := note.ParseCheckpoint(latest)
		require.NoError(t, err)
		require.GreaterOrEqual(t, c.N, acked, "round %d: the witness is behind a size it cosigned", round)
		require.Equal(t, submitted[c.N], string(latest), "round %d: stored state is not a submitted checkpoint", round)
		acked = c.N
		require.NoError(t, w.Close())
	}
}
