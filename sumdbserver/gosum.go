package sumdbserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"

	"github.com/tlogkit/tlogkit/internal/modcheck"
)

// A Source computes the go.sum record of a module version that the log does
// not hold yet. Errors should wrap ErrNotFound (no such module version),
// ErrInvalidModule (unusable content) or ErrUpstream (try again later).
type Source interface {
	// GoSum returns the record text for m: the two go.sum lines
	// "<path> <version> h1:...\n<path> <version>/go.mod h1:...\n".
	GoSum(ctx context.Context, m module.Version) ([]byte, error)
}

// SourceFunc adapts a function to the Source interface.
type SourceFunc func(ctx context.Context, m module.Version) ([]byte, error)

// GoSum calls f(ctx, m).
func (f SourceFunc) GoSum(ctx context.Context, m module.Version) ([]byte, error) { return f(ctx, m) }

// Limits of a Proxy's downloads.
const (
	// DefaultMaxZipSize is the go command's limit on a module zip (500 MiB).
	DefaultMaxZipSize = modzip.MaxZipFile
	// DefaultMaxModSize is the go command's limit on a go.mod file (16 MiB).
	DefaultMaxModSize = modzip.MaxGoMod
)

// A Proxy is a Source that downloads module versions from a module proxy
// speaking the GOPROXY protocol (https://, http:// or file:// URLs), checks
// the zip as the go command does and hashes it as the go command does.
type Proxy struct {
	// URL is the proxy's base URL, e.g. https://proxy.golang.org or
	// file:///srv/goproxy.
	URL string

	// Client makes the HTTP requests (default: a client with no overall
	// timeout; the context passed to GoSum bounds each fetch).
	Client *http.Client

	// MaxZipSize and MaxModSize bound the .zip and .mod downloads
	// (defaults DefaultMaxZipSize and DefaultMaxModSize).
	MaxZipSize int64
	MaxModSize int64

	// TempDir holds the zip while it is checked (default os.TempDir()).
	TempDir string
}

// NewProxy returns a Proxy for the GOPROXY-protocol URL base.
func NewProxy(base string) (*Proxy, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("sumdbserver: proxy URL: %w", err)
	}
	switch u.Scheme {
	case "https", "http":
		if u.Host == "" {
			return nil, fmt.Errorf("sumdbserver: proxy URL %q has no host", base)
		}
	case "file":
		if u.Path == "" || u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("sumdbserver: proxy URL %q: want file:///absolute/path", base)
		}
	default:
		return nil, fmt.Errorf("sumdbserver: proxy URL %q: scheme must be https, http or file", base)
	}
	return &Proxy{URL: strings.TrimSuffix(base, "/")}, nil
}

// escapeModule checks m as the go command does and returns its escaped
// path and version, for URLs; a bad m is ErrInvalidModule.
func escapeModule(m module.Version) (path, version string, err error) {
	if err := modcheck.Check(m.Path, m.Version); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrInvalidModule, err)
	}
	if path, err = module.EscapePath(m.Path); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrInvalidModule, err)
	}
	if version, err = module.EscapeVersion(m.Version); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrInvalidModule, err)
	}
	return path, version, nil
}

