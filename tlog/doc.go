// Package tlog implements the hashing and proofs of a tamper-evident,
// append-only Merkle log, as described in RFC 6962 and used by the Go
// checksum database.
//
// Every function and type that golang.org/x/mod/sumdb/tlog has for hashes,
// stored-hash indexes, trees and proofs exists here with the same name,
// signature and behaviour, so a user switches by changing the import path.
package tlog
