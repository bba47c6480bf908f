package note

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits applied by [Open] and [Sign].
const (
	// MaxNoteSize is the largest signed note, in bytes, that Open accepts
	// and Sign produces (1 MiB).
	MaxNoteSize = 1 << 20

	// MaxSignatures is the largest number of signature lines, counting
	// unknown and repeated ones, that Open accepts and Sign produces. It is
	// the same cap as golang.org/x/mod/sumdb/note and well above the 16
	// that c2sp.org/signed-note requires verifiers to accept.
	MaxSignatures = 100
)

// Errors returned by [Open] and [Sign]. Errors carrying details wrap them,
// so test with errors.Is.
var (
	// ErrMalformedNote reports a message that is not a well-formed signed
	// note, or a Note that cannot be encoded as one.
	ErrMalformedNote = errors.New("note: malformed note")

	// ErrInvalidSigner reports a Signer whose name is not a valid key name
	// or that returned an empty signature.
	ErrInvalidSigner = errors.New("note: invalid signer")

	// ErrMismatchedVerifier reports a Verifiers that returned a nil Verifier
	// without error, or one whose name or key hash differs from the one
	// asked for.
	ErrMismatchedVerifier = errors.New("note: verifier name or hash does not match signature")

	// ErrUnverifiedNote matches every *UnverifiedNoteError with errors.Is.
	ErrUnverifiedNote = errors.New("note: note has no verifiable signatures")

	// ErrInvalidSignature matches every *InvalidSignatureError with errors.Is.
	ErrInvalidSignature = errors.New("note: invalid signature")
)

// A Note is a text and its signatures.
type Note struct {
	Text           string      // text of the note, ending in a newline
	Sigs           []Signature // signatures verified by a known key
	UnverifiedSigs []Signature // signatures by keys that are not known
}

// A Signature is one signature line of a note, verified or not.
type Signature struct {
	// Name and Hash identify the key that made the signature.
	Name string
	Hash uint32

	// Base64 is the signature as written in the note: the base64 encoding
	// of the 4-byte key hash followed by the signature bytes.
	Base64 string
}

// An UnverifiedNoteError reports a well-formed note that has no signature
// by a known key. The unverified note is available in the error, and its
// text must not be trusted.
type UnverifiedNoteError struct {
	Note *Note
}

func (e *UnverifiedNoteError) Error() string { return ErrUnverifiedNote.Error() }

// Is reports whether target is [ErrUnverifiedNote].
func (e *UnverifiedNoteError) Is(target error) bool { return target == ErrUnverifiedNote }

// An InvalidSignatureError reports a signature by a known key that its
// Verifier rejected.
type InvalidSignatureError struct {
	Name string
	Hash uint32
}

func (e *InvalidSignatureError) Error() string {
	return fmt.Sprintf("note: invalid signature for key %s+%08x", e.Name, e.Hash)
}

// Is reports whether target is [ErrInvalidSignature].
func (e *InvalidSignatureError) Is(target error) bool { return target == ErrInvalidSignature }

const sigPrefix = "— " // em dash (U+2014), space

// validNoteBytes reports whether b is valid UTF-8 without ASCII control
// characters other than newline.
func validNoteBytes(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	// In valid UTF-8, every byte below 0x20 is an ASCII control character.
	// Test eight bytes at a time whether any is below 0x20 (the test has
	// false positives but no false negatives), and look closer if so.
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if (w-0x2020202020202020)&^w&0x8080808080808080 != 0 && !noControl(b[i:i+8]) {
			return false
		}
	}
	return noControl(b[i:])
}

func noControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' {
			return false
		}
	}
	return true
}

// lastBlankLine returns the index of the last "\n\n" in b, or -1, like
// bytes.LastIndex(b, []byte("\n\n")).
func lastBlankLine(b []byte) int {
	for i := len(b); i > 1; {
		j := bytes.LastIndexByte(b[:i], '\n')
		if j <= 0 {
			return -1
		}
		if b[j-1] == '\n' {
			return j - 1
		}
		i = j - 1
	}
	return -1
}

func validNoteString(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		i += size
	}
	return true
}

