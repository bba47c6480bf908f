// Package tlog implements the hashing and proofs of a tamper-evident,
// append-only Merkle log, as described in RFC 6962 (and RFC 9162) and used
// by the Go checksum database, sum.golang.org.
//
// # Compatibility with x/mod
//
// Every function and type that golang.org/x/mod/sumdb/tlog has for hashes,
// stored-hash indexes, trees and proofs exists here with the same name,
// signature and results: [Hash], [HashSize], [ParseHash], [RecordHash],
// [NodeHash], [StoredHashIndex], [SplitStoredHashIndex], [StoredHashCount],
// [StoredHashes], [StoredHashesForRecordHash], [HashReader],
// [HashReaderFunc], [TreeHash], [RecordProof], [ProveRecord],
// [CheckRecord], [TreeProof], [ProveTree], [CheckTree] and [Tree]. A user
// of x/mod switches by changing the import path. The tests compare every
// result with x/mod's. The differences are all on input x/mod mishandles:
//
//   - Bad input is an error (wrapping [ErrInvalidInput]), never a panic or
//     a hang: negative sizes and indexes, an index not below the size, and
//     trees of more than 2^62 records in the functions that use stored-hash
//     indexes (whose int64 indexes end there; x/mod loops forever on such
//     sizes). [CheckRecord] and [CheckTree] use no stored hashes and accept
//     every size up to 2^63-1.
//   - A [HashReader] that returns the wrong number of hashes gives an error
//     wrapping [ErrHashCount] everywhere.
//   - [SplitStoredHashIndex] of a negative index returns (-1, -1).
//   - [ParseHash] accepts only the canonical form that [Hash.String]
//     writes; x/mod also accepts embedded newlines and nonzero unused bits.
//   - A proof that does not verify gives [ErrProofFailed].
//
// Tile coordinates and tile reading are in package tile, and the text
// forms of trees and records in package note.
//
// # Hashes
//
// A record's leaf hash is SHA-256(0x00 || record) ([RecordHash]); an
// interior node's hash is SHA-256(0x01 || left || right) ([NodeHash]). A
// tree of n records has the hash of RFC 6962's MTH: for n > 1, the node
// hash of the tree of the first k records and the tree of the rest, where
// k is the largest power of two smaller than n. The empty tree's hash is
// SHA-256 of the empty string.
//
// SHA-256 is computed by a copy specialised for these two message shapes,
// using the CPU's SHA instructions where there are any. [NodeHash] and
// [RecordHash] do not allocate. [AppendRecordHashes] and
// [AppendNodeHashes] hash many independent leaves or node pairs at once,
// two at a time interleaved, and spread large batches over all cores.
//
// # Stored hashes
//
// A log stores the hash of every complete subtree: every leaf, and every
// interior node whose leaves are all present. They are numbered densely in
// the order in which an append-only writer produces them: appending record
// n stores its leaf hash and then the hash of each subtree that record
// completes, from the bottom up ([StoredHashes]). For eight records:
//
//	level 3                            14
//	                        ┌───────────┴───────────┐
//	level 2                 6                       13
//	                  ┌─────┴─────┐           ┌─────┴─────┐
//	level 1           2           5           9           12
//	                ┌─┴─┐       ┌─┴─┐       ┌─┴─┐       ┌─┴─┐
//	level 0         0   1       3   4       7   8      10   11
//	record          0   1       2   3       4   5       6    7
//
// [StoredHashIndex](level, n) is the number of the n'th hash at that
// level: StoredHashIndex(0, 2) == 3, StoredHashIndex(1, 2) == 9,
// StoredHashIndex(3, 0) == 14. [SplitStoredHashIndex] is its inverse, and
// [StoredHashCount](n) is the number of hashes a tree of n records stores
// (2n - popcount(n)). A [HashReader] reads stored hashes by number; the
// functions that need hashes from storage make one ReadHashes call.
//
// # Proofs
//
// [ProveRecord] proves that a tree contains a record (an inclusion proof:
// the siblings on the path from the leaf to the root, bottom up) and
// [ProveTree] that a tree extends an older one (a consistency proof). They
// need at most about 2 log2(n) stored hashes. [CheckRecord] and
// [CheckTree] verify proofs without reading anything and without
// allocating; they follow RFC 9162, sections 2.1.3.2 and 2.1.4.2, and
// reject a proof of the wrong length before hashing.
//
// # Appending
//
// [StoredHashes] appends one record and must read up to 62 older hashes to
// do it. An [Appender] keeps instead the right edge of the tree in memory,
// the root of each complete subtree that makes up the tree (hashes 6 and
// 10 in a tree of seven records above; never more than 62), so appending
// reads nothing. [Appender.Append] takes a batch of records and returns
// every stored hash it creates, with the number of the first, ready to be
// written to storage or cut into tiles; [Appender.TreeHash] gives the new
// tree hash from the edge. A large batch is hashed on all cores: it is cut
// into aligned subtrees of up to 256 records whose leaves and interior
// nodes are independent, and only the few nodes above them are computed
// in order. A server starts an Appender once, with [NewAppender], reading
// the right edge of its tree from storage, and checks its TreeHash against
// its latest signed tree head before appending.
package tlog
