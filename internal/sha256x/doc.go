// Package sha256x computes the two SHA-256 hashes of an RFC 6962 Merkle
// tree, Leaf = SHA-256(0x00 || record) and Node = SHA-256(0x01 || left ||
// right), faster than crypto/sha256 by specialising on their shapes.
package sha256x
