package note

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A Verifier checks signatures made by one key.
//
// Open calls Verify with the note text (ending in a newline) and the raw
// signature bytes that follow the 4-byte key hash. Verify must not modify
// or retain either slice.
type Verifier interface {
	// Name returns the name of the key (a server or witness name).
	Name() string

	// KeyHash returns the 32-bit key hash (key ID) of the key.
	KeyHash() uint32

	// Verify reports whether sig is a valid signature of msg by this key.
	Verify(msg, sig []byte) bool
}

// A Signer signs note texts with one key.
type Signer interface {
	// Name returns the name of the key.
	Name() string

	// KeyHash returns the 32-bit key hash (key ID) of the key.
	KeyHash() uint32

	// Sign returns the signature of msg. The signature bytes are written
	// to the note after the 4-byte key hash.
	Sign(msg []byte) ([]byte, error)
}

// Signature types (the first byte of an encoded key). See c2sp.org/signed-note.
const (
	algEd25519       = 0x01 // plain Ed25519 note signatures
	algCosignatureV1 = 0x04 // timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature)
)

// Errors returned when decoding keys.
var (
	// ErrMalformedKey reports a verifier or signer key string that does not
	// have the form name+hash+base64 (or PRIVATE+KEY+name+hash+base64), has
	// an invalid name, or holds key material of the wrong size.
	ErrMalformedKey = errors.New("note: malformed key")

	// ErrUnknownAlgorithm reports a key whose signature type byte is not
	// supported by the constructor it was given to.
	ErrUnknownAlgorithm = errors.New("note: unknown key algorithm")

	// ErrKeyHashMismatch reports a key whose written key hash does not match
	// the hash computed from its name and public key.
	ErrKeyHashMismatch = errors.New("note: key hash does not match key")
)

// keyHash returns the key ID of an encoded public key (signature type byte
// followed by the key material): the first four bytes, big-endian, of
// SHA-256(name || "\n" || key).
func keyHash(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n'})
	h.Write(key)
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint32(h.Sum(sum[:0]))
}

// keyHash2 is keyHash for a key given as type byte and key material, without
// building the concatenation.
func keyHash2(name string, alg byte, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', alg})
	h.Write(pub)
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint32(h.Sum(sum[:0]))
}

// isValidName reports whether name can name a key: non-empty, valid UTF-8,
// no Unicode white space and no '+'.
func isValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			if c == '+' || c == ' ' || c-'\t' <= '\r'-'\t' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		if r == utf8.RuneError && size == 1 || unicode.IsSpace(r) {
			return false
		}
		i += size
	}
	return true
}

// parseHex32 parses exactly eight hexadecimal digits (either case).
func parseHex32(s string) (uint32, bool) {
	if len(s) != 8 {
		return 0, false
	}
	var v uint32
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(c)
	}
	return v, true
}

// splitKey splits "name+hash+base64" into its three parts and decodes the
// hash and the key bytes. The base64 part may itself contain '+'.
func splitKey(s string) (name string, hash uint32, key []byte, ok bool) {
	name, rest, _ := strings.Cut(s, "+")
	hash16, key64, _ := strings.Cut(rest, "+")
	hash, ok1 := parseHex32(hash16)
	key, err := base64.StdEncoding.DecodeString(key64)
	if !ok1 || err != nil || !isValidName(name) || len(key) == 0 {
		return "", 0, nil, false
	}
	return name, hash, key, true
}

// NewVerifier returns the Verifier for an encoded verifier key
// "<name>+<hash>+<base64 key>", where the key is the byte 0x01 followed by
// a 32-byte Ed25519 public key. It accepts exactly the keys that
// golang.org/x/mod/sumdb/note's NewVerifier accepts. For timestamped
// cosignature keys (type 0x04), use [NewCosignatureVerifier].
func NewVerifier(vkey string) (Verifier, error) {
	name, hash, key, ok := splitKey(vkey)
	if !ok {
		return nil, ErrMalformedKey
	}
	if keyHash(name, key) != hash {
		return nil, ErrKeyHashMismatch
	}
	if key[0] != algEd25519 {
		return nil, ErrUnknownAlgorithm
	}
	if len(key) != 1+ed25519.PublicKeySize {
		return nil, ErrMalformedKey
	}
	return &edVerifier{name: name, hash: hash, pub: ed25519.PublicKey(key[1:])}, nil
}

// edVerifier verifies plain Ed25519 note signatures.
type edVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func (v *edVerifier) Name() string    { return v.name }
func (v *edVerifier) KeyHash() uint32 { return v.hash }
func (v *edVerifier) Verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(v.pub, msg, sig)
}

// splitSignerKey splits "PRIVATE+KEY+name+hash+base64".
func splitSignerKey(skey string) (name string, hash uint32, key []byte, ok bool) {
	rest, found := strings.CutPrefix(skey, "PRIVATE+KEY+")
	if !found {
		return "", 0, nil, false
	}
	return splitKey(rest)
}

// NewSigner returns the Signer for an encoded signer key
// "PRIVATE+KEY+<name>+<hash>+<base64 key>", where the key is the byte 0x01
// followed by a 32-byte Ed25519 seed and the hash is the key hash of the
// matching public key. Anyone holding the signer key can sign as name.
func NewSigner(skey string) (Signer, error) {
	name, hash, key, ok := splitSignerKey(skey)
	if !ok {
		return nil, ErrMalformedKey
	}
	if key[0] != algEd25519 {
		return nil, ErrUnknownAlgorithm
	}
	if len(key) != 1+ed25519.SeedSize {
		return nil, ErrMalformedKey
	}
	priv := ed25519.NewKeyFromSeed(key[1:])
	if keyHash2(name, algEd25519, priv.Public().(ed25519.PublicKey)) != hash {
		return nil, ErrKeyHashMismatch
	}
	return &edSigner{name: name, hash: hash, priv: priv}, nil
}

