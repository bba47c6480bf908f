package sumdbclient

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Read lets a testServer act as a Source without HTTP.
func (s *testServer) Read(ctx context.Context, path string, max int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, code := s.serve(path)
	if code == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("status %d", code)
	}
	if s.mutate != nil {
		body = s.mutate(path, body)
	}
	if int64(len(body)) > max {
		return nil, ErrTooLarge
	}
	return body, nil
}

// FuzzLookupResponse serves arbitrary bytes as the /lookup response of
// an honest log: the client either fails or returns exactly the lines of
// the genuine record.
func FuzzLookupResponse(f *testing.F) {
	s, vkey := newKey(f, "sum.example.com")
	l := newTestLog(f, s, vkey)
	l.fill(f, 300, "")
	srv := &testServer{t: f, log: l, n: 300}
	genuine, _ := srv.serve("/lookup/example.com/m5@v1.0.0")
	other, _ := srv.serve("/lookup/example.com/m6@v1.0.0")
	f.Add(genuine)
	f.Add(other)
	f.Add([]byte(strings.Replace(string(genuine), "5\n", "6\n", 1)))
	f.Add([]byte(strings.Replace(string(genuine), "go.sum database tree\n", "example.com/m5 v1.0.0 h1:AAAA\ngo.sum database tree\n", 1)))
	f.Add([]byte("-1\n" + string(genuine[2:])))
	f.Add([]byte("<html></html>"))
	want := wantLines(l, "example.com/m5")
	f.Fuzz(func(t *testing.T, body []byte) {
		fs := &testServer{t: t, log: l, n: 300, mutate: func(p string, b []byte) []byte {
			if strings.HasPrefix(p, "/lookup/") {
				return body
			}
			return b
		}}
		c, err := New(Options{Source: fs, VerifierKey: vkey})
		require.NoError(t, err)
		lines, err := c.Lookup(context.Background(), "example.com/m5", "v1.0.0")
		if err != nil {
			require.Nil(t, lines)
			require.NotErrorIs(t, err, ErrSecurity)
			return
		}
		require.Equal(t, want, lines)
	})
}

func FuzzRecordLines(f *testing.F) {
	f.Add("m v1 h1:AAAA\nm v1/go.mod h1:AAAA\n", "m", "v1", false)
	f.Add("m v1 h1:AAAA\n", "m", "v1", true)
	f.Add("m v1/go.mod h1:AAAA\n", "m", "v1", true)
	f.Add("m v1 h1:AAAA\nn v1 h1:AAAA\n", "m", "v1", false)
	f.Fuzz(func(t *testing.T, text, mod, ver string, goMod bool) {
		lines, err := recordLines([]byte(text), mod, ver, goMod)
		if err != nil {
			require.Nil(t, lines)
			require.ErrorIs(t, err, ErrWrongRecord)
			return
		}
		require.NotEmpty(t, lines)
		for _, line := range lines {
			require.True(t, strings.HasPrefix(line, mod+" "+ver+" ") || strings.HasPrefix(line, mod+" "+ver+"/go.mod "), line)
			require.Contains(t, text, line+"\n")
			if goMod {
				require.True(t, strings.HasPrefix(line, mod+" "+ver+"/go.mod "))
			}
		}
	})
}
