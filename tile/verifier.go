package tile

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tlogkit/tlogkit/internal/sha256x"
	"github.com/tlogkit/tlogkit/tlog"
)

// ErrNotInTree reports a hash index outside the tree being read.
var ErrNotInTree = errors.New("tile: hash index not in tree")

// VerifierOptions configures a [Verifier]. The zero value is the default.
type VerifierOptions struct {
	// MaxTiles bounds the number of authenticated full tiles kept. Each
	// costs about 16 KiB (a height-8 tile with all its inner hashes); the
	// Verifier holds at most about 2*MaxTiles full tiles (the shared cache
	// and per-tree lookup maps) plus the right-edge tiles of MaxTrees
	// trees. Zero means 1024.
	MaxTiles int
	// MaxTrees bounds the number of signed trees whose right-edge tiles
	// are kept. Zero means 16.
	MaxTrees int
}

// A Verifier reads hashes of signed trees from an untrusted [TileReader].
// It authenticates every tile before it uses a hash from it:
//
//   - the right-edge (partial) tiles of a tree must fold into the tree's
//     signed root hash;
//   - a full tile must hash to the value its parent tile, already
//     authenticated for the same tree, holds for it.
//
// It keeps what it authenticated: full tiles, keyed by their coordinates
// and the root hash they were authenticated against (so a tile is never
// reused for a tree that disagrees about it), and the right-edge tiles of
// the most recent trees. With a warm cache, reading a hash costs a map
// lookup and no hashing.
//
// A Verifier is safe for concurrent use.
type Verifier struct {
	tr       TileReader
	h        int
	maxTiles int
	maxTrees int

	mu    sync.Mutex
	full  map[fullKey]*list.Element // value: *expanded
	lru   list.List
	trees map[tlog.Tree]*treeState
	order []tlog.Tree // insertion order of trees, for eviction
	memo  int         // full tiles in all trees' resolved maps
}

// fullKey names an authenticated full tile: its coordinates and its root.
type fullKey struct {
	t    Tile
	root tlog.Hash
}

// treeState is what a Verifier knows about one signed tree.
type treeState struct {
	tree tlog.Tree
	// resolved holds every tile authenticated for this tree: its
	// right-edge tiles and the full tiles used so far.
	// Within one tree, L and N determine a tile's width, so the map is
	// keyed by those alone (a smaller key is a faster lookup). The map
	// holds each tile's hashes beside the key, so reading a hash of a full
	// tile costs one lookup and no visit to the tile's header.
	resolved map[tileKey]held
	anchors  int         // number of right-edge tiles in resolved
	evicted  atomic.Bool // no longer in Verifier.trees
}

// tileKey names a tile of a known tree.
type tileKey struct {
	L int64
	N int64
}

func keyOf(t Tile) tileKey { return tileKey{int64(t.L), t.N} }

// held is an authenticated tile as a tree's resolved map keeps it.
type held struct {
	hashes [][32]byte // e.hashes
	e      *expanded
}

// get returns the tile of ts's tree at t's coordinates, or nil.
func (ts *treeState) get(t Tile) *expanded { return ts.resolved[keyOf(t)].e }

// put records e as the authenticated tile at t's coordinates.
func (ts *treeState) put(t Tile, e *expanded) {
	ts.resolved[keyOf(t)] = held{e.hashes, e}
}

// expanded is an authenticated tile with every hash inside it: level 0
// (the tile's W hashes), then level 1 (W/2 hashes), and so on up to the
// tile root for a full tile.
type expanded struct {
	t      Tile // first: read with hashes on every access
	hashes [][32]byte
	full   bool                     // t.W == 1<<t.H: offsets are computed
	off    [MaxPathHeight + 1]int32 // off[k] is where level k starts in hashes
	key    fullKey                  // for LRU eviction of full tiles
}

// NewVerifier returns a Verifier reading tiles from tr.
func NewVerifier(tr TileReader, opts VerifierOptions) (*Verifier, error) {
	h := tr.Height()
	if h < 1 || h > MaxPathHeight {
		return nil, fmt.Errorf("%w: reader height %d", ErrInvalidTile, h)
	}
	v := &Verifier{
		tr:       tr,
		h:        h,
		maxTiles: opts.MaxTiles,
		maxTrees: opts.MaxTrees,
		full:     make(map[fullKey]*list.Element),
		trees:    make(map[tlog.Tree]*treeState),
	}
	if v.maxTiles <= 0 {
		v.maxTiles = 1024
	}
	if v.maxTrees <= 0 {
		v.maxTrees = 16
	}
	return v, nil
}

