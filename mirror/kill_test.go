package mirror_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/mirror"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/sumdbclient"
)

// The kill child mirrors the origin at $MIRROR_KILL_URL into the pebble
// store $MIRROR_KILL_DIR, in small batches, and exits.
func TestMain(m *testing.M) {
	if dir := os.Getenv("MIRROR_KILL_DIR"); dir != "" {
		if err := importOnce(dir, os.Getenv("MIRROR_KILL_URL"), os.Getenv("MIRROR_KILL_VKEY")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func importOnce(dir, url, vkey string) error {
	st, err := pebblestore.Open(dir, nil)
	if err != nil {
		return err
	}
	src, err := sumdbclient.NewHTTPSource(url, nil)
	if err != nil {
		return err
	}
	m, err := mirror.Open(context.Background(), st, mirror.Options{Source: src, VerifierKey: vkey, BatchRecords: 256})
	if err != nil {
		return err
	}
	defer m.Close()
	_, err = m.Sync(context.Background())
	return err
}

// scanAll returns every key and value of the pebble store in dir.
func scanAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	st, err := pebblestore.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	kv := map[string]string{}
	err = st.Scan(context.Background(), nil, nil, func(k, v []byte) error {
		kv[string(k)] = string(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// TestKill9: a child process importing the origin is killed (SIGKILL) at
// varying moments, many times; each restart resumes, and the final store
// holds exactly the keys and values of an uninterrupted import.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	rounds, n := 6, int64(20000)
	if os.Getenv("TLOGKIT_LONG") != "" {
		rounds, n = 30, 100000
	}
	skey, vkey := newKey(t)
	o := newOrigin(t, skey, vkey, nil)
	o.grow(t, n, "")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "killed")
	run := func(kill time.Duration) (killed bool) {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "MIRROR_KILL_DIR="+dir, "MIRROR_KILL_URL="+o.srv.URL, "MIRROR_KILL_VKEY="+vkey)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if kill > 0 {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("child: %v\n%s", err, stderr.Bytes())
				}
				return false
			case <-time.After(kill):
				cmd.Process.Kill()
				<-done
				return true
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("child: %v\n%s", err, stderr.Bytes())
		}
		return false
	}
	kills := 0
	for i := range rounds {
		if run(time.Duration(30+i*37%200) * time.Millisecond) {
			kills++
		}
	}
	run(0)
	t.Logf("%d of %d children killed before they finished", kills, rounds)
	if kills == 0 {
		t.Fatal("no child was killed mid-import: make the origin bigger")
	}

	ref := filepath.Join(t.TempDir(), "ref")
	if err := importOnce(ref, o.srv.URL, vkey); err != nil {
		t.Fatal(err)
	}
	got, want := scanAll(t, dir), scanAll(t, ref)
	if len(got) != len(want) {
		t.Fatalf("killed store has %d keys, uninterrupted %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %x differs after the kills", k)
		}
	}
}
