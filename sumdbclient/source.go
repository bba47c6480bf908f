package sumdbclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A Source serves the checksum database's URL space: "/latest",
// "/lookup/<escaped module>@<escaped version>" and "/tile/8/...".
// Everything it returns is untrusted; the [Client] authenticates it.
type Source interface {
	// Read returns the content at path, which starts with "/". It reads
	// at most max bytes and fails with ErrTooLarge beyond that. It fails
	// with an error wrapping ErrNotFound if the path does not exist.
	Read(ctx context.Context, path string, max int64) ([]byte, error)
}

// NewSource returns an HTTP source for a location starting with "http://"
// or "https://", and a directory source otherwise.
func NewSource(location string) (Source, error) {
	if strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://") {
		return NewHTTPSource(location, nil)
	}
	st, err := os.Stat(location)
	if err != nil {
		return nil, fmt.Errorf("sumdbclient: source: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("sumdbclient: source %s is not a directory", location)
	}
	return NewDirSource(location), nil
}

// HTTPSource reads from a checksum database server.
type HTTPSource struct {
	base   string
	client *http.Client
}

// DefaultTimeout bounds each HTTP request of an [HTTPSource] made with a
// nil *http.Client.
const DefaultTimeout = 30 * time.Second

// NewHTTPSource returns a source reading from the server at base, for
// example "https://sum.golang.org", or a proxy's copy of it such as
// "https://proxy.golang.org/sumdb/sum.golang.org" (paths are appended). A nil client means a client with
// [DefaultTimeout] per request that follows no redirects to other schemes.
func NewHTTPSource(base string, client *http.Client) (*HTTPSource, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("sumdbclient: invalid server URL %q", base)
	}
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	return &HTTPSource{base: strings.TrimSuffix(base, "/"), client: client}, nil
}

// Read implements [Source].
func (s *HTTPSource) Read(ctx context.Context, path string, max int64) ([]byte, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("sumdbclient: invalid path %q", path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("sumdbclient: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sumdbclient: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%w: GET %s: %s", ErrNotFound, path, resp.Status)
	case resp.StatusCode != http.StatusOK:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("sumdbclient: GET %s: %s", path, resp.Status)
	}
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%w: GET %s: %d bytes, limit %d", ErrTooLarge, path, resp.ContentLength, max)
	}
	return readLimitedSize(resp.Body, path, max, resp.ContentLength)
}

func readLimited(r io.Reader, path string, max int64) ([]byte, error) {
	return readLimitedSize(r, path, max, -1)
}

// readLimitedSize is readLimited with the expected size, if known (>= 0),
// read into one buffer of that size.
func readLimitedSize(r io.Reader, path string, max, size int64) ([]byte, error) {
	var data []byte
	var err error
	if size >= 0 && size <= max {
		lr := io.LimitReader(r, max+1)
		data = make([]byte, size+1)
		var n int
		n, err = io.ReadFull(lr, data)
		data = data[:n]
		switch {
		case (err == io.EOF || err == io.ErrUnexpectedEOF) && int64(n) == size:
			err = nil
		case err == nil: // more than announced
			var rest []byte
			rest, err = io.ReadAll(lr)
			data = append(data, rest...)
		}
	} else {
		data, err = io.ReadAll(io.LimitReader(r, max+1))
	}
	if err != nil {
		return nil, fmt.Errorf("sumdbclient: reading %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: %s: more than %d bytes", ErrTooLarge, path, max)
	}
	return data, nil
}

// DirSource reads a directory laid out like the server's URL space, as
// the go command's module cache keeps it
// ($GOMODCACHE/cache/download/sumdb/sum.golang.org).
type DirSource struct {
	dir string
}

// NewDirSource returns a source reading the directory dir.
func NewDirSource(dir string) *DirSource { return &DirSource{dir: dir} }

// Read implements [Source].
func (s *DirSource) Read(ctx context.Context, path string, max int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rel, ok := strings.CutPrefix(path, "/")
	if !ok || !fs.ValidPath(rel) || strings.Contains(rel, "\\") {
		return nil, fmt.Errorf("sumdbclient: invalid path %q", path)
	}
	f, err := os.Open(filepath.Join(s.dir, filepath.FromSlash(rel)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
		}
		return nil, fmt.Errorf("sumdbclient: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNotFound, path)
	}
	return readLimited(f, path, max)
}