// Height returns the tile height of the underlying reader.
func (v *Verifier) Height() int { return v.h }

// HashReader returns a [tlog.HashReader] for the given signed tree, for use
// with tlog.ProveRecord, tlog.ProveTree and tlog.TreeHash. Every hash it
// returns is authenticated against tree. I/O uses ctx.
func (v *Verifier) HashReader(ctx context.Context, tree tlog.Tree) tlog.HashReader {
	return &treeReader{v: v, ctx: ctx, tree: tree}
}

// treeReader is a HashReader for one tree; it remembers the tree's state
// after the first read.
type treeReader struct {
	v    *Verifier
	ctx  context.Context
	tree tlog.Tree
	mu   sync.Mutex
	ts   *treeState
}

func (r *treeReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	if err := checkIndexes(r.tree, indexes); err != nil {
		return nil, err
	}
	r.mu.Lock()
	ts := r.ts
	r.mu.Unlock()
	if ts == nil || ts.evicted.Load() {
		var err error
		if ts, err = r.v.treeState(r.ctx, r.tree); err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.ts = ts
		r.mu.Unlock()
	}
	return r.v.readHashes(r.ctx, ts, indexes)
}

// checkIndexes checks that every index is a stored hash of tree.
func checkIndexes(tree tlog.Tree, indexes []int64) error {
	if tree.N < 0 || tree.N > 1<<62 {
		return fmt.Errorf("tile: invalid tree size %d", tree.N)
	}
	limit := tlog.StoredHashIndex(0, tree.N)
	for _, x := range indexes {
		if x < 0 || x >= limit {
			return fmt.Errorf("%w: index %d, tree size %d", ErrNotInTree, x, tree.N)
		}
	}
	return nil
}

// ProveRecord returns the proof that tree contains record n, built from
// authenticated tiles.
func (v *Verifier) ProveRecord(ctx context.Context, tree tlog.Tree, n int64) (tlog.RecordProof, error) {
	return tlog.ProveRecord(tree.N, n, v.HashReader(ctx, tree))
}

// ProveTree returns the proof that tree contains the tree of size n as a
// prefix, built from tiles authenticated against tree.
func (v *Verifier) ProveTree(ctx context.Context, tree tlog.Tree, n int64) (tlog.TreeProof, error) {
	return tlog.ProveTree(tree.N, n, v.HashReader(ctx, tree))
}

// locate returns the tile of tree that holds the stored hash at
// (level, n), with the level k inside the tile and the position there.
func (v *Verifier) locate(treeN int64, level int, n int64) (t Tile, k int, pos int) {
	h := uint(v.h)
	L := level / v.h
	k = level - L*v.h
	first := n << uint(k) // first bottom-level hash of the tile it covers
	t = Tile{H: v.h, L: L, N: first >> h, W: 1 << h}
	pos = int(n - t.N<<(h-uint(k)))
	if count := treeN >> (h * uint(L)); t.N >= count>>h { // right edge
		t.W = int(count & (1<<h - 1))
	}
	return t, k, pos
}

// parent returns the tile of tree one level up that holds the root of
// full tile t.
func (v *Verifier) parent(treeN int64, t Tile) Tile {
	h := uint(v.h)
	p := Tile{H: v.h, L: t.L + 1, N: t.N >> h, W: 1 << h}
	if count := treeN >> (h * uint(p.L)); p.N >= count>>h {
		p.W = int(count & (1<<h - 1))
	}
	return p
}

// ReadHashes returns the hashes with the given stored-hash indexes in
// tree, each authenticated against tree.
func (v *Verifier) ReadHashes(ctx context.Context, tree tlog.Tree, indexes []int64) ([]tlog.Hash, error) {
	if err := checkIndexes(tree, indexes); err != nil {
		return nil, err
	}
	ts, err := v.treeState(ctx, tree)
	if err != nil {
		return nil, err
	}
	return v.readHashes(ctx, ts, indexes)
}

