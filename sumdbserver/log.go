package sumdbserver

import (
	"context"
	"errors"

	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

// Errors returned and recognised by this package. Errors wrap one of these,
// so callers test them with errors.Is.
var (
	// ErrNotFound reports a key, module version or record that does not
	// exist. A Log returns it (wrapped) from Lookup for an unknown key; a
	// Source returns it when the upstream proxy has no such module version.
	// The handler answers 404.
	ErrNotFound = errors.New("sumdbserver: not found")

	// ErrInvalidModule reports a module version whose upstream content is
	// unusable: a zip that fails the go command's checks, or a .mod or .zip
	// larger than the limits. The handler answers 404, records nothing and
	// does not remember the failure.
	ErrInvalidModule = errors.New("sumdbserver: invalid module")

	// ErrUpstream reports a failure to talk to the upstream proxy (network
	// error, timeout, unexpected HTTP status). The handler answers 502,
	// records nothing and does not remember the failure.
	ErrUpstream = errors.New("sumdbserver: upstream proxy failure")
)

// A Log is what the handler needs from a transparency log: the published
// signed tree head, reads of records and hash tiles, a key index and a keyed
// append. *storage.Log satisfies it through a small adapter (see
// examples/sumdb); tests use an in-memory implementation.
//
// All methods must be safe for concurrent use. Reads answer for the latest
// published tree or any older one: records, tiles and key-index entries of a
// published tree never change.
type Log interface {
	// Checkpoint returns the signed note of the latest published tree and
	// the tree it signs. For a checksum database the note text is the
	// sumdb tree head "go.sum database tree\nN\nhash\n".
	Checkpoint(ctx context.Context) (signed []byte, tree tlog.Tree, err error)

	// ReadRecords returns the texts of records start, ..., start+n-1, all
	// of which are in the published tree (the handler checks this first).
	ReadRecords(ctx context.Context, start, n int64) ([][]byte, error)

	// Lookup returns the index of the record logged under key, or an
	// error wrapping ErrNotFound. A returned index is in the published tree.
	Lookup(ctx context.Context, key string) (int64, error)

	// ReadTile returns the hashes of hash tile t (t.L >= 0, t.H == 8),
	// which lies inside the published tree (the handler checks this
	// first): t.W*32 bytes.
	ReadTile(ctx context.Context, t tile.Tile) ([]byte, error)

	// AppendKeyed logs record under key and returns its index, or returns
	// the index of the record already logged under key. It returns only
	// after the record is durable and in the published tree, so that
	// Checkpoint then signs a tree of size > index.
	AppendKeyed(ctx context.Context, key string, record []byte) (int64, error)
}
