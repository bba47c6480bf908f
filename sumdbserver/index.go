package sumdbserver

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/tlogkit/tlogkit/storage"
)

// MaxIndex is the most entries one module index answer holds, as at
// index.golang.org.
const MaxIndex = 2000

// An IndexEntry is one line of a module index, in index.golang.org's
// format: a module version and the time it was logged.
type IndexEntry struct {
	Path      string
	Version   string
	Timestamp time.Time
}

// LogIndex returns up to limit (at most MaxIndex) module versions of the
// checksum database log l that were logged at or after since, in the
// order they were logged, each with the time it was logged (storage's
// record times; see storage.Log.Times). Every record of the published
// tree is one entry, so paging by the last Timestamp seen lists every
// version added to the log exactly once (the last one of a page again).
func LogIndex(ctx context.Context, l *storage.Log, since time.Time, limit int) ([]IndexEntry, error) {
	limit = min(max(limit, 0), MaxIndex)
	start, err := l.LoggedSince(ctx, since)
	if err != nil {
		return nil, err
	}
	_, tree := l.Checkpoint()
	n := min(int64(limit), tree.N-start)
	if n <= 0 {
		return []IndexEntry{}, nil
	}
	recs, err := l.ReadRecords(ctx, start, n)
	if err != nil {
		return nil, err
	}
	times, err := l.Times(ctx, start, n)
	if err != nil {
		return nil, err
	}
	out := make([]IndexEntry, 0, n)
	for i, rec := range recs {
		path, vers, ok := recordVersion(rec)
		if !ok {
			return nil, fmt.Errorf("sumdbserver: record %d is not a go.sum record", start+int64(i))
		}
		out = append(out, IndexEntry{Path: path, Version: vers, Timestamp: times[i]})
	}
	return out, nil
}

// recordVersion returns the module path and version of a checksum
// database record: its first line is "<path> <version> h1:<hash>".
func recordVersion(rec []byte) (path, vers string, ok bool) {
	line, _, _ := bytes.Cut(rec, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) != 3 {
		return "", "", false
	}
	return string(f[0]), string(f[1]), true
}