func (v *Verifier) readHashes(ctx context.Context, ts *treeState, indexes []int64) ([]tlog.Hash, error) {
	tree := ts.tree
	out := make([]tlog.Hash, len(indexes))
	var missing []Tile
	var missingAt []int
	// The hashes are found first and copied afterwards in one tight loop,
	// so that the CPU fetches them from memory in parallel rather than
	// one tile lookup at a time. Authenticated tiles never change, so the
	// copy needs no lock.
	var refBuf [64]*[32]byte
	refs := refBuf[:0]
	if len(indexes) > len(refBuf) {
		refs = make([]*[32]byte, 0, len(indexes))
	}
	v.mu.Lock()
	// A proof's hashes come from a few tiles, often alternating: keep the
	// last few at hand before asking the map.
	var recent [4]struct {
		key tileKey
		h   held
	}
	next := 0
	fullLen := 2<<uint(v.h) - 1 // hashes in a full tile
	for i, x := range indexes {
		level, n := tlog.SplitStoredHashIndex(x)
		t, k, pos := v.locate(tree.N, level, n)
		key := keyOf(t)
		var h held
		for _, r := range recent {
			if r.h.e != nil && r.key == key {
				h = r.h
				break
			}
		}
		if h.e == nil {
			if h = ts.resolved[key]; h.e == nil {
				missing = append(missing, t)
				missingAt = append(missingAt, i)
				refs = append(refs, nil)
				continue
			}
			recent[next%len(recent)].key, recent[next%len(recent)].h = key, h
			next++
		}
		if len(h.hashes) == fullLen {
			// Level k of a full tile of width W starts at 2W - 2W>>k.
			w2 := fullLen + 1
			refs = append(refs, &h.hashes[w2-w2>>uint(k)+pos])
		} else {
			refs = append(refs, h.e.ref(k, pos))
		}
	}
	v.mu.Unlock()
	for i, r := range refs {
		if r != nil {
			out[i] = *r
		}
	}
	if missing == nil {
		return out, nil
	}
	auth, err := v.resolve(ctx, ts, missing)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, i := range missingAt {
		level, n := tlog.SplitStoredHashIndex(indexes[i])
		t, k, pos := v.locate(tree.N, level, n)
		e := auth[t]
		if e == nil {
			return nil, fmt.Errorf("tile: internal error: tile %s not resolved", t.Path())
		}
		out[i] = e.at(k, pos)
	}
	return out, nil
}

// at returns the hash at level k, position pos of the tile.
func (e *expanded) at(k, pos int) tlog.Hash { return *e.ref(k, pos) }

// ref returns where the tile keeps the hash at level k, position pos.
func (e *expanded) ref(k, pos int) *[32]byte {
	if e.full {
		// Level k of a full tile of width W starts at 2W - 2W>>k.
		w2 := 2 << uint(e.t.H)
		return &e.hashes[w2-w2>>uint(k)+pos]
	}
	return &e.hashes[int(e.off[k])+pos]
}

// root returns the hash of a full tile's whole subtree.
func (e *expanded) root() tlog.Hash {
	return tlog.Hash(e.hashes[len(e.hashes)-1])
}

// expand checks the size of a tile's data and computes every hash inside.
func expand(t Tile, data []byte) (*expanded, error) {
	if len(data) != t.W*tlog.HashSize {
		return nil, fmt.Errorf("%w: %s has %d bytes, want %d", ErrMalformedData, t.Path(), len(data), t.W*tlog.HashSize)
	}
	total := 0
	for w := t.W; w > 0; w >>= 1 {
		total += w
	}
	e := &expanded{t: t, hashes: make([][32]byte, total), full: t.W == 1<<uint(t.H)}
	for i := 0; i < t.W; i++ {
		copy(e.hashes[i][:], data[i*tlog.HashSize:])
	}
	start := 0
	for k, w := 0, t.W; w > 0; k, w = k+1, w>>1 {
		e.off[k] = int32(start)
		if w > 1 {
			sha256x.Nodes(e.hashes[start+w:start+w+w/2], e.hashes[start:start+w])
		}
		start += w
	}
	return e, nil
}

// anchors returns the right-edge tiles of a tree of size n, top level
// first: for each level with a partial tile, that tile.
func (v *Verifier) anchors(n int64) []Tile {
	h := uint(v.h)
	var tiles []Tile
	for L := 0; h*uint(L) < 64 && n>>(h*uint(L)) > 0; L++ {
		count := n >> (h * uint(L))
		if w := count & (1<<h - 1); w > 0 {
			tiles = append(tiles, Tile{H: v.h, L: L, N: count >> h, W: int(w)})
		}
	}
	slices.Reverse(tiles)
	return tiles
}

