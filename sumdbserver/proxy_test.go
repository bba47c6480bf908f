package sumdbserver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
)

func TestProxySource(t *testing.T) {
	dir := t.TempDir()
	mods := []module.Version{
		{Path: "example.com/hello", Version: "v1.0.0"},
		{Path: "github.com/Upper/Mod", Version: "v0.1.0-Beta"},
		{Path: "example.com/hello/v2", Version: "v2.3.4"},
		{Path: "example.com/old", Version: "v3.0.0+incompatible"},
		// +incompatible versions as the go command names them: no go.mod
		// in the zip, a synthesized .mod.
		{Path: "github.com/docker/docker", Version: "v24.0.7+incompatible"},
		{Path: "github.com/Azure/azure-sdk-for-go", Version: "v68.0.0+incompatible"},
		{Path: "github.com/docker/docker", Version: "v2.0.0-20200101000000-abcdefabcdef+incompatible"},
	}
	for _, m := range mods {
		files := map[string]string{"hello.go": "package hello\n", "sub/x.txt": "x " + m.String() + "\n"}
		if m.Path == "example.com/old" {
			files = map[string]string{"hello.go": "package old\n", "go.mod": "module " + m.Path + "\n"}
		}
		sumdbtest.WriteModule(t, dir, m, files)
	}

	fileProxy, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(dir))
	require.NoError(t, err)
	hs := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer hs.Close()
	httpProxy, err := sumdbserver.NewProxy(hs.URL)
	require.NoError(t, err)
	// The same lookups through the HTTP handler too, with the file:// source.
	srv, _ := newTestServer(t, sumdbserver.Config{Source: fileProxy})

	ctx := context.Background()
	for _, m := range mods {
		esc, _ := module.EscapePath(m.Path)
		escV, _ := module.EscapeVersion(m.Version)
		zipFile := filepath.Join(dir, esc, "@v", escV+".zip")
		modData, err := os.ReadFile(filepath.Join(dir, esc, "@v", escV+".mod"))
		require.NoError(t, err)
		// Expected lines computed independently with x/mod's dirhash.
		zh, err := dirhash.HashZip(zipFile, dirhash.DefaultHash)
		require.NoError(t, err)
		modDir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(modDir, "go.mod"), modData, 0o666))
		mh, err := dirhash.HashDir(modDir, "", dirhash.DefaultHash) // one file named "go.mod", no prefix
		require.NoError(t, err)
		want := m.Path + " " + m.Version + " " + zh + "\n" + m.Path + " " + m.Version + "/go.mod " + mh + "\n"
		for _, p := range []*sumdbserver.Proxy{fileProxy, httpProxy} {
			rec, err := p.GoSum(ctx, m)
			require.NoError(t, err, "%s via %s", m, p.URL)
			require.Equal(t, want, string(rec))
		}
		r := do(srv, "GET", lookupPath(m))
		require.Equal(t, 200, r.code, "%s: %s", m, r.body)
		_, text, _, err := note.ParseRecord(r.body)
		require.NoError(t, err)
		require.Equal(t, want, string(text), m.String())
	}

	// Absent versions and modules are ErrNotFound.
	for _, p := range []*sumdbserver.Proxy{fileProxy, httpProxy} {
		_, err := p.GoSum(ctx, module.Version{Path: "example.com/hello", Version: "v1.0.1"})
		require.ErrorIs(t, err, sumdbserver.ErrNotFound)
		_, err = p.GoSum(ctx, module.Version{Path: "example.com/nothere", Version: "v1.0.0"})
		require.ErrorIs(t, err, sumdbserver.ErrNotFound)
	}

	// Size limits.
	small := *fileProxy
	small.MaxZipSize = 100
	_, err = small.GoSum(ctx, mods[0])
	require.ErrorIs(t, err, sumdbserver.ErrInvalidModule)
	small = *httpProxy
	small.MaxModSize = 5
	_, err = small.GoSum(ctx, mods[0])
	require.ErrorIs(t, err, sumdbserver.ErrInvalidModule)

	// A zip of another module (wrong prefix) fails CheckZip.
	esc, _ := module.EscapePath(mods[1].Path)
	escV, _ := module.EscapeVersion(mods[1].Version)
	other, err := os.ReadFile(filepath.Join(dir, esc, "@v", escV+".zip"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "example.com/hello/@v/v1.0.0.zip"), other, 0o666))
	_, err = fileProxy.GoSum(ctx, mods[0])
	require.ErrorIs(t, err, sumdbserver.ErrInvalidModule)
	// A truncated zip too.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "example.com/hello/@v/v1.0.0.zip"), other[:len(other)/2], 0o666))
	_, err = fileProxy.GoSum(ctx, mods[0])
	require.ErrorIs(t, err, sumdbserver.ErrInvalidModule)
}

