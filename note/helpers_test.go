package note

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	xnote "golang.org/x/mod/sumdb/note"
)

// testKey returns a deterministic signer and verifier key of the given type,
// derived from a seed made of the byte seed repeated.
func testKey(name string, seed byte, alg byte) (skey, vkey string) {
	s := bytes.Repeat([]byte{seed}, ed25519.SeedSize)
	pub := ed25519.NewKeyFromSeed(s).Public().(ed25519.PublicKey)
	h := keyHash2(name, alg, pub)
	return encodeKey("PRIVATE+KEY+", name, h, alg, s), encodeKey("", name, h, alg, pub)
}

// keyPair is a key usable by both implementations.
type keyPair struct {
	skey, vkey string
	signer     Signer
	verifier   Verifier
	xsigner    xnote.Signer
	xverifier  xnote.Verifier
}

func newKeyPair(t testing.TB, name string, seed byte) keyPair {
	t.Helper()
	skey, vkey := testKey(name, seed, algEd25519)
	k := keyPair{skey: skey, vkey: vkey}
	var err error
	k.signer, err = NewSigner(skey)
	require.NoError(t, err)
	k.verifier, err = NewVerifier(vkey)
	require.NoError(t, err)
	k.xsigner, err = xnote.NewSigner(skey)
	require.NoError(t, err)
	k.xverifier, err = xnote.NewVerifier(vkey)
	require.NoError(t, err)
	return k
}

// fromX converts an x/mod signature list.
func fromX(list []xnote.Signature) []Signature {
	if list == nil {
		return nil
	}
	out := make([]Signature, len(list))
	for i, s := range list {
		out[i] = Signature{Name: s.Name, Hash: s.Hash, Base64: s.Base64}
	}
	return out
}

func toX(list []Signature) []xnote.Signature {
	if list == nil {
		return nil
	}
	out := make([]xnote.Signature, len(list))
	for i, s := range list {
		out[i] = xnote.Signature{Name: s.Name, Hash: s.Hash, Base64: s.Base64}
	}
	return out
}

// sigLinesByKey returns, for each name+hash, the distinct base64 strings of
// the well-formed signature lines of msg (best effort, for classifying
// documented differences).
func sigLinesByKey(msg []byte) map[nameHash][]string {
	out := map[nameHash][]string{}
	split := bytes.LastIndex(msg, []byte("\n\n"))
	if split < 0 {
		return out
	}
	for _, line := range strings.Split(string(msg[split+2:]), "\n") {
		rest, ok := strings.CutPrefix(line, sigPrefix)
		if !ok {
			continue
		}
		name, b64, _ := strings.Cut(rest, " ")
		var buf [8]byte
		if len(b64) < 8 {
			continue
		}
		if _, err := b64dec(buf[:], b64[:8]); err != nil {
			continue
		}
		k := nameHash{name, uint32(buf[0])<<24 | uint32(buf[1])<<16 | uint32(buf[2])<<8 | uint32(buf[3])}
		seen := false
		for _, s := range out[k] {
			seen = seen || s == b64
		}
		if !seen {
			out[k] = append(out[k], b64)
		}
	}
	return out
}

// compareOpen opens msg with both implementations and fails t if they
// disagree in a way that is not one of the documented differences.
// It returns our result.
func compareOpen(t testing.TB, msg []byte, known Verifiers, xknown xnote.Verifiers) (*Note, error) {
	t.Helper()
	n, err := Open(msg, known)
	xn, xerr := xnote.Open(msg, xknown)

	// Documented difference: size cap.
	if len(msg) > MaxNoteSize {
		require.ErrorIs(t, err, ErrMalformedNote)
		return n, err
	}
	// Documented difference: a known key's line that x/mod never checks or
	// decodes leniently.
	var inv *InvalidSignatureError
	if errors.As(err, &inv) {
		var xinv *xnote.InvalidSignatureError
		if errors.As(xerr, &xinv) && xinv.Name == inv.Name && xinv.Hash == inv.Hash {
			return n, err
		}
		lines := sigLinesByKey(msg)[nameHash{inv.Name, inv.Hash}]
		allowed := len(lines) > 1
		for _, l := range lines {
			allowed = allowed || !isCanonicalBase64(l)
		}
		if !allowed {
			t.Fatalf("Open(%q): ours %v, x/mod %v", msg, err, xerr)
		}
		return n, err
	}

	switch {
	case xerr == nil:
		if err != nil {
			t.Fatalf("Open(%q): ours %v, x/mod accepted", msg, err)
		}
		require.Equal(t, xn.Text, n.Text)
		require.Equal(t, fromX(xn.Sigs), n.Sigs)
		require.Equal(t, fromX(xn.UnverifiedSigs), n.UnverifiedSigs)
	case xerr.Error() == "malformed note":
		if !errors.Is(err, ErrMalformedNote) {
			t.Fatalf("Open(%q): ours %v, x/mod %v", msg, err, xerr)
		}
	default:
		var xun *xnote.UnverifiedNoteError
		var un *UnverifiedNoteError
		var xinv *xnote.InvalidSignatureError
		var amb *AmbiguousVerifierError
		switch {
		case errors.As(xerr, &xun):
			if !errors.As(err, &un) {
				t.Fatalf("Open(%q): ours %v, x/mod %v", msg, err, xerr)
			}
			require.Equal(t, xun.Note.Text, un.Note.Text)
			require.Equal(t, fromX(xun.Note.Sigs), un.Note.Sigs)
			require.Equal(t, fromX(xun.Note.UnverifiedSigs), un.Note.UnverifiedSigs)
		case errors.As(xerr, &xinv):
			t.Fatalf("Open(%q): ours %v, x/mod %v", msg, err, xerr)
		case strings.HasPrefix(xerr.Error(), "ambiguous key "):
			if !errors.As(err, &amb) || "ambiguous key "+amb.Name != xerr.Error()[:len("ambiguous key ")+len(amb.Name)] {
				t.Fatalf("Open(%q): ours %v, x/mod %v", msg, err, xerr)
			}
		default:
			t.Fatalf("Open(%q): unexpected x/mod error %v (ours %v)", msg, xerr, err)
		}
	}
	return n, err
}

func b64dec(dst []byte, s string) (int, error) {
	return base64.StdEncoding.Decode(dst, []byte(s))
}
