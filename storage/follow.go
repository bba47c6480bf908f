package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/tlogkit/tlogkit/internal/sha256x"
	"github.com/tlogkit/tlogkit/tlog"
)

// ErrReadOnly: the Log was opened with Options.ReadOnly and does not
// append.
var ErrReadOnly = errors.New("storage: log is read-only")

// A read-only Log (Options.ReadOnly) serves a log that another process
// writes into a shared backend (storage/pgstore). It publishes a
// checkpoint only after reading it from the backend, where the writer
// stored it in the commit that made its tree durable, and only after
// checking, like Open, that it is signed by Options.Verifier for
// Options.Origin, that the stored right edge hashes to it, and that its
// tree contains the tree published before: a store that was rolled back or
// forked under the reader stops it (Stats.Stopped, wrapping ErrRollback)
// while the last good tree is still served.

// Refresh reads the backend's latest checkpoint and, if it is new,
// checks and publishes it; it returns the published tree. A writable Log
// publishes its own commits and only returns its tree. After an error
// other than a rollback or fork, the published tree stays what it was and
// Refresh may be tried again; a rollback or fork stops a read-only log.
func (l *Log) Refresh(ctx context.Context) (tlog.Tree, error) {
	cur := l.snap.Load()
	if !l.opts.ReadOnly {
		return cur.tree, nil
	}
	l.refreshMu.Lock()
	defer l.refreshMu.Unlock()
	if err := l.readable(); err != nil {
		return cur.tree, err
	}
	tree, err := l.refresh(ctx)
	if err != nil {
		l.stats.refreshErrors.Add(1)
		if errors.Is(err, ErrRollback) {
			err = l.stop(err)
		}
		return tree, err
	}
	l.stats.refreshed.Store(time.Now().UnixNano())
	return tree, nil
}

// readable reports why a read-only log no longer follows: closed or
// stopped.
func (l *Log) readable() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	return l.stopErr
}

func (l *Log) refresh(ctx context.Context) (tlog.Tree, error) {
	cur := l.snap.Load()
	signed, err := l.b.Get(ctx, keyCheckpoint)
	if err != nil {
		return cur.tree, fmt.Errorf("storage: reading checkpoint: %w", err)
	}
	if bytes.Equal(signed, cur.checkpoint) {
		return cur.tree, nil
	}
	tree, err := l.openCheckpoint(signed)
	if err != nil {
		return cur.tree, fmt.Errorf("storage: stored checkpoint: %w", err)
	}
	if tree.N < cur.tree.N {
		return cur.tree, fmt.Errorf("%w: stored checkpoint has %d records, %d were published", ErrRollback, tree.N, cur.tree.N)
	}
	e, err := l.readEdge(ctx, tree)
	if err != nil {
		return cur.tree, err
	}
	s := &snapshot{tree: tree, checkpoint: signed, rows: e.rows}
	// The new tree must contain the published one.
	h, err := l.treeHash(ctx, s, cur.tree.N)
	if err != nil {
		return cur.tree, err
	}
	if h != cur.tree.Hash {
		return cur.tree, fmt.Errorf("%w: stored tree of size %d hashes to %v at size %d, the published tree is %v",
			ErrRollback, tree.N, h, cur.tree.N, cur.tree.Hash)
	}
	l.snap.Store(s)
	l.stats.published.Store(time.Now().UnixNano())
	return tree, nil
}

// readEdge reads the right edge of tree from the backend, which a writer
// may be extending meanwhile.
func (l *Log) readEdge(ctx context.Context, tree tlog.Tree) (*edge, error) {
	recs, err := l.readData(ctx, tree.N)
	if err != nil {
		return nil, err
	}
	return l.edgeOf(ctx, tree, recs)
}

// edgeOf rebuilds the right edge of tree from recs, the records of its
// partial data tile, and the stored partial tiles of the levels above.
// A stored partial tile only grows, so one longer than tree needs (a
// writer extended it meanwhile) holds tree's as its prefix. The edge must
// hash to tree, which authenticates every stored byte used.
func (l *Log) edgeOf(ctx context.Context, tree tlog.Tree, recs [][]byte) (*edge, error) {
	e, err := backendEdge(ctx, l.b, tree.N, recs)
	if err != nil {
		return nil, err
	}
	if h := e.treeHash(); h != tree.Hash {
		return nil, fmt.Errorf("%w: stored records and tiles hash to %v, checkpoint says %v", ErrCorrupt, h, tree.Hash)
	}
	return e, nil
}

// backendEdge rebuilds the right edge of a tree of n records from recs,
// the records of its partial data tile, and the partial tiles of the
// levels above stored in b (each at least as long as the tree needs).
// The caller authenticates the result by its tree hash.
func backendEdge(ctx context.Context, b Backend, n int64, recs [][]byte) (*edge, error) {
	return loadEdge(n, func(L int, n int64, w int) ([]tlog.Hash, error) {
		if L == 0 {
			hashes := make([]tlog.Hash, w)
			sha256x.Leaves(asArrays(hashes), recs)
			return hashes, nil
		}
		data, err := b.Get(ctx, tileKey(L, n))
		if err != nil {
			return nil, fmt.Errorf("storage: reading right edge tile %d/%d: %w", L, n, err)
		}
		if len(data) < w*tlog.HashSize || len(data)%tlog.HashSize != 0 {
			return nil, fmt.Errorf("%w: right edge tile %d/%d has %d bytes, want %d", ErrCorrupt, L, n, len(data), w*tlog.HashSize)
		}
		return decodeHashes(data[:w*tlog.HashSize])
	})
}

// readData returns the first n%256 records of the data tile holding
// record n, reading only the chunks that hold them.
func (l *Log) readData(ctx context.Context, n int64) ([][]byte, error) {
	tileN, want := n/tileWidth, int(n%tileWidth)
	if want == 0 {
		return nil, nil
	}
	start, end := dataRange(tileN)
	var recs [][]byte
	err := l.b.Scan(ctx, start, end, func(k, v []byte) error {
		if len(k) != 11 {
			return fmt.Errorf("%w: data key %x", ErrCorrupt, k)
		}
		if off := int(binary.BigEndian.Uint16(k[9:])); off != len(recs) {
			return fmt.Errorf("%w: data chunk %x out of place", ErrCorrupt, k)
		}
		var err error
		recs, err = decodeRecords(recs, bytes.Clone(v), l.opts.MaxRecordSize)
		if err != nil {
			return err
		}
		if len(recs) >= want {
			recs = recs[:want]
			return errStopScan
		}
		return nil
	})
	if err != nil && err != errStopScan {
		return nil, fmt.Errorf("storage: reading right edge records: %w", err)
	}
	if len(recs) != want {
		return nil, fmt.Errorf("%w: right edge data tile %d has %d records, want %d", ErrCorrupt, tileN, len(recs), want)
	}
	return recs, nil
}

// follow refreshes a read-only log every interval until Close or a
// rollback stops it.
func (l *Log) follow(interval time.Duration) {
	defer close(l.exited)
	if interval < 0 {
		<-l.quit
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.quit:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*interval+time.Second)
		_, err := l.Refresh(ctx)
		cancel()
		if errors.Is(err, ErrStopped) || errors.Is(err, ErrClosed) {
			<-l.quit
			return
		}
	}
}
