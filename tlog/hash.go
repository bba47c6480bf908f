package tlog

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// A Hash is a hash identifying a log record or tree root.
type Hash [HashSize]byte

// HashSize is the size of a Hash in bytes.
const HashSize = 32

// String returns the standard base64 form of the hash, as used in tree heads.
func (h Hash) String() string {
	return base64.StdEncoding.EncodeToString(h[:])
}

// MarshalJSON encodes the hash as a JSON string holding its base64 form.
func (h Hash) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+base64.StdEncoding.EncodedLen(HashSize))
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, h[:])
	return append(b, '"'), nil
}

// UnmarshalJSON decodes a JSON string holding the base64 form of a hash.
// It leaves h unchanged unless the whole input is well-formed.
func (h *Hash) UnmarshalJSON(data []byte) error {
	if len(data) != 2+44 || data[0] != '"' || data[len(data)-1] != '"' {
		return errors.New("cannot decode hash")
	}
	tmp, err := ParseHash(string(data[1 : len(data)-1]))
	if err != nil {
		return errors.New("cannot decode hash")
	}
	*h = tmp
	return nil
}

// ParseHash parses the standard base64 form of a hash, as written by
// [Hash.String]. Only the canonical form is accepted: exactly 44 characters,
// with padding, no embedded newlines and zero unused bits. (x/mod's ParseHash
// also accepts embedded newlines and nonzero unused bits; every string it
// accepts that we reject is one that String never writes.)
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 44 {
		return Hash{}, fmt.Errorf("malformed hash")
	}
	var buf [33]byte
	n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(s))
	if err != nil || n != HashSize {
		return Hash{}, fmt.Errorf("malformed hash")
	}
	copy(h[:], buf[:HashSize])
	return h, nil
}

// emptyHash is the hash of the empty tree: SHA-256 of the empty string
// (RFC 6962, section 2.1).
var emptyHash = Hash(sha256.Sum256(nil))

// RecordHash returns the leaf hash of a record: SHA-256(0x00 || data).
func RecordHash(data []byte) Hash {
	return leafHash(data)
}

// NodeHash returns the hash of an interior node with the given children:
// SHA-256(0x01 || left || right).
func NodeHash(left, right Hash) Hash {
	return nodeHash(&left, &right)
}
