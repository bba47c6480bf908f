// Package storage is a durable log engine: it turns concurrent appends into
// a signed, append-only Merkle log (RFC 6962 hashing, the tree of
// golang.org/x/mod/sumdb/tlog and c2sp.org/tlog-tiles) kept in a small
// key-value [Backend], and serves records, hash tiles, proofs and signed
// checkpoints of every published tree.
//
// # The promise
//
// An index returned by [Log.Append] (or by a [Future]'s Wait) is never
// lost; nothing is served or signed for state that is not durable; the
// log never publishes two different trees of the same size, across
// crashes and restarts. Any commit error the engine cannot prove harmless
// stops the log (fail-stop): later appends fail with an error wrapping
// [ErrStopped], while the published tree is still served. Reopening the
// store is the recovery.
//
// # The write path
//
//	Append ─┐                      ┌─ one synced batch ─────────────────┐
//	Append ─┼─ queue ─ sequencer ──┤ records (data tiles)                ├─ publish ─ answer
//	Append ─┘  (group  assigns     │ changed hash tiles                  │  checkpoint  callers
//	           commit) indexes,    │ key index entries                   │  (atomic
//	                   hashes,     │ new signed checkpoint               │  switch)
//	                   signs       └────────────────────────────────────┘
//
// A single sequencer goroutine takes whatever is queued, assigns
// consecutive indexes, hashes the leaves and extends the right edge of the
// tree, which it keeps in memory (the partial tile at every tile level, all
// of its complete rows), so an append reads no storage except, for a keyed
// append, the key index. It signs the new checkpoint and writes records,
// changed tiles, key index entries and the checkpoint in one atomic, synced
// [Batch]. Only when that batch is durable does it publish the new tree
// (readers switch atomically) and answer the callers.
//
// Callers that each wait for their acknowledgment before appending again
// would otherwise split into two groups taking turns (one group's batch is
// synced while the other queues); so after answering a batch the sequencer
// lingers briefly ([Options.Linger], 100µs) until those callers are back,
// and every sync carries all of them. With a [Pipeliner] backend
// (pebblestore is one) and [Options.PipelineDepth] > 1, further batches are
// sequenced, signed and handed to the backend while earlier ones are being
// synced; batches still become durable, get published and are answered in
// order.
//
// [Log.AppendKeyed] logs a record under a key at most once: the sequencer
// checks the key within the batch and against the key index, and writes the
// key index entry in the same batch as the record, so a key never gets two
// indexes, neither across concurrent calls nor across crashes. It looks up
// all keys of a batch in one go, sorted and without duplicates (with one
// iterator on a [MultiGetter] backend such as pebblestore).
//
// # Many records in flight
//
// A caller of Append waits for a whole commit, including its sync, before
// it can append again, so n such callers get at most n records per commit
// latency through: 64 appenders on a disk that syncs in 300–600µs make
// about 100–200k records/s at best, however fast the engine is.
// [Log.AppendAsync] and [Log.AppendKeyedAsync] queue a record and return
// at once with a [Future]; its Wait returns what Append would have
// returned, once the record is durable and published, with the same
// guarantees (fail-stop, keyed uniqueness, order of one caller's records).
// One appender can so keep many records in flight:
//
//	var fs []storage.Future
//	for _, r := range records {
//		fs = append(fs, log.AppendAsync(ctx, r))
//	}
//	for _, f := range fs {
//		i, _, err := f.Wait(ctx)
//		...
//	}
//
// [Log.AppendBatch] queues many entries under one lock. Queuing blocks
// only when [Options.MaxPending] appends are already waiting for the
// sequencer, which bounds memory; the ctx of AppendAsync ends only that
// wait, and a queued record is appended whether or not anyone waits for
// it. Append and AppendKeyed are AppendAsync and AppendKeyedAsync followed
// by Wait.
//
// # Data layout
//
// The store holds data in tile shape (height 8, as sum.golang.org and
// c2sp.org/tlog-tiles). Keys sort by index:
//
//	"v"                  format version
//	"c"                  the latest signed checkpoint
//	"t" L N              hash tile L/N: its W level-8L hashes (32 bytes each)
//	"d" N off            records off.. of data tile N, each uvarint(length) || bytes
//	"k" key              uvarint(index) of the record appended with key
//
// A full hash tile (256 hashes, 8 KiB) is one value that never changes.
// The partial tile at the right edge of level 0 is not stored at all:
// Open recomputes it from the records of the partial data tile, so a
// commit writes no hash tile unless it completes one. The partial tile at
// the right edge of each level above changes once per 256 hashes of the
// level below and is rewritten then. The records of a full data tile are
// one value (one read for 256 records); while a data tile fills, each
// batch adds a chunk under its first offset, and the batch that fills the
// tile replaces the chunks by the single value.
//
// The format version is "tlogkit storage 2". A store of format 1 (which
// also rewrote the partial level-0 tile in every commit) is read as well,
// and upgraded by Open in one commit; a format 2 store is refused by
// older versions of this package.
//
// Every commit also stores when its records were logged (one small entry
// per commit): [Log.Times] and [Log.LoggedSince] answer from it, and
// record times strictly increase with the index (a module index,
// package goproxy's /index, is built on them). They are the log's own
// account, not covered by the signed checkpoint.
//
// # Opening
//
// [Open] checks the store before serving anything, and refuses with an
// explicit error: an empty store without [Options.Create] ([ErrNoLog]), a
// checkpoint not signed by [Options.Verifier] ([ErrVerify]) or with another
// origin ([ErrOrigin]), a store behind or inconsistent with the caller's
// [Options.LastKnown] checkpoint ([ErrRollback]), a right edge (records of
// the partial data tile, stored partial tiles) that does not hash to the
// stored checkpoint ([ErrCorrupt]). A second process (or
// handle) on the same store is refused by the backend ([ErrLocked]).
// The size-0 tree's hash is SHA-256 of the empty string.
//
// # Reading
//
// [Log.Checkpoint] returns the latest published signed checkpoint from
// memory. [Log.ReadRecords], [Log.ReadTile], [Log.Lookup],
// [Log.ProveRecord], [Log.ProveTree] and [Log.TreeHash] answer for any
// published tree size: full tiles come from a bounded cache of immutable
// tiles ([Options.CacheTiles]) or the backend, partial tiles from the
// in-memory right edge. A proof reads one tile per tile level (three up
// to 2^24 records) and each of them once. A cached tile holds all of its
// rows, computed when it is read and authenticated, in 16 KiB without
// pointers; cache hits take no lock. The hash of the one proof element
// that ends at the right edge of the latest tree is computed once per
// published tree, so a warm proof in the latest tree computes no hash.
//
// Nothing read from the backend is trusted: a full tile is used only if
// its root equals the hash above it (in an authenticated tile, or in the
// right edge, which Open checked against the signed checkpoint), and
// records are returned only if their leaf hashes match, so a corrupted
// store gives ErrCorrupt rather than a wrong tile, record or proof. (The
// key index cannot be checked against the tree: a caller that needs to
// can compare the record at the returned index with its key.)
//
// # Imported logs
//
// An [Importer] writes a copy of another log (package mirror uses it): it
// stores records at the indexes the origin gave them, each batch in one
// synced commit with its hash tiles, key index entries and import state,
// and only if the tree the records make hashes to the value the caller
// authenticated against the origin's signed tree head; the commit that
// completes that tree stores the origin's own signed note as the
// checkpoint, which a read-only Log on the same backend then serves.
// Nothing is signed locally. See import.go for the keys it adds.
//
// # Monitoring
//
// [Log.Stats] returns counters and distributions since Open (appends and
// their outcomes, commits, records and bytes written, the queue, the
// published tree and when it was published, fail-stop, tile cache hits
// and misses, commit and sync latencies, batch sizes), read from atomics
// without touching storage; package ops exports them to Prometheus.
//
// # Backends
//
// A [Backend] has four methods (Get, Scan, Commit, Close) whose contract
// the exported suite in storage/storagetest checks. Package
// storage/memstore is an in-memory backend that injects faults (a commit
// that fails without persisting, one that fails after persisting, failing
// reads); package storage/pebblestore keeps the log in Pebble, the
// embedded default. Importing storage does not compile Pebble.
//
// # Example
//
//	st, err := pebblestore.Open("/var/lib/mylog", nil)
//	if err != nil { ... }
//	log, err := storage.Open(ctx, st, storage.Options{
//		Origin:   "example.com/mylog",
//		Signer:   signer,   // note.NewSigner(skey)
//		Verifier: verifier, // note.NewVerifier(vkey)
//		Create:   true,
//	})
//	if err != nil { ... }
//	defer log.Close()
//	i, err := log.Append(ctx, []byte("hello\n"))
//	signed, tree := log.Checkpoint() // tree.N > i
//	proof, err := log.ProveRecord(ctx, tree.N, i)
package storage
