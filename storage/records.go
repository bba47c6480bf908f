package storage

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/tlogkit/tlogkit/tlog"
)

// partialData is the partial data tile at the right edge, as a writer
// keeps it in memory: the encoded records of its chunks, the offsets of
// the chunks in the backend, and the number of records.
type partialData struct {
	data []byte
	offs []int
	n    int
}

// load reads the chunks of the partial data tile of a tree of n records
// from b into p and returns its records (which point into p.data).
func (p *partialData) load(ctx context.Context, b Backend, n int64, maxRecord int) ([][]byte, error) {
	tileN := n / tileWidth
	want := int(n % tileWidth)
	start, end := dataRange(tileN)
	var recs [][]byte
	err := b.Scan(ctx, start, end, func(k, v []byte) error {
		if len(k) != 11 {
			return fmt.Errorf("%w: data key %x", ErrCorrupt, k)
		}
		off := int(binary.BigEndian.Uint16(k[9:]))
		if off != len(recs) {
			return fmt.Errorf("%w: data chunk %x out of place", ErrCorrupt, k)
		}
		// Records of the copy in p.data: v is valid during the call only.
		n := len(p.data)
		p.data = append(p.data, v...)
		var err error
		recs, err = decodeRecords(recs, p.data[n:len(p.data):len(p.data)], maxRecord)
		if err != nil {
			return err
		}
		p.offs = append(p.offs, off)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: reading right edge records: %w", err)
	}
	if len(recs) != want {
		return nil, fmt.Errorf("%w: right edge data tile %d has %d records, want %d", ErrCorrupt, tileN, len(recs), want)
	}
	p.n = want
	return recs, nil
}

// writeRecords appends records, whose leaf hashes are leaves, at the right
// edge e of the tree, whose partial data tile is p: it adds to batch the
// full hash tiles they complete, the partial tiles of the levels above 0
// that change, and the records (one value per full data tile, a chunk of
// the partial one), and updates e and p.
func writeRecords(batch *Batch, e *edge, p *partialData, records [][]byte, leaves []tlog.Hash) {
	oldN := e.n
	// Hash tiles: the full ones this batch completes.
	for _, h := range leaves {
		e.push(h, func(L int, n int64, hashes []tlog.Hash) {
			batch.Set(tileKey(L, n), encodeHashes(make([]byte, 0, len(hashes)*tlog.HashSize), hashes))
		})
	}
	newN := e.n
	// The partial tiles of the right edge, from level 1 up (at most one
	// write per 256 records each): the partial level-0 tile, which would
	// change in every batch, is recomputed by Open from the records.
	for L := 1; L < maxTileLevels; L++ {
		oldC, newC := oldN>>(tileHeight*L), newN>>(tileHeight*L)
		if newC == oldC {
			break
		}
		if w := newC % tileWidth; w != 0 {
			row := e.rows[L][0]
			batch.Set(tileKey(L, newC/tileWidth), encodeHashes(make([]byte, 0, len(row)*tlog.HashSize), row))
		}
	}

	// Data: chunks of the partial data tile, one full value per full tile.
	for i := 0; i < len(records); {
		idx := oldN + int64(i)
		tileN := idx / tileWidth
		off := int(idx % tileWidth)
		k := min(len(records)-i, tileWidth-off)
		size := 0
		for _, r := range records[i : i+k] {
			size += 4 + len(r) // a length takes at most 4 bytes (MaxRecordSize <= 1<<24)
		}
		if off+k == tileWidth {
			val := make([]byte, 0, len(p.data)+size)
			if off > 0 {
				val = append(val, p.data...)
			}
			for _, r := range records[i : i+k] {
				val = appendRecord(val, r)
			}
			batch.Set(dataKey(tileN, 0), val)
			for _, o := range p.offs {
				if o != 0 {
					batch.Delete(dataKey(tileN, o))
				}
			}
			p.data, p.offs, p.n = p.data[:0], p.offs[:0], 0
		} else {
			val := make([]byte, 0, size)
			for _, r := range records[i : i+k] {
				val = appendRecord(val, r)
			}
			batch.Set(dataKey(tileN, off), val)
			p.data = append(p.data, val...)
			p.offs = append(p.offs, off)
			p.n += k
		}
		i += k
	}
}
