package goproxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/sumdbserver"
)

// An IndexEntry is one line of /index, as index.golang.org writes them.
type IndexEntry = sumdbserver.IndexEntry

// index is the list of verified versions: a file of JSON lines, each
// appended and synced before the version is served, and loaded at start
// (a torn last line from a crash is dropped).
type index struct {
	mu      sync.Mutex
	f       *os.File
	entries []IndexEntry // in order of Timestamp
	seen    map[module.Version]bool
}

func openIndex(name string) (*index, error) {
	ix := &index{seen: map[module.Version]bool{}}
	if f, err := os.Open(name); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e IndexEntry
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				continue // a torn line
			}
			ix.insert(e)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("goproxy: reading index: %w", err)
		}
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	// A torn last line must not glue onto the next entry.
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		f.Write([]byte("\n"))
	}
	ix.f = f
	return ix, nil
}

func (ix *index) insert(e IndexEntry) {
	m := module.Version{Path: e.Path, Version: e.Version}
	if ix.seen[m] {
		return
	}
	ix.seen[m] = true
	i := sort.Search(len(ix.entries), func(i int) bool { return ix.entries[i].Timestamp.After(e.Timestamp) })
	ix.entries = append(ix.entries, IndexEntry{})
	copy(ix.entries[i+1:], ix.entries[i:])
	ix.entries[i] = e
}

func (ix *index) add(m module.Version, t time.Time) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.seen[m] {
		return nil
	}
	e := IndexEntry{Path: m.Path, Version: m.Version, Timestamp: t.UTC()}
	line, _ := json.Marshal(e)
	if _, err := ix.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("goproxy: writing index: %w", err)
	}
	if err := ix.f.Sync(); err != nil {
		return fmt.Errorf("goproxy: syncing index: %w", err)
	}
	ix.insert(e)
	return nil
}

// since returns up to limit entries with Timestamp at or after t.
func (ix *index) since(t time.Time, limit int) []IndexEntry {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	i := sort.Search(len(ix.entries), func(i int) bool { return !ix.entries[i].Timestamp.Before(t) })
	end := min(len(ix.entries), i+limit)
	return append([]IndexEntry(nil), ix.entries[i:end]...)
}

func (ix *index) close() error { return ix.f.Close() }

// ParseIndex parses an /index answer (of this mirror or of
// index.golang.org): newline-delimited JSON entries, at most MaxIndex.
func ParseIndex(data []byte) ([]IndexEntry, error) {
	var out []IndexEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		if len(out) == MaxIndex {
			return nil, fmt.Errorf("goproxy: index answer of more than %d entries", MaxIndex)
		}
		var e IndexEntry
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("goproxy: index entry %d: %w", len(out)+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}
