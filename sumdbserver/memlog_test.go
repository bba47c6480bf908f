package sumdbserver_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

// testSKey/testVKey is the key of every test log (x/mod's note format).
const (
	testSKey = "PRIVATE+KEY+localhost.sumdb+04895a12+AUXzY03s7JU7+xdny/wKpbPs71bL53DqyjvKMyzrdUNU"
	testVKey = "localhost.sumdb+04895a12+ARWLjh0oAih6schGmy9BamD/2570PpEGDGYsxnGt6YdK"
	testName = "localhost.sumdb"
)

// memLog is a small in-memory sumdbserver.Log: records, stored hashes, a
// key index and a signed tree head re-signed after each append.
type memLog struct {
	mu      sync.Mutex
	signer  note.Signer
	records [][]byte
	hashes  []tlog.Hash
	keys    map[string]int64
	signed  []byte
	tree    tlog.Tree
	appends int
}

func newMemLog(skey string) *memLog {
	s, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	l := &memLog{signer: s, keys: map[string]int64{}}
	if err := l.sign(); err != nil {
		panic(err)
	}
	return l
}

func (l *memLog) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(l.hashes)) {
			return nil, fmt.Errorf("memlog: no hash %d", x)
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

func (l *memLog) sign() error {
	n := int64(len(l.records))
	h, err := tlog.TreeHash(n, l)
	if err != nil {
		return err
	}
	l.tree = tlog.Tree{N: n, Hash: h}
	l.signed, err = note.Sign(&note.Note{Text: string(note.FormatTree(l.tree))}, l.signer)
	return err
}

func (l *memLog) Checkpoint(ctx context.Context) ([]byte, tlog.Tree, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.signed, l.tree, nil
}

func (l *memLog) ReadRecords(ctx context.Context, start, n int64) ([][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if start < 0 || n < 0 || start+n > int64(len(l.records)) {
		return nil, fmt.Errorf("memlog: records %d+%d out of range", start, n)
	}
	return append([][]byte(nil), l.records[start:start+n]...), nil
}

func (l *memLog) Lookup(ctx context.Context, key string) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id, ok := l.keys[key]
	if !ok {
		return 0, fmt.Errorf("%w: %s", sumdbserver.ErrNotFound, key)
	}
	return id, nil
}

func (l *memLog) ReadTile(ctx context.Context, t tile.Tile) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return tile.ReadTileData(t, l)
}

func (l *memLog) AppendKeyed(ctx context.Context, key string, record []byte) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id, ok := l.keys[key]; ok {
		return id, nil
	}
	id := int64(len(l.records))
	hs, err := tlog.StoredHashesForRecordHash(id, tlog.RecordHash(record), l)
	if err != nil {
		return 0, err
	}
	l.hashes = append(l.hashes, hs...)
	l.records = append(l.records, append([]byte(nil), record...))
	l.keys[key] = id
	l.appends++
	return id, l.sign()
}

// fakeGoSum returns a deterministic, well-formed go.sum record for path@vers.
func fakeGoSum(path, vers string) []byte {
	h1 := sha256.Sum256([]byte(path + "@" + vers))
	h2 := sha256.Sum256([]byte(path + "@" + vers + "/go.mod"))
	return fmt.Appendf(nil, "%s %s h1:%s\n%s %s/go.mod h1:%s\n",
		path, vers, base64.StdEncoding.EncodeToString(h1[:]),
		path, vers, base64.StdEncoding.EncodeToString(h2[:]))
}