// isCanonicalBase64 reports whether s is the exact encoding that
// base64.StdEncoding produces for the len(dec) bytes it decoded to: every
// unused bit of the last character is zero. Only call it on strings that
// StdEncoding decoded successfully and that contain no newlines.
func isCanonicalBase64(s string) bool {
	if len(s) == 0 || len(s)%4 != 0 {
		return false
	}
	var unused uint // low bits of the last data character that carry nothing
	switch {
	case s[len(s)-2] == '=':
		unused = 4
		s = s[:len(s)-2]
	case s[len(s)-1] == '=':
		unused = 2
		s = s[:len(s)-1]
	default:
		return true
	}
	v := base64Index(s[len(s)-1])
	return v >= 0 && v&(1<<unused-1) == 0
}

func base64Index(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	case '0' <= c && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

// noteBlock holds a Note together with room for its first signatures and a
// decoding buffer, so that opening a typical note costs few allocations.
type noteBlock struct {
	note Note
	sigs [2]Signature
	buf  [80]byte // fits 4+8+64 bytes, a cosignature
}

// Open parses the signed note msg and verifies its signatures against the
// known keys.
//
// For each signature line, Open asks known for the Verifier of the line's
// key name and hash. A signature by an unknown key (an *UnknownVerifierError
// from known) is recorded in UnverifiedSigs, once per distinct line. A
// signature by a known key must verify, or Open fails with an
// *InvalidSignatureError; it is recorded in Sigs once per key. Any other
// error from known makes Open fail with that error. If no known key signed
// the note, Open fails with an *UnverifiedNoteError holding the parsed note.
//
// A message is malformed ([ErrMalformedNote]) if it is larger than
// [MaxNoteSize], is not valid UTF-8, contains an ASCII control character
// other than newline, has no blank line before the signatures, does not end
// in a newline, has a signature line not of the form "— <name> <base64>",
// has a signature shorter than five bytes, or has more than [MaxSignatures]
// signature lines. The text is everything up to and including the newline
// before the last blank line.
//
// Open accepts and rejects exactly what golang.org/x/mod/sumdb/note.Open
// does, with the same result, except that it rejects notes larger than
// [MaxNoteSize], and it fails with an *InvalidSignatureError where x/mod
// would accept a signature by a known key that is either written in
// non-canonical base64 (nonzero unused bits, so a one-bit change of the
// note goes unnoticed) or a second, different signature line for a key
// whose first one verified (x/mod does not check the second one at all).
//
// Open passes Verify a buffer that it reuses; Verify must not retain it.
func Open(msg []byte, known Verifiers) (*Note, error) {
	if known == nil {
		known = emptyList
	}
	if len(msg) > MaxNoteSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformedNote, MaxNoteSize)
	}
	if !validNoteBytes(msg) {
		return nil, fmt.Errorf("%w: invalid UTF-8 or control character", ErrMalformedNote)
	}
	split := lastBlankLine(msg)
	if split < 0 {
		return nil, fmt.Errorf("%w: no blank line before signatures", ErrMalformedNote)
	}
	if msg[len(msg)-1] != '\n' || split+2 == len(msg) {
		return nil, fmt.Errorf("%w: no signatures or no final newline", ErrMalformedNote)
	}

	// One string holds the text and every name and base64 signature.
	all := string(msg)
	text := msg[:split+1]
	blk := &noteBlock{}
	n := &blk.note
	n.Text = all[:split+1]
	buf := blk.buf[:]

	// Signatures go into one array: verified ones from the front,
	// unverified ones from the back (reversed at the end).
	sigs := blk.sigs[:]
	if lines := bytes.Count(msg[split+2:], []byte{'\n'}); lines > len(sigs) {
		sigs = make([]Signature, min(lines, MaxSignatures))
	}
	nv, nu := 0, 0
	list, _ := known.(*verifierList)

	numSig := 0
	for pos := split + 2; pos < len(all); {
		end := pos + indexByteString(all[pos:], '\n')
		line := all[pos:end]
		pos = end + 1

		rest, ok := cutPrefix(line, sigPrefix)
		if !ok {
			return nil, fmt.Errorf("%w: signature line does not start with %q", ErrMalformedNote, sigPrefix)
		}
		name, b64 := rest, ""
		if i := indexByteString(rest, ' '); i >= 0 {
			name, b64 = rest[:i], rest[i+1:]
		}
		if !isValidName(name) || b64 == "" {
			return nil, fmt.Errorf("%w: bad signature line", ErrMalformedNote)
		}
		if max := base64.StdEncoding.DecodedLen(len(b64)); max > len(buf) {
			buf = make([]byte, max)
		}
		// b64 ends the line: decode the same bytes from msg, without
		// converting the string.
		nsig, err := base64.StdEncoding.Decode(buf, msg[end-len(b64):end])
		if err != nil || nsig < 5 {
			return nil, fmt.Errorf("%w: bad signature encoding", ErrMalformedNote)
		}
		hash := binary.BigEndian.Uint32(buf)
		sig := buf[4:nsig]

		if numSig++; numSig > MaxSignatures {
			return nil, fmt.Errorf("%w: more than %d signatures", ErrMalformedNote, MaxSignatures)
		}

		// Find the verifier. A VerifierList is searched directly, without
		// allocating an error for every unknown key.
		var v Verifier
		unknown := false
		if list != nil {
			i := list.find(nameHash{name, hash})
			switch {
			case i < 0:
				unknown = true
			case list.keys[i].ambiguous:
				return nil, &AmbiguousVerifierError{Name: name, KeyHash: hash}
			default:
				v = list.keys[i].v
			}
		} else {
			v, err = known.Verifier(name, hash)
			if err != nil {
				var uerr *UnknownVerifierError
				if !errors.As(err, &uerr) {
					return nil, err
				}
				unknown = true
			}
		}
		if unknown {
			if !containsSig(sigs[len(sigs)-nu:], name, b64) {
				nu++
				sigs[len(sigs)-nu] = Signature{Name: name, Hash: hash, Base64: b64}
			}
			continue
		}
		if v == nil || v.Name() != name || v.KeyHash() != hash {
			return nil, ErrMismatchedVerifier
		}
		prev := findKey(sigs[:nv], name, hash)
		if prev >= 0 && sigs[prev].Base64 == b64 {
			continue // the same line again: already verified
		}
		if !isCanonicalBase64(b64) || !v.Verify(text, sig) {
			return nil, &InvalidSignatureError{Name: name, Hash: hash}
		}
		if prev < 0 {
			sigs[nv] = Signature{Name: name, Hash: hash, Base64: b64}
			nv++
		}
	}
	if nv > 0 {
		n.Sigs = sigs[:nv:nv]
	}
	if nu > 0 {
		u := sigs[len(sigs)-nu:]
		for i, j := 0, len(u)-1; i < j; i, j = i+1, j-1 {
			u[i], u[j] = u[j], u[i]
		}
		n.UnverifiedSigs = u
	}
	if n.Sigs == nil {
		return nil, &UnverifiedNoteError{Note: n}
	}
	return n, nil
}

