package storage

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// The deferred key index of an import (ImportOptions.Key): the keys of
// stored records are held in memory until enough are pending, then
// written as one sorted run in the commit of an Append. The records are
// durable before their keys are, so the keys pending at a crash are
// derived again from them at the next OpenImport; the "j" key says how
// many records have their keys stored:
//
//	"j"  uvarint(number of records whose keys are in the key index)
const prefixIndexed = 'j'

var keyIndexed = []byte{prefixIndexed}

// pendingIndex holds the keys of records not yet in the key index, in
// chunks, one an Append: each chunk is sorted in the background as soon as
// it is added, so that a flush only merges them.
type pendingIndex struct {
	chunks []*pendingChunk
	bytes  int
	wg     sync.WaitGroup
}

// A pendingChunk holds keys in one arena: entry e is
// arena[e.off:][:e.n], the key of record e.idx.
type pendingChunk struct {
	arena []byte
	ents  []pendingKey
}

type pendingKey struct {
	off, n uint32
	idx    int64
}

// pendingKeyCost is what an entry costs beyond its key bytes.
const pendingKeyCost = 16

func (p *pendingIndex) size() int { return p.bytes }

func (c *pendingChunk) key(e pendingKey) []byte { return c.arena[e.off : e.off+e.n] }

// compare orders entries by key, then by record.
func (c *pendingChunk) compare(a, b pendingKey) int {
	if r := bytes.Compare(c.key(a), c.key(b)); r != 0 {
		return r
	}
	return cmp.Compare(a.idx, b.idx)
}

// add adds the keys of records first, first+1, ... (nil entries have
// none) as one chunk, and sorts it in the background.
func (p *pendingIndex) add(keys [][]byte, first int64) {
	c := &pendingChunk{}
	size := 0
	for _, k := range keys {
		size += len(k)
	}
	c.arena = make([]byte, 0, size)
	c.ents = make([]pendingKey, 0, len(keys))
	for i, k := range keys {
		if k == nil {
			continue
		}
		c.ents = append(c.ents, pendingKey{off: uint32(len(c.arena)), n: uint32(len(k)), idx: first + int64(i)})
		c.arena = append(c.arena, k...)
	}
	p.chunks = append(p.chunks, c)
	p.bytes += size + pendingKeyCost*len(c.ents)
	p.wg.Go(func() { slices.SortFunc(c.ents, c.compare) })
}

// run returns the pending keys as a batch of index entries in key order,
// each key once (a key pending twice maps to its later record). The keys
// and values share one new array.
func (p *pendingIndex) run() *Batch {
	p.wg.Wait()
	total, size := 0, 0
	for _, c := range p.chunks {
		total += len(c.ents)
		size += len(c.arena)
	}
	buf := make([]byte, 0, size+total*(1+binary.MaxVarintLen64))
	part := &Batch{ops: make([]Op, 0, total)}
	emit := func(key []byte, idx int64) {
		n := len(buf)
		buf = append(append(buf, prefixKey), key...)
		k := buf[n:len(buf):len(buf)]
		n = len(buf)
		buf = binary.AppendUvarint(buf, uint64(idx))
		part.Set(k, buf[n:len(buf):len(buf)])
	}
	// Merge the sorted chunks with a heap of their heads. Chunks hold
	// increasing record ranges, so among equal keys the later chunk (and
	// within a chunk the later entry) is the later record.
	h := &chunkHeap{}
	for i, c := range p.chunks {
		if len(c.ents) > 0 {
			h.items = append(h.items, chunkHead{c: c, ci: i})
		}
	}
	heap.Init(h)
	var last []byte
	var lastIdx int64
	have := false
	for h.Len() > 0 {
		top := &h.items[0]
		e := top.c.ents[top.i]
		key := top.c.key(e)
		if have && !bytes.Equal(key, last) {
			emit(last, lastIdx)
		}
		last, lastIdx, have = key, e.idx, true
		if top.i++; top.i == len(top.c.ents) {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
	}
	if have {
		emit(last, lastIdx)
	}
	return part
}

// A chunkHeap orders the chunks' heads by key, then by chunk.
type chunkHeap struct{ items []chunkHead }

type chunkHead struct {
	c     *pendingChunk
	ci, i int
}

func (h *chunkHeap) Len() int { return len(h.items) }
func (h *chunkHeap) Less(a, b int) bool {
	x, y := &h.items[a], &h.items[b]
	if r := bytes.Compare(x.c.key(x.c.ents[x.i]), y.c.key(y.c.ents[y.i])); r != 0 {
		return r < 0
	}
	return x.ci < y.ci
}
func (h *chunkHeap) Swap(a, b int) { h.items[a], h.items[b] = h.items[b], h.items[a] }
func (h *chunkHeap) Push(x any)    { h.items = append(h.items, x.(chunkHead)) }
func (h *chunkHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

func (p *pendingIndex) reset() {
	p.wg.Wait()
	p.chunks, p.bytes = nil, 0
}

// loadIndexed reads the "j" key: the number of records with stored keys,
// n if there is none (a store written without ImportOptions.Key).
func loadIndexed(ctx context.Context, b Backend, n int64) (int64, error) {
	v, err := b.Get(ctx, keyIndexed)
	if errors.Is(err, ErrNotFound) {
		return n, nil
	}
	if err != nil {
		return 0, fmt.Errorf("storage: reading index state: %w", err)
	}
	k, w := binary.Uvarint(v)
	if w <= 0 || w != len(v) || k > uint64(n) {
		return 0, fmt.Errorf("%w: index state %x for %d records", ErrCorrupt, v, n)
	}
	return int64(k), nil
}

// readStored returns the stored records start..end-1.
func readStored(ctx context.Context, b Backend, start, end int64, maxRecord int) ([][]byte, error) {
	recs := make([][]byte, 0, end-start)
	from, _ := dataRange(start / tileWidth)
	_, to := dataRange((end - 1) / tileWidth)
	next := (start / tileWidth) * tileWidth
	err := b.Scan(ctx, from, to, func(k, v []byte) error {
		if len(k) != 11 {
			return fmt.Errorf("%w: data key %x", ErrCorrupt, k)
		}
		first := int64(binary.BigEndian.Uint64(k[1:]))*tileWidth + int64(binary.BigEndian.Uint16(k[9:]))
		if first != next {
			return fmt.Errorf("%w: data chunk %x out of place (want record %d)", ErrCorrupt, k, next)
		}
		chunk, err := decodeRecords(nil, bytes.Clone(v), maxRecord)
		if err != nil {
			return err
		}
		for i, r := range chunk {
			if idx := first + int64(i); idx >= start && idx < end {
				recs = append(recs, r)
			}
		}
		next = first + int64(len(chunk))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: reading stored records %d..%d: %w", start, end-1, err)
	}
	if int64(len(recs)) != end-start {
		return nil, fmt.Errorf("%w: %d stored records %d..%d, want %d", ErrCorrupt, len(recs), start, end-1, end-start)
	}
	return recs, nil
}
