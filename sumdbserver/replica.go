package sumdbserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/tile"
)

// A replica serves a log that another process writes: a read-only
// *storage.Log on a shared backend (storage/pgstore). It answers every
// lookup of a logged module version itself; a lookup of a new one goes to
// the writer (a Forwarder as the Source), which fetches and logs it, and
// the replica answers once it has read the writer's new checkpoint from
// the backend and found the key in it. The writer's answer is only a
// trigger: what the replica serves comes from the backend, checked
// against the log's key like everything a read-only Log publishes.

// ReplicaLog returns the [Log] of a read-only *storage.Log: reads as
// [StorageLog], and an AppendKeyed that logs nothing but waits (refreshing
// the log every few milliseconds, until ctx ends) for key to appear in
// the published tree, where the writer puts it.
func ReplicaLog(l *storage.Log) Log { return replicaLog{storageLog{l}} }

type replicaLog struct{ storageLog }

func (r replicaLog) AppendKeyed(ctx context.Context, key string, record []byte) (int64, error) {
	delay := time.Millisecond
	for {
		if _, err := r.l.Refresh(ctx); err != nil && ctx.Err() == nil {
			return 0, err
		}
		i, err := r.Lookup(ctx, key)
		if !errors.Is(err, ErrNotFound) {
			return i, err
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%w: %s was not logged by the writer in time: %w", ErrUpstream, key, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// A Forwarder is the Source of a replica: it sends the lookup of a module
// version the replica does not hold to the log's writer (a checksum
// database server), which fetches and logs it.
type Forwarder struct {
	// URL is the writer's base URL, such as http://writer:8080.
	URL string
	// Client makes the requests (default http.DefaultClient).
	Client *http.Client
}

// NewForwarder returns a Forwarder to the writer at base (http or https).
func NewForwarder(base string) (*Forwarder, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("sumdbserver: writer URL %q: want http(s)://host[:port][/path]", base)
	}
	return &Forwarder{URL: strings.TrimSuffix(base, "/")}, nil
}

// maxLookupBody bounds the writer's answer to a lookup: a record and a
// signed tree head, with room for many signatures.
const maxLookupBody = note.MaxRecordSize + 64<<10

// GoSum asks the writer to look m up and returns the record it logged.
func (f *Forwarder) GoSum(ctx context.Context, m module.Version) ([]byte, error) {
	escPath, escVers, err := escapeModule(m)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", f.URL+"/lookup/"+escPath+"@"+escVers, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUpstream, err)
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: writer: %v", ErrUpstream, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLookupBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: writer: %v", ErrUpstream, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("%w: writer: %s", ErrNotFound, bytes.TrimSpace(firstLine(body)))
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: writer answered %s", ErrUpstream, resp.Status)
	case len(body) > maxLookupBody:
		return nil, fmt.Errorf("%w: writer's answer is over %d bytes", ErrUpstream, maxLookupBody)
	}
	// "<id>\n<record>\n<signed tree head>": the record ends at the
	// blank line before the note.
	idLine, rest, ok := bytes.Cut(body, []byte("\n"))
	if _, err := strconv.ParseInt(string(idLine), 10, 64); !ok || err != nil {
		return nil, fmt.Errorf("%w: malformed lookup answer from the writer", ErrUpstream)
	}
	end := bytes.Index(rest, []byte("\n\n"))
	if end < 0 || !tile.ValidRecordText(rest[:end+1]) {
		return nil, fmt.Errorf("%w: malformed lookup answer from the writer", ErrUpstream)
	}
	return rest[:end+1], nil
}

func firstLine(b []byte) []byte {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if len(line) > 256 {
		line = line[:256]
	}
	return line
}
