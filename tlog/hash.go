package tlog

import (
	"encoding/base64"
	"errors"
	"fmt"
)

// A Hash is a hash identifying a log record or tree root.
type Hash [HashSize]byte

// HashSize is the size of a Hash in bytes.
const HashSize = 32

// Errors returned by this package. They are sentinels for [errors.Is]; the
// returned errors wrap them with the details of the call.
var (
	// ErrMalformedHash reports a hash string that is not the canonical
	// base64 form written by [Hash.String].
	ErrMalformedHash = errors.New("tlog: malformed hash")

	// ErrInvalidInput reports a size or index out of range: negative, an
	// index not below the tree size, or a tree too large for stored-hash
	// indexes (more than 2^62 records).
	ErrInvalidInput = errors.New("tlog: invalid input")

	// ErrHashCount reports a [HashReader] that returned a number of
	// hashes other than the number of indexes it was asked for.
	ErrHashCount = errors.New("tlog: hash reader returned wrong number of hashes")

	// ErrProofFailed is returned by [CheckRecord] and [CheckTree] when a
	// well-formed question gets a proof that does not verify.
	ErrProofFailed = errors.New("tlog: invalid transparency proof")
)

// errProofFailed is the name x/mod uses; kept for the code's readability.
var errProofFailed = ErrProofFailed

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

// UnmarshalJSON decodes a JSON string holding the canonical base64 form of
// a hash. It leaves h unchanged unless the whole input is well-formed.
func (h *Hash) UnmarshalJSON(data []byte) error {
	if len(data) != 2+44 || data[0] != '"' || data[len(data)-1] != '"' {
		return fmt.Errorf("%w: cannot decode JSON hash", ErrMalformedHash)
	}
	tmp, err := ParseHash(string(data[1 : len(data)-1]))
	if err != nil {
		return fmt.Errorf("%w: cannot decode JSON hash", ErrMalformedHash)
	}
	*h = tmp
	return nil
}

// ParseHash parses the standard base64 form of a hash, as written by
// [Hash.String].
//
// Only the canonical form is accepted: exactly 44 characters of the standard
// alphabet ending in one '=', with the unused low bits of the last character
// zero. This is stricter than x/mod's ParseHash, which also skips embedded
// '\r' and '\n' and ignores the unused bits, so that several strings parse
// to one hash. Every string x/mod accepts and this function rejects is one
// that [Hash.String] never writes; on every string both accept they return
// the same hash. The errors wrap [ErrMalformedHash].
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 44 || s[43] != '=' {
		return Hash{}, ErrMalformedHash
	}
	var in [44]byte
	copy(in[:], s)
	var buf [33]byte
	n, err := strictBase64.Decode(buf[:], in[:])
	if err != nil || n != HashSize {
		return Hash{}, ErrMalformedHash
	}
	copy(h[:], buf[:HashSize])
	return h, nil
}

// strictBase64 is the standard base64 encoding that rejects nonzero unused
// bits. It is never modified.
var strictBase64 = base64.StdEncoding.Strict()

// emptyHash is the hash of the empty tree: SHA-256 of the empty string
// (RFC 6962, section 2.1).
var emptyHash = Hash{
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
	0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
	0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
}

// RecordHash returns the leaf hash of a record: SHA-256(0x00 || data)
// (RFC 6962, section 2.1). It does not allocate.
func RecordHash(data []byte) Hash {
	return leafHash(data)
}

// NodeHash returns the hash of an interior node with the given children:
// SHA-256(0x01 || left || right) (RFC 6962, section 2.1). It does not
// allocate.
func NodeHash(left, right Hash) Hash {
	return nodeHash(&left, &right)
}
