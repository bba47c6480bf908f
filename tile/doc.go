// Package tile stores and reads a transparency log's hash tree in tiles,
// and authenticates tiles fetched from an untrusted server.
//
// # Tiles
//
// A tile of height H is a block of 2^H consecutive hashes from one level
// of the tree: tile (L, N) holds the hashes of tree level H*L with indexes
// N<<H to (N+1)<<H - 1. The levels in between need no storage: each is
// computed by hashing pairs from the level below, inside the tile. With
// H = 8 (sum.golang.org and every C2SP tlog-tiles log), a tree of a billion
// records is four levels of tiles deep.
//
//	level 8   ─ tile (1, 0): hashes of subtrees of 256 records ─
//	            ...
//	level 0   [tile (0,0): 256 leaves][tile (0,1)][tile (0,2).p/37]
//
// Full tiles never change. Only the right edge of the tree has partial
// tiles, of width W < 2^H; a later tree extends them. A data tile (L == -1)
// holds the records whose leaf hashes make up level-0 tile N.
//
// [Tile], [TileForIndex], [HashFromTile], [NewTiles], [ReadTileData],
// [Tile.Path] and [ParseTilePath] have the names and behaviour of
// golang.org/x/mod/sumdb/tlog's tile functions.
//
// # Paths
//
// N is written in groups of three digits, all but the last prefixed by
// "x", so that no directory holds more than about 3000 entries:
// N = 1234067 is x001/x234/067. A partial tile adds ".p/W".
//
//	sumdb                     C2SP tlog-tiles
//	tile/8/0/x001/x234/067    tile/0/x001/x234/067      hash tile, level 0
//	tile/8/2/000.p/5          tile/2/000.p/5            partial hash tile
//	tile/8/data/x001/234      tile/entries/x001/234     records
//
// [ParseTilePath] and [ParseC2SPPath] accept only canonical paths of tiles
// that can exist in a tree of at most 2^63-1 records: no leading zeros, no
// signs, at most seven groups, H in 1..[MaxPathHeight] (16), H*L ≤ 63, and
// a first record index that fits in an int64. For every accepted path p,
// Parse(p).Path() == p (and ParseC2SPPath(p).C2SPPath() == p). Where x/mod's
// ParseTilePath accepts a path these reject, the tile is one of those that
// cannot exist or is higher than 16; otherwise both give the same result
// (a fuzzed law).
//
// # Data tiles
//
// A sumdb data tile is each record's text followed by a blank line, as
// x/mod's sumdb server writes it ([FormatDataTile], [ParseDataTile]). A
// C2SP entry bundle is each entry preceded by its length as a big-endian
// uint16 ([FormatEntryBundle], [ParseEntryBundle]). The decoders reject
// every input that the encoder would not have produced. One difference
// from x/mod: a record text starting with an empty line, which x/mod's
// FormatRecord allows, is rejected, since it would make a data tile
// ambiguous.
//
// # Verified reading
//
// A [Verifier] reads hashes from a [TileReader] and authenticates every
// tile before it uses a hash from it: the right-edge tiles of a signed tree
// must hash to the tree's root, and every full tile must hash to the value
// its (already authenticated) parent tile holds for it. It keeps the tiles
// it authenticated, in expanded form (all the hashes inside the tile), in a
// bounded cache, so a warm proof costs about what a proof from an
// in-memory array of all the stored hashes costs, in
// BenchmarkProveRecordTiles in ../benchmarks (2 shared, busy cores): about
// 1.5x when the hashes are in the CPU cache; for records spread over a
// million-record log, where every read misses the cache, 1.7-1.8x for a
// proof and its check and 1.9-2.0x for the proof alone (a tile is reached
// through a map lookup where the array is indexed directly). x/mod's
// TileHashReader, which fetches and hashes the tiles again on every call,
// costs about 100x.
//
//	v, err := tile.NewVerifier(reader, tile.VerifierOptions{})
//	...
//	p, err := v.ProveRecord(ctx, signedTree, 1234)
//	err = tlog.CheckRecord(p, signedTree.N, signedTree.Hash, 1234, leafHash)
//
// [Verifier.CheckRecords] checks decoded data tiles or entry bundles against
// the authenticated leaf hashes.
//
// Tiles authenticated for one tree are reused for another only where that
// tree vouches for the same hash, so a server that forks its log cannot
// make the Verifier mix the two.
package tile