var emptyList = VerifierList()

func indexByteString(s string, c byte) int { return strings.IndexByte(s, c) }

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

func containsSig(list []Signature, name, b64 string) bool {
	for i := range list {
		if list[i].Base64 == b64 && list[i].Name == name {
			return true
		}
	}
	return false
}

func findKey(list []Signature, name string, hash uint32) int {
	for i := range list {
		if list[i].Hash == hash && list[i].Name == name {
			return i
		}
	}
	return -1
}

// Sign returns the signed note with n's text, n's existing signatures
// (first Sigs, then UnverifiedSigs) and then one new signature from each
// signer, in order. An existing signature by the same key (name and hash) as
// one of the signers is dropped.
//
// Sign fails with [ErrMalformedNote] if n.Text does not end in a newline,
// is not valid UTF-8 or contains an ASCII control character other than
// newline, if an existing signature has an invalid name or a Base64 that is
// not valid base64 starting with its Hash, or if the result would exceed
// [MaxNoteSize] or [MaxSignatures]. It fails with [ErrInvalidSigner] if a
// signer's name is invalid or its signature is empty, and with a signer's
// own error if signing fails. (golang.org/x/mod/sumdb/note.Sign checks only
// the final newline and the decoded hash, and so can write notes that no
// implementation opens.)
func Sign(n *Note, signers ...Signer) ([]byte, error) {
	if len(n.Text) == 0 || n.Text[len(n.Text)-1] != '\n' || !validNoteString(n.Text) {
		return nil, fmt.Errorf("%w: text must be valid UTF-8 without control characters, ending in a newline", ErrMalformedNote)
	}
	if len(n.Text) > MaxNoteSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformedNote, MaxNoteSize)
	}
	for _, s := range signers {
		if s == nil {
			return nil, fmt.Errorf("%w: nil Signer", ErrInvalidSigner)
		}
	}

	// Check the existing signatures and size the output.
	size := len(n.Text) + 1
	count := len(signers)
	var hbuf [8]byte
	for _, list := range [2][]Signature{n.Sigs, n.UnverifiedSigs} {
		for i := range list {
			s := &list[i]
			if !isValidName(s.Name) {
				return nil, fmt.Errorf("%w: invalid key name %q", ErrMalformedNote, s.Name)
			}
			if replaced(signers, s.Name, s.Hash) {
				continue
			}
			if !validSigBase64(s.Base64) {
				return nil, fmt.Errorf("%w: bad signature encoding for %s", ErrMalformedNote, s.Name)
			}
			// The first 8 characters hold the 4-byte key hash.
			if _, err := base64.StdEncoding.Decode(hbuf[:], []byte(s.Base64[:8])); err != nil || binary.BigEndian.Uint32(hbuf[:]) != s.Hash {
				return nil, fmt.Errorf("%w: signature for %s does not start with its key hash", ErrMalformedNote, s.Name)
			}
			size += len(sigPrefix) + len(s.Name) + 1 + len(s.Base64) + 1
			count++
		}
	}
	if count > MaxSignatures {
		return nil, fmt.Errorf("%w: more than %d signatures", ErrMalformedNote, MaxSignatures)
	}
	for _, s := range signers {
		size += len(sigPrefix) + len(s.Name()) + 1 + base64.StdEncoding.EncodedLen(4+64) + 1
	}

	out := make([]byte, 0, size)
	out = append(out, n.Text...)
	text := out[:len(n.Text):len(n.Text)]
	out = append(out, '\n')
	for _, list := range [2][]Signature{n.Sigs, n.UnverifiedSigs} {
		for i := range list {
			s := &list[i]
			if replaced(signers, s.Name, s.Hash) {
				continue
			}
			out = appendSigLine(out, s.Name, s.Base64)
		}
	}
	var rawArr [4 + 64 + 8]byte
	raw := rawArr[:0]
	for _, s := range signers {
		name := s.Name()
		if !isValidName(name) {
			return nil, fmt.Errorf("%w: invalid name %q", ErrInvalidSigner, name)
		}
		sig, err := s.Sign(text)
		if err != nil {
			return nil, err
		}
		if len(sig) == 0 {
			return nil, fmt.Errorf("%w: %s returned an empty signature", ErrInvalidSigner, name)
		}
		raw = binary.BigEndian.AppendUint32(raw[:0], s.KeyHash())
		raw = append(raw, sig...)
		out = append(out, sigPrefix...)
		out = append(out, name...)
		out = append(out, ' ')
		out = base64.StdEncoding.AppendEncode(out, raw)
		out = append(out, '\n')
	}
	if len(out) > MaxNoteSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformedNote, MaxNoteSize)
	}
	return out, nil
}

func appendSigLine(b []byte, name, b64 string) []byte {
	b = append(b, sigPrefix...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, b64...)
	return append(b, '\n')
}

// replaced reports whether one of signers has the given name and hash.
func replaced(signers []Signer, name string, hash uint32) bool {
	for _, s := range signers {
		if s.KeyHash() == hash && s.Name() == name {
			return true
		}
	}
	return false
}

// validSigBase64 reports whether s is padded standard base64 of at least
// five bytes, without any characters (such as newlines) that decoders skip.
func validSigBase64(s string) bool {
	if len(s) < 8 || len(s)%4 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if base64Index(s[i]) < 0 && !(s[i] == '=' && i >= len(s)-2) {
			return false
		}
	}
	n := len(s) / 4 * 3
	for i := len(s) - 1; i >= 0 && s[i] == '='; i-- {
		n--
	}
	if n < 5 {
		return false
	}
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil
}