// treeState returns the state of tree, reading and authenticating its
// right-edge tiles the first time.
func (v *Verifier) treeState(ctx context.Context, tree tlog.Tree) (*treeState, error) {
	v.mu.Lock()
	ts := v.trees[tree]
	v.mu.Unlock()
	if ts != nil {
		return ts, nil
	}
	edge := v.anchors(tree.N)
	var data [][]byte
	if len(edge) > 0 {
		var err error
		data, err = v.tr.ReadTiles(ctx, edge)
		if err != nil {
			return nil, err
		}
		if len(data) != len(edge) {
			return nil, fmt.Errorf("tile: ReadTiles returned %d tiles, want %d", len(data), len(edge))
		}
	}
	ts = &treeState{tree: tree, resolved: make(map[tileKey]held), anchors: len(edge)}
	// The tree is the fold, right to left, of the maximal complete
	// subtrees, left to right; each lies inside one right-edge tile.
	var subtrees []tlog.Hash
	for i, t := range edge {
		e, err := expand(t, data[i])
		if err != nil {
			return nil, err
		}
		ts.put(t, e)
		pos := 0
		for k := t.H - 1; k >= 0; k-- {
			if t.W&(1<<uint(k)) != 0 {
				subtrees = append(subtrees, e.at(k, pos>>uint(k)))
				pos += 1 << uint(k)
			}
		}
	}
	var th tlog.Hash
	if len(subtrees) == 0 {
		th, _ = tlog.TreeHash(0, nil)
	} else {
		th = subtrees[len(subtrees)-1]
		for i := len(subtrees) - 2; i >= 0; i-- {
			th = tlog.NodeHash(subtrees[i], th)
		}
	}
	if th != tree.Hash {
		return nil, fmt.Errorf("%w: right-edge tiles of tree %d do not hash to its root", ErrInconsistent, tree.N)
	}
	if len(edge) > 0 {
		v.tr.SaveTiles(edge, data)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if old := v.trees[tree]; old != nil {
		return old, nil
	}
	for len(v.order) >= v.maxTrees {
		old := v.trees[v.order[0]]
		v.memo -= len(old.resolved) - old.anchors
		old.evicted.Store(true)
		delete(v.trees, v.order[0])
		v.order = v.order[1:]
	}
	v.trees[tree] = ts
	v.order = append(v.order, tree)
	return ts, nil
}

// resolve authenticates the given full tiles of ts's tree, and any
// ancestors they need, from the cache or by reading them.
//
// It returns the authenticated tiles, including every tile in tiles.
func (v *Verifier) resolve(ctx context.Context, ts *treeState, tiles []Tile) (map[Tile]*expanded, error) {
	n := ts.tree.N
	v.mu.Lock()
	need := make(map[Tile]bool)
	auth := make(map[Tile]*expanded)
	for _, t := range tiles {
		if e := ts.get(t); e != nil {
			auth[t] = e
		}
		for !need[t] && ts.get(t) == nil {
			if t.W != 1<<uint(v.h) {
				v.mu.Unlock()
				return nil, fmt.Errorf("tile: internal error: partial tile %s of tree %d is not a right-edge tile", t.Path(), n)
			}
			need[t] = true
			t = v.parent(n, t)
		}
	}
	order := make([]Tile, 0, len(need))
	for t := range need {
		order = append(order, t)
	}
	// Parents before children.
	slices.SortFunc(order, func(a, b Tile) int {
		if a.L != b.L {
			return b.L - a.L
		}
		return cmp.Compare(a.N, b.N)
	})
	// Pass 1: take from the cache what the parents vouch for. auth keeps
	// the parents this read relies on, whatever other reads evict
	// meanwhile.
	var fetch []Tile
	for _, t := range order {
		pt := v.parent(n, t)
		p := ts.get(pt)
		if p == nil {
			fetch = append(fetch, t)
			continue
		}
		auth[pt] = p
		key := fullKey{t, p.at(0, int(t.N&(1<<uint(v.h)-1)))}
		if el := v.full[key]; el != nil {
			v.lru.MoveToFront(el)
			e := el.Value.(*expanded)
			v.addResolved(ts, t, e)
			auth[t] = e
			continue
		}
		fetch = append(fetch, t)
	}
	v.mu.Unlock()
	if len(fetch) == 0 {
		return auth, nil
	}
	data, err := v.tr.ReadTiles(ctx, fetch)
	if err != nil {
		return nil, err
	}
	if len(data) != len(fetch) {
		return nil, fmt.Errorf("tile: ReadTiles returned %d tiles, want %d", len(data), len(fetch))
	}
	// Hash outside the lock.
	exps := make([]*expanded, len(fetch))
	for i, t := range fetch {
		if exps[i], err = expand(t, data[i]); err != nil {
			return nil, err
		}
	}
	if err := v.authenticate(ts, fetch, exps, auth, need); err != nil {
		return nil, err
	}
	v.tr.SaveTiles(fetch, data)
	return auth, nil
}

// authenticate checks fetched full tiles, parents before children, each
// against the hash its parent holds for it, and records them.
func (v *Verifier) authenticate(ts *treeState, fetch []Tile, exps []*expanded, auth map[Tile]*expanded, need map[Tile]bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := ts.tree.N
	for i, t := range fetch {
		p := auth[v.parent(n, t)]
		if p == nil {
			return fmt.Errorf("tile: internal error: parent of %s not authenticated", t.Path())
		}
		want := p.at(0, int(t.N&(1<<uint(v.h)-1)))
		if exps[i].root() != want {
			return fmt.Errorf("%w: %s does not hash to the value in %s (tree %d)", ErrInconsistent, t.Path(), p.t.Path(), n)
		}
		e := exps[i]
		e.key = fullKey{t, want}
		auth[t] = e
		v.addResolved(ts, t, e)
		v.insert(e)
	}
	v.trimMemos(ts, need)
	return nil
}

// addResolved records full tile t as authenticated for ts's tree.
func (v *Verifier) addResolved(ts *treeState, t Tile, e *expanded) {
	if ts.evicted.Load() {
		return // only the current read uses it, through auth
	}
	if _, ok := ts.resolved[keyOf(t)]; !ok {
		v.memo++
	}
	ts.put(t, e)
}

// trimMemos keeps the per-tree maps of full tiles, which may point to
// tiles the shared cache has evicted, within MaxTiles in total: when over,
// it forgets the full tiles of the other trees, then those of ts that the
// current read does not need. Forgotten tiles are found again through
// their parents in the shared cache.
func (v *Verifier) trimMemos(ts *treeState, keep map[Tile]bool) {
	if v.memo <= v.maxTiles {
		return
	}
	drop := func(s *treeState, keep map[Tile]bool) {
		for k, h := range s.resolved {
			if h.e.full && !keep[h.e.t] {
				delete(s.resolved, k)
				v.memo--
			}
		}
	}
	for _, other := range v.trees {
		if other != ts {
			drop(other, nil)
		}
	}
	if v.memo > v.maxTiles {
		drop(ts, keep)
	}
}

// insert adds an authenticated full tile to the shared cache.
func (v *Verifier) insert(e *expanded) {
	if el := v.full[e.key]; el != nil {
		v.lru.MoveToFront(el)
		return
	}
	v.full[e.key] = v.lru.PushFront(e)
	for v.lru.Len() > v.maxTiles {
		old := v.lru.Back()
		v.lru.Remove(old)
		delete(v.full, old.Value.(*expanded).key)
	}
}

// ErrRecordMismatch reports records that are not the ones the signed tree
// holds at their positions.
var ErrRecordMismatch = errors.New("tile: record does not match the signed tree")

// CheckRecords checks that records are records start, start+1, ... of
// tree, by comparing their leaf hashes with the authenticated level-0
// hashes: for example the records of a data tile or an entry bundle
// (start = t.N<<t.H).
func (v *Verifier) CheckRecords(ctx context.Context, tree tlog.Tree, start int64, records [][]byte) error {
	if start < 0 || int64(len(records)) > tree.N || start > tree.N-int64(len(records)) {
		return fmt.Errorf("%w: records %d..%d, tree size %d", ErrNotInTree, start, start+int64(len(records))-1, tree.N)
	}
	idx := make([]int64, len(records))
	for i := range idx {
		idx[i] = tlog.StoredHashIndex(0, start+int64(i))
	}
	hashes, err := v.ReadHashes(ctx, tree, idx)
	if err != nil {
		return err
	}
	for i, r := range records {
		if tlog.RecordHash(r) != hashes[i] {
			return fmt.Errorf("%w: record %d", ErrRecordMismatch, start+int64(i))
		}
	}
	return nil
}
