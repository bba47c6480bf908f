package sumdbclient

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The crash child writes two signed tree heads alternately, forever.
func TestMain(m *testing.M) {
	if dir := os.Getenv("SUMDBCLIENT_CRASH_CHILD"); dir != "" {
		a, _ := os.ReadFile(filepath.Join(dir, "a"))
		b, _ := os.ReadFile(filepath.Join(dir, "b"))
		state := filepath.Join(dir, "state", "latest")
		for i := 0; ; i++ {
			msg := a
			if i%2 == 1 {
				msg = b
			}
			if err := writeFileAtomic(state, msg); err != nil {
				os.Exit(3)
			}
		}
	}
	os.Exit(m.Run())
}

// Killing the writer at any moment leaves the old or the new tree head
// in the state file, never a partial or zero-filled one, and a new client
// starts from it.
func TestStateSurvivesKill(t *testing.T) {
	l, _, url := setup(t, 300)
	a, b := l.signed(t, 10), l.signed(t, 299)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a"), a, 0o666))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b"), b, 0o666))
	rounds := 8
	if os.Getenv("TLOGKIT_LONG") == "1" {
		rounds = 300
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	seen := map[string]bool{}
	for i := 0; i < rounds; i++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "SUMDBCLIENT_CRASH_CHILD="+dir)
		require.NoError(t, cmd.Start())
		// Kill at a varying moment after the child has begun writing: a
		// slow start (the race detector, a loaded machine) must not turn
		// the test into one that never kills a writer.
		state := filepath.Join(dir, "state", "latest")
		for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(time.Millisecond) {
			if _, err := os.Stat(state); err == nil {
				break
			}
		}
		time.Sleep(time.Duration(i*7%40) * time.Millisecond)
		require.NoError(t, cmd.Process.Kill())
		cmd.Wait()
		got, err := os.ReadFile(state)
		require.NoError(t, err, "the child wrote no state in 30s")
		require.True(t, bytes.Equal(got, a) || bytes.Equal(got, b), "state file after kill: %q", got)
		seen[string(got)] = true
		src, _ := NewHTTPSource(url, nil)
		c, err := New(Options{Source: src, VerifierKey: l.vkey, StateDir: filepath.Join(dir, "state")})
		require.NoError(t, err)
		require.Contains(t, []int64{10, 299}, c.Latest().Tree.N)
	}
	require.NotEmpty(t, seen)
}
