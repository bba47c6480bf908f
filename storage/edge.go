package storage

import (
	"crypto/sha256"
	"fmt"
	"math/bits"

	"github.com/tlogkit/tlogkit/internal/sha256x"
	"github.com/tlogkit/tlogkit/tlog"
)

const (
	tileHeight = 8
	tileWidth  = 1 << tileHeight
	// maxTileLevels is the number of tile levels of a tree of up to 2^63
	// records: tree levels 0..63 in tiles of 8 levels.
	maxTileLevels = 8
)

// emptyTreeHash is the hash of the tree of size 0: SHA-256 of the empty
// string (RFC 6962, c2sp.org/tlog-checkpoint).
var emptyTreeHash = tlog.Hash(sha256.Sum256(nil))

// tileRows holds the hashes of one tile of height 8 that are complete:
// rows[r] lists hashes of tree level 8L+r, starting at the tile's first.
// Row r of a full tile has 256>>r hashes. Rows only grow: a snapshot that
// copied the slice headers keeps seeing a valid prefix while the sequencer
// appends beyond its length.
type tileRows [tileHeight][]tlog.Hash

func newTileRows() tileRows {
	var rows tileRows
	buf := make([]tlog.Hash, 2*tileWidth-2)
	off := 0
	for r := range tileHeight {
		w := tileWidth >> r
		rows[r] = buf[off : off : off+w]
		off += w
	}
	return rows
}

// fill computes rows 1..7 from row 0.
func (rows *tileRows) fill() {
	for r := 1; r < tileHeight; r++ {
		below := rows[r-1]
		n := len(below) / 2
		row := rows[r][:n]
		sha256x.Nodes(asArrays(row), asArrays(below))
		rows[r] = row
	}
}

func asArrays(h []tlog.Hash) [][32]byte {
	// tlog.Hash is [32]byte, so the conversion is free.
	return *(*[][32]byte)(unsafePointer(&h))
}

// An edge is the right edge of the tree in memory: the partial tile (all
// of its complete rows) at every tile level. It holds every hash needed to
// extend the tree and to compute its root, so appending reads no storage.
type edge struct {
	n    int64
	rows [maxTileLevels]tileRows
}

// emitFunc receives each tile that a push completes: level, number, and
// its 256 level-0 hashes (which the callee may keep).
type emitFunc func(level int, n int64, hashes []tlog.Hash)

// push appends one leaf hash, calling emit for every tile it completes.
func (e *edge) push(h tlog.Hash, emit emitFunc) {
	idx := e.n // index of the new node at the current tree level
	e.n++
	level := 0
	for {
		L, r := level/tileHeight, level%tileHeight
		rows := &e.rows[L]
		if rows[r] == nil {
			*rows = newTileRows()
		}
		rows[r] = append(rows[r], h)
		if idx&1 == 0 {
			break
		}
		row := rows[r]
		h = sha256x.Node((*[32]byte)(&row[len(row)-2]), (*[32]byte)(&h))
		idx >>= 1
		level++
	}
	// Retire full tiles, lowest first; a tile is full when its top row has
	// its two hashes (whose parent went to the next level).
	for L := 0; L < maxTileLevels; L++ {
		rows := &e.rows[L]
		if len(rows[0]) < tileWidth || len(rows[tileHeight-1]) < 2 {
			break
		}
		if emit != nil {
			emit(L, (e.n>>(tileHeight*L)-1)>>tileHeight, rows[0])
		}
		*rows = newTileRows()
	}
}

// treeHash returns the root hash of the tree of e.n records.
func (e *edge) treeHash() tlog.Hash {
	return edgeTreeHash(e.n, &e.rows)
}

func edgeTreeHash(n int64, rows *[maxTileLevels]tileRows) tlog.Hash {
	if n == 0 {
		return emptyTreeHash
	}
	u := uint64(n)
	l := bits.TrailingZeros64(u)
	row := rows[l/tileHeight][l%tileHeight]
	h := row[len(row)-1]
	for u &= u - 1; u != 0; u &= u - 1 {
		l = bits.TrailingZeros64(u)
		row := rows[l/tileHeight][l%tileHeight]
		h = sha256x.Node((*[32]byte)(&row[len(row)-1]), (*[32]byte)(&h))
	}
	return h
}

// loadEdge rebuilds the edge of a tree of n records from the level-0
// hashes of its partial tiles, which partial(L, N, w) returns (w hashes of
// tile L/N).
func loadEdge(n int64, partial func(L int, N int64, w int) ([]tlog.Hash, error)) (*edge, error) {
	e := &edge{n: n}
	for L := 0; L < maxTileLevels; L++ {
		count := n >> (tileHeight * L)
		if count == 0 {
			break
		}
		w := int(count % tileWidth)
		if w == 0 {
			continue
		}
		hashes, err := partial(L, count/tileWidth, w)
		if err != nil {
			return nil, err
		}
		if len(hashes) != w {
			return nil, fmt.Errorf("%w: tile %d/%d has %d hashes, want %d", ErrCorrupt, L, count/tileWidth, len(hashes), w)
		}
		rows := newTileRows()
		rows[0] = append(rows[0], hashes...)
		rows.fill()
		e.rows[L] = rows
	}
	return e, nil
}
