package sumdbserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

// StorageLog returns the [Log] of a *storage.Log: the published checkpoint,
// records, tiles and key index of the log, and its keyed append, which
// returns only after the record is durable and published. storage's
// ErrNotFound from Lookup is reported as ErrNotFound.
func StorageLog(l *storage.Log) Log { return storageLog{l} }

type storageLog struct{ l *storage.Log }

func (s storageLog) Checkpoint(ctx context.Context) ([]byte, tlog.Tree, error) {
	signed, tree := s.l.Checkpoint()
	return signed, tree, nil
}

func (s storageLog) ReadRecords(ctx context.Context, start, n int64) ([][]byte, error) {
	return s.l.ReadRecords(ctx, start, n)
}

func (s storageLog) Lookup(ctx context.Context, key string) (int64, error) {
	i, err := s.l.Lookup(ctx, []byte(key))
	if errors.Is(err, storage.ErrNotFound) {
		return 0, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return i, err
}

func (s storageLog) ReadTile(ctx context.Context, t tile.Tile) ([]byte, error) {
	return s.l.ReadTile(ctx, t)
}

func (s storageLog) AppendKeyed(ctx context.Context, key string, record []byte) (int64, error) {
	i, _, err := s.l.AppendKeyed(ctx, []byte(key), record)
	return i, err
}
