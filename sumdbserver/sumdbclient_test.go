package sumdbserver_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tlogkit/tlogkit/sumdbclient"
	"github.com/tlogkit/tlogkit/sumdbserver"
)

// TestSumdbClient verifies lookups with our own verifying client against
// the handler over HTTP, on both logs, while the tree grows; a restarted
// client keeps its timeline in a state directory.
func TestSumdbClient(t *testing.T) {
	for _, impl := range []string{"memlog", "storage"} {
		t.Run(impl, func(t *testing.T) {
			var l sumdbserver.Log = newMemLog(testSKey)
			if impl == "storage" {
				l = newStorageLog(t)
			}
			s, err := sumdbserver.NewServer(sumdbserver.Config{Log: l, Source: fakeSource(nil), C2SP: true})
			require.NoError(t, err)
			ts := httptest.NewServer(s)
			defer ts.Close()
			state := t.TempDir()
			newClient := func() *sumdbclient.Client {
				src, err := sumdbclient.NewHTTPSource(ts.URL, ts.Client())
				require.NoError(t, err)
				c, err := sumdbclient.New(sumdbclient.Options{Source: src, VerifierKey: testVKey, StateDir: state})
				require.NoError(t, err)
				return c
			}
			c := newClient()
			ctx := context.Background()
			for i := range 300 {
				m := modName(i)
				lines, err := c.Lookup(ctx, m.Path, m.Version)
				require.NoError(t, err, "lookup %v", m)
				want := strings.Split(strings.TrimSuffix(string(fakeGoSum(m.Path, m.Version)), "\n"), "\n")
				require.Equal(t, want, lines)
				if i%100 == 99 || i == 256 {
					c = newClient()
					require.Equal(t, int64(i+1), c.Latest().Tree.N, "state kept across clients")
				}
			}
			// Old records, looked up again in a grown tree.
			for i := 0; i < 300; i += 41 {
				m := modName(i)
				_, err := c.Lookup(ctx, m.Path, m.Version)
				require.NoError(t, err)
			}
			_, err = c.Lookup(ctx, "missing.example/x", "v1.0.0")
			require.Error(t, err)
		})
	}
}