func TestProxyUpstreamStatus(t *testing.T) {
	for _, tt := range []struct {
		status int
		want   error
	}{
		{404, sumdbserver.ErrNotFound},
		{410, sumdbserver.ErrNotFound},
		{500, sumdbserver.ErrUpstream},
		{503, sumdbserver.ErrUpstream},
		{403, sumdbserver.ErrUpstream},
	} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no", tt.status)
		}))
		p, err := sumdbserver.NewProxy(hs.URL + "/")
		require.NoError(t, err)
		_, err = p.GoSum(context.Background(), module.Version{Path: "example.com/a", Version: "v1.0.0"})
		require.ErrorIs(t, err, tt.want, "status %d", tt.status)
		hs.Close()
	}
	// Connection refused.
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close()
	p, err := sumdbserver.NewProxy(url)
	require.NoError(t, err)
	_, err = p.GoSum(context.Background(), module.Version{Path: "example.com/a", Version: "v1.0.0"})
	require.ErrorIs(t, err, sumdbserver.ErrUpstream)

	for _, bad := range []string{"", "ftp://x", "https://", "file://host/x", "direct", "::"} {
		_, err := sumdbserver.NewProxy(bad)
		require.Error(t, err, bad)
	}
	require.Equal(t, "https://proxy.golang.org", sumdbserver.UpstreamFromGOPROXY(""))
	require.Equal(t, "https://proxy.golang.org", sumdbserver.UpstreamFromGOPROXY("direct"))
	require.Equal(t, "https://proxy.golang.org", sumdbserver.UpstreamFromGOPROXY("off"))
	require.Equal(t, "https://goproxy.example", sumdbserver.UpstreamFromGOPROXY("https://goproxy.example,direct"))
	require.Equal(t, "file:///p", sumdbserver.UpstreamFromGOPROXY("file:///p|https://x"))
}

// TestSlowUpstream: an upstream slower than FetchTimeout gives 502 and
// records nothing; a client that hangs up does not cancel the fetch.
func TestSlowUpstream(t *testing.T) {
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, "late", http.StatusServiceUnavailable)
	}))
	defer hs.Close()
	defer close(release)
	up, err := sumdbserver.NewProxy(hs.URL)
	require.NoError(t, err)
	l := newMemLog(testSKey)
	s, err := sumdbserver.NewServer(sumdbserver.Config{Log: l, Source: up, FetchTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	r := do(s, "GET", "/lookup/example.com/slow@v1.0.0")
	require.Equal(t, http.StatusBadGateway, r.code, "%s", r.body)
	require.Equal(t, 0, l.appends)

	// A request whose client gives up early gets no answer written
	// (503 for the canceled request), and the server stays usable.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", "/lookup/example.com/slow@v1.0.1", nil)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	require.NotEqual(t, http.StatusOK, rec.Code)
	require.Less(t, rec.Code, 600)
	require.NotEqual(t, http.StatusInternalServerError, rec.Code)
}
