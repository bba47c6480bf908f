package note

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature, signature
// type 0x04). A cosigner (typically a witness) signs
//
//	cosignature/v1\n
//	time <POSIX seconds>\n
//	<checkpoint text>
//
// and the signature in the note is the 8-byte big-endian timestamp followed
// by the 64-byte Ed25519 signature. The key hash is computed over
// name || 0x0A || 0x04 || public key.

// cosigLen is the length of a cosignature after the key hash.
const cosigLen = 8 + ed25519.SignatureSize

// ErrMalformedCosignature reports a signature that is not a timestamped
// cosignature.
var ErrMalformedCosignature = errors.New("note: malformed cosignature")

// A Cosigner signs checkpoints with timestamped Ed25519 cosignatures. It
// implements [Signer]. It is safe for concurrent use if its clock is.
type Cosigner struct {
	name string
	hash uint32
	priv ed25519.PrivateKey
	now  func() time.Time
}

// GenerateCosignerKey returns a new cosigner key (secret) and the matching
// verifier key for the named cosigner. The keys have signature type 0x04:
// "PRIVATE+KEY+<name>+<hash>+<base64(0x04 || seed)>" and
// "<name>+<hash>+<base64(0x04 || public key)>".
func GenerateCosignerKey(rand io.Reader, name string) (skey, vkey string, err error) {
	return generateKey(rand, name, algCosignatureV1)
}

// NewCosignerVerifierKey returns the encoded cosignature verifier key (type
// 0x04) for the Ed25519 public key key under the given name.
func NewCosignerVerifierKey(name string, key ed25519.PublicKey) (string, error) {
	if !isValidName(name) {
		return "", fmt.Errorf("%w: invalid name %q", ErrMalformedKey, name)
	}
	if len(key) != ed25519.PublicKeySize {
		return "", fmt.Errorf("%w: public key is %d bytes, want %d", ErrMalformedKey, len(key), ed25519.PublicKeySize)
	}
	return encodeKey("", name, keyHash2(name, algCosignatureV1, key), algCosignatureV1, key), nil
}

// NewCosigner returns the Cosigner for a signer key of type 0x04 (see
// [GenerateCosignerKey]). now gives the time written into each cosignature;
// nil means time.Now. Plain Ed25519 note keys (type 0x01) are refused with
// [ErrUnknownAlgorithm]: a key that signs plain notes could be made to sign
// a text that reads as a cosignature message.
func NewCosigner(skey string, now func() time.Time) (*Cosigner, error) {
	name, hash, key, ok := splitSignerKey(skey)
	if !ok {
		return nil, ErrMalformedKey
	}
	if key[0] != algCosignatureV1 {
		return nil, ErrUnknownAlgorithm
	}
	if len(key) != 1+ed25519.SeedSize {
		return nil, ErrMalformedKey
	}
	priv := ed25519.NewKeyFromSeed(key[1:])
	if keyHash2(name, algCosignatureV1, priv.Public().(ed25519.PublicKey)) != hash {
		return nil, ErrKeyHashMismatch
	}
	if now == nil {
		now = time.Now
	}
	return &Cosigner{name: name, hash: hash, priv: priv, now: now}, nil
}

// Name returns the cosigner's name.
func (c *Cosigner) Name() string { return c.name }

// KeyHash returns the cosigner's key hash.
func (c *Cosigner) KeyHash() uint32 { return c.hash }

// Sign returns the timestamped cosignature of the checkpoint text msg at
// the cosigner clock's current time. It fails if msg is not a checkpoint
// (see [ParseCheckpoint]) or the clock reads before 1970.
func (c *Cosigner) Sign(msg []byte) ([]byte, error) {
	if _, err := ParseCheckpoint(msg); err != nil {
		return nil, fmt.Errorf("note: cosigning: %w", err)
	}
	ts := c.now().Unix()
	if ts < 0 {
		return nil, fmt.Errorf("note: cosigning: clock reads %d, before 1970", ts)
	}
	m := appendCosignedMessage(make([]byte, 0, 40+len(msg)), uint64(ts), msg)
	sig := make([]byte, 8, cosigLen)
	binary.BigEndian.PutUint64(sig, uint64(ts))
	return append(sig, ed25519.Sign(c.priv, m)...), nil
}

// VerifierKey returns the encoded verifier key of the cosigner's public
// key (type 0x04), which logs and clients configure.
func (c *Cosigner) VerifierKey() string {
	k, _ := NewCosignerVerifierKey(c.name, c.priv.Public().(ed25519.PublicKey))
	return k
}

// Verifier returns the Verifier for the cosigner's public key.
func (c *Cosigner) Verifier() Verifier {
	return &cosigVerifier{name: c.name, hash: c.hash, pub: c.priv.Public().(ed25519.PublicKey)}
}

// appendCosignedMessage appends the message a cosignature signs.
func appendCosignedMessage(b []byte, ts uint64, text []byte) []byte {
	b = append(b, "cosignature/v1\ntime "...)
	b = strconv.AppendUint(b, ts, 10)
	b = append(b, '\n')
	return append(b, text...)
}

// NewCosignatureVerifier returns the Verifier for an encoded cosignature
// verifier key "<name>+<hash>+<base64(0x04 || 32-byte public key)>". Use it
// in a [VerifierList] with [Open]; it accepts a signature only if it is a
// valid timestamped cosignature of the note text. Get the timestamp of a
// verified signature with [CosignatureTimestamp].
func NewCosignatureVerifier(vkey string) (Verifier, error) {
	name, hash, key, ok := splitKey(vkey)
	if !ok {
		return nil, ErrMalformedKey
	}
	if keyHash(name, key) != hash {
		return nil, ErrKeyHashMismatch
	}
	if key[0] != algCosignatureV1 {
		return nil, ErrUnknownAlgorithm
	}
	if len(key) != 1+ed25519.PublicKeySize {
		return nil, ErrMalformedKey
	}
	return &cosigVerifier{name: name, hash: hash, pub: ed25519.PublicKey(key[1:])}, nil
}

// cosigVerifier verifies timestamped Ed25519 cosignatures.
type cosigVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.hash }

func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != cosigLen {
		return false
	}
	ts := binary.BigEndian.Uint64(sig)
	if ts > 1<<63-1 {
		return false
	}
	var arr [256]byte
	m := appendCosignedMessage(arr[:0], ts, msg)
	return ed25519.Verify(v.pub, m, sig[8:])
}

// CosignatureTimestamp returns the time, in POSIX seconds, written in a
// timestamped cosignature. It only decodes: the timestamp is authentic only
// if sig is one of the verified Sigs that [Open] returned for a cosignature
// verifier.
func CosignatureTimestamp(sig Signature) (int64, error) {
	if len(sig.Base64) != base64.StdEncoding.EncodedLen(4+cosigLen) {
		return 0, fmt.Errorf("%w: wrong length", ErrMalformedCosignature)
	}
	var buf [4 + cosigLen + 2]byte
	n, err := base64.StdEncoding.Decode(buf[:], []byte(sig.Base64))
	if err != nil || n != 4+cosigLen || !isCanonicalBase64(sig.Base64) {
		return 0, fmt.Errorf("%w: bad base64", ErrMalformedCosignature)
	}
	if binary.BigEndian.Uint32(buf[:]) != sig.Hash {
		return 0, fmt.Errorf("%w: key hash does not match", ErrMalformedCosignature)
	}
	ts := binary.BigEndian.Uint64(buf[4:])
	if ts > 1<<63-1 {
		return 0, fmt.Errorf("%w: timestamp out of range", ErrMalformedCosignature)
	}
	return int64(ts), nil
}