// GoSum downloads m's .mod and .zip and returns its go.sum record.
func (p *Proxy) GoSum(ctx context.Context, m module.Version) ([]byte, error) {
	escPath, escVers, err := escapeModule(m)
	if err != nil {
		return nil, err
	}
	maxMod, maxZip := p.MaxModSize, p.MaxZipSize
	if maxMod <= 0 {
		maxMod = DefaultMaxModSize
	}
	if maxZip <= 0 {
		maxZip = DefaultMaxZipSize
	}
	rel := escPath + "/@v/" + escVers

	var mod bytes.Buffer
	if err := p.Get(ctx, rel+".mod", &mod, maxMod); err != nil {
		return nil, fmt.Errorf("%w (%s .mod)", err, m)
	}
	f, err := os.CreateTemp(p.TempDir, "sumdbserver-*.zip")
	if err != nil {
		return nil, fmt.Errorf("sumdbserver: temporary zip: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := p.Get(ctx, rel+".zip", f, maxZip); err != nil {
		return nil, fmt.Errorf("%w (%s .zip)", err, m)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sumdbserver: temporary zip: %w", err)
	}
	return GoSumRecord(m, f.Name(), mod.Bytes())
}

// GoSumRecord checks the module zip file zipFile of m as the go command does
// (golang.org/x/mod/zip.CheckZip: file names, sizes, module prefix) and
// returns m's go.sum record, whose two lines are exactly what the go command
// writes to go.sum: the h1: hash of the zip's file tree, and the h1: hash of
// modFile as the single file "go.mod".
func GoSumRecord(m module.Version, zipFile string, modFile []byte) ([]byte, error) {
	if _, err := modzip.CheckZip(m, zipFile); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModule, m, err)
	}
	zipHash, err := dirhash.HashZip(zipFile, dirhash.Hash1)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModule, m, err)
	}
	modHash := GoModHash(modFile)
	rec := fmt.Appendf(nil, "%s %s %s\n%s %s/go.mod %s\n", m.Path, m.Version, zipHash, m.Path, m.Version, modHash)
	return rec, nil
}

// GoModHash returns the h1: hash of a go.mod file as the go command writes
// it on the "/go.mod" line of go.sum.
func GoModHash(modFile []byte) string {
	h, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(modFile)), nil
	})
	if err != nil {
		panic("sumdbserver: hashing in-memory go.mod cannot fail: " + err.Error())
	}
	return h
}

// Get copies the proxy file rel (such as "example.com/m/@v/list", an
// escaped path) into w, failing with an error wrapping ErrNotFound for a
// 404 or 410, ErrInvalidModule if it is larger than max, and ErrUpstream
// for any other failure.
func (p *Proxy) Get(ctx context.Context, rel string, w io.Writer, max int64) error {
	var body io.ReadCloser
	if dir, ok := strings.CutPrefix(p.URL, "file://"); ok {
		u, err := url.Parse(p.URL)
		if err == nil {
			dir = u.Path
		}
		f, err := os.Open(filepath.Join(filepath.FromSlash(dir), filepath.FromSlash(rel)))
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrNotFound, rel)
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUpstream, err)
		}
		body = f
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/"+rel, nil)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUpstream, err)
		}
		client := p.Client
		if client == nil {
			client = &http.Client{}
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUpstream, err)
		}
		switch {
		case resp.StatusCode == http.StatusOK:
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
			resp.Body.Close()
			return fmt.Errorf("%w: %s: %s", ErrNotFound, rel, resp.Status)
		default:
			resp.Body.Close()
			return fmt.Errorf("%w: %s: %s", ErrUpstream, rel, resp.Status)
		}
		if resp.ContentLength > max {
			resp.Body.Close()
			return fmt.Errorf("%w: %s is %d bytes, more than the limit %d", ErrInvalidModule, rel, resp.ContentLength, max)
		}
		body = resp.Body
	}
	defer body.Close()
	n, err := io.Copy(w, io.LimitReader(ctxReader{ctx, body}, max+1))
	if err != nil {
		return fmt.Errorf("%w: reading %s: %v", ErrUpstream, rel, err)
	}
	if n > max {
		return fmt.Errorf("%w: %s is more than the limit of %d bytes", ErrInvalidModule, rel, max)
	}
	return nil
}

// ctxReader stops reading once ctx is done (file:// reads have no other
// deadline).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// UpstreamFromGOPROXY returns the first proxy URL of a GOPROXY value, or
// https://proxy.golang.org if it lists none ("direct", "off" or empty).
func UpstreamFromGOPROXY(goproxy string) string {
	first, _, _ := strings.Cut(goproxy, ",")
	first, _, _ = strings.Cut(first, "|")
	first = strings.TrimSpace(first)
	if first == "" || first == "direct" || first == "off" {
		return "https://proxy.golang.org"
	}
	return first
}