// edSigner makes plain Ed25519 note signatures.
type edSigner struct {
	name string
	hash uint32
	priv ed25519.PrivateKey
}

func (s *edSigner) Name() string                    { return s.name }
func (s *edSigner) KeyHash() uint32                 { return s.hash }
func (s *edSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.priv, msg), nil }

// GenerateKey returns a new Ed25519 signer key (secret) and the matching
// verifier key for the named server, reading randomness from rand.
func GenerateKey(rand io.Reader, name string) (skey, vkey string, err error) {
	return generateKey(rand, name, algEd25519)
}

func generateKey(rand io.Reader, name string, alg byte) (skey, vkey string, err error) {
	if !isValidName(name) {
		return "", "", fmt.Errorf("%w: invalid name %q", ErrMalformedKey, name)
	}
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return "", "", fmt.Errorf("note: generating key: %w", err)
	}
	hash := keyHash2(name, alg, pub)
	skey = encodeKey("PRIVATE+KEY+", name, hash, alg, priv.Seed())
	vkey = encodeKey("", name, hash, alg, pub)
	return skey, vkey, nil
}

// encodeKey writes prefix || name "+" hash "+" base64(alg || key).
func encodeKey(prefix, name string, hash uint32, alg byte, key []byte) string {
	raw := make([]byte, 0, 1+len(key))
	raw = append(raw, alg)
	raw = append(raw, key...)
	b := make([]byte, 0, len(prefix)+len(name)+10+base64.StdEncoding.EncodedLen(len(raw)))
	b = append(b, prefix...)
	b = append(b, name...)
	b = append(b, '+')
	b = fmt.Appendf(b, "%08x", hash)
	b = append(b, '+')
	b = base64.StdEncoding.AppendEncode(b, raw)
	return string(b)
}

// NewEd25519VerifierKey returns the encoded verifier key for the Ed25519
// public key key under the given name.
func NewEd25519VerifierKey(name string, key ed25519.PublicKey) (string, error) {
	if !isValidName(name) {
		return "", fmt.Errorf("%w: invalid name %q", ErrMalformedKey, name)
	}
	if len(key) != ed25519.PublicKeySize {
		return "", fmt.Errorf("%w: public key is %d bytes, want %d", ErrMalformedKey, len(key), ed25519.PublicKeySize)
	}
	return encodeKey("", name, keyHash2(name, algEd25519, key), algEd25519, key), nil
}

// A Verifiers finds the Verifier of a key by its name and key hash.
type Verifiers interface {
	// Verifier returns the Verifier of the key with the given name and
	// hash. If there is none, it returns an *UnknownVerifierError, which
	// makes Open record the signature as unverified. Any other error makes
	// Open fail.
	Verifier(name string, hash uint32) (Verifier, error)
}

// An UnknownVerifierError reports that no known key has the given name and
// key hash.
type UnknownVerifierError struct {
	Name    string
	KeyHash uint32
}

func (e *UnknownVerifierError) Error() string {
	return fmt.Sprintf("note: unknown key %s+%08x", e.Name, e.KeyHash)
}

// Is reports whether target is [ErrUnknownKey].
func (e *UnknownVerifierError) Is(target error) bool { return target == ErrUnknownKey }

// ErrUnknownKey matches every *UnknownVerifierError with errors.Is.
var ErrUnknownKey = errors.New("note: unknown key")

// An AmbiguousVerifierError reports that several verifiers given to
// [VerifierList] share a name and key hash. The list is then unusable for
// that key: a signature from it cannot be checked and Open fails.
type AmbiguousVerifierError struct {
	Name    string
	KeyHash uint32
}

func (e *AmbiguousVerifierError) Error() string {
	return fmt.Sprintf("note: ambiguous key %s+%08x", e.Name, e.KeyHash)
}

// smallList is the size up to which VerifierList searches its list
// linearly instead of building a map.
const smallList = 8

// VerifierList returns a Verifiers that knows the given verifiers. Two
// verifiers with the same name and key hash make that pair ambiguous. Nil
// entries are skipped.
// The list is read-only after the call and safe for concurrent use.
func VerifierList(list ...Verifier) Verifiers {
	l := &verifierList{keys: make([]listEntry, 0, len(list))}
	if len(list) > smallList {
		l.index = make(map[nameHash]int, len(list))
	}
	for _, v := range list {
		if v == nil {
			continue
		}
		k := nameHash{v.Name(), v.KeyHash()}
		if i := l.find(k); i >= 0 {
			l.keys[i].ambiguous = true
			continue
		}
		if l.index != nil {
			l.index[k] = len(l.keys)
		}
		l.keys = append(l.keys, listEntry{key: k, v: v})
	}
	return l
}

type nameHash struct {
	name string
	hash uint32
}

type listEntry struct {
	key       nameHash
	v         Verifier
	ambiguous bool
}

type verifierList struct {
	keys  []listEntry
	index map[nameHash]int // nil for short lists
}

// find returns the index of k in l.keys, or -1.
func (l *verifierList) find(k nameHash) int {
	if l.index != nil {
		if i, ok := l.index[k]; ok {
			return i
		}
		return -1
	}
	for i := range l.keys {
		if l.keys[i].key == k {
			return i
		}
	}
	return -1
}

func (l *verifierList) Verifier(name string, hash uint32) (Verifier, error) {
	i := l.find(nameHash{name, hash})
	if i < 0 {
		return nil, &UnknownVerifierError{Name: name, KeyHash: hash}
	}
	if l.keys[i].ambiguous {
		return nil, &AmbiguousVerifierError{Name: name, KeyHash: hash}
	}
	return l.keys[i].v, nil
}
