package note

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	xnote "golang.org/x/mod/sumdb/note"
)

func TestGenerateKeyInterop(t *testing.T) {
	// Our keys work in x/mod, x/mod's keys work here, with the same
	// names, hashes and signatures.
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("example.com/log%d", i)
		skey, vkey, err := GenerateKey(rand.Reader, name)
		require.NoError(t, err)
		xskey, xvkey, err := xnote.GenerateKey(rand.Reader, name)
		require.NoError(t, err)
		for _, k := range [][2]string{{skey, vkey}, {xskey, xvkey}} {
			s, err := NewSigner(k[0])
			require.NoError(t, err)
			v, err := NewVerifier(k[1])
			require.NoError(t, err)
			xs, err := xnote.NewSigner(k[0])
			require.NoError(t, err)
			xv, err := xnote.NewVerifier(k[1])
			require.NoError(t, err)
			require.Equal(t, name, s.Name())
			require.Equal(t, name, v.Name())
			require.Equal(t, xs.KeyHash(), s.KeyHash())
			require.Equal(t, xv.KeyHash(), v.KeyHash())
			require.Equal(t, s.KeyHash(), v.KeyHash())

			msg := []byte("hello\n")
			sig, err := s.Sign(msg)
			require.NoError(t, err)
			xsig, err := xs.Sign(msg)
			require.NoError(t, err)
			require.Equal(t, xsig, sig, "Ed25519 is deterministic")
			require.True(t, v.Verify(msg, sig))
			require.True(t, xv.Verify(msg, sig))
			require.False(t, v.Verify([]byte("hello!\n"), sig))
			sig[3] ^= 1
			require.False(t, v.Verify(msg, sig))
			require.False(t, v.Verify(msg, sig[:63]))
		}
	}

	_, _, err := GenerateKey(iotest.ErrReader(errors.New("no entropy")), "x")
	require.Error(t, err)
	_, _, err = GenerateKey(rand.Reader, "bad name")
	require.ErrorIs(t, err, ErrMalformedKey)
}

func TestNewEd25519VerifierKey(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	vkey, err := NewEd25519VerifierKey("example.com/x", pub)
	require.NoError(t, err)
	xvkey, err := xnote.NewEd25519VerifierKey("example.com/x", pub)
	require.NoError(t, err)
	require.Equal(t, xvkey, vkey)
	_, err = NewVerifier(vkey)
	require.NoError(t, err)

	_, err = NewEd25519VerifierKey("example.com/x", pub[:31])
	require.ErrorIs(t, err, ErrMalformedKey)
	_, err = NewEd25519VerifierKey("a+b", pub)
	require.ErrorIs(t, err, ErrMalformedKey)
}

// mutations returns variants of s: every prefix, every single-character
// deletion, and every position replaced by each of a few characters.
func mutations(s string) []string {
	out := []string{}
	for i := 0; i <= len(s); i++ {
		out = append(out, s[:i])
	}
	for i := 0; i < len(s); i++ {
		out = append(out, s[:i]+s[i+1:])
		for _, c := range []string{"+", "A", "a", "0", "f", "F", " ", "/", "=", "\n", "\x00", "\u00a0", "\xff"} {
			out = append(out, s[:i]+c+s[i+1:], s[:i]+c+s[i:])
		}
	}
	return out
}

func TestNewVerifierAgainstXmod(t *testing.T) {
	_, vkey := testKey("example.com/log", 7, algEd25519)
	_, cvkey := testKey("example.com/log", 7, algCosignatureV1)
	inputs := append(mutations(vkey), mutations(cvkey)...)
	inputs = append(inputs,
		"sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
		"sum.golang.org+033DE0AE+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",   // upper-case hex: x/mod accepts
		"sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn9",   // non-canonical base64 bits
		"sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTT\nAD8OuAn8", // newline skipped by base64
		"", "+", "++", "a++", "a+0+A", "a+00000000+",
	)
	for _, in := range inputs {
		v, err := NewVerifier(in)
		xv, xerr := xnote.NewVerifier(in)
		if (err == nil) != (xerr == nil) {
			t.Fatalf("NewVerifier(%q): ours %v, x/mod %v", in, err, xerr)
		}
		if err != nil {
			want := map[string]error{
				"malformed verifier id":      ErrMalformedKey,
				"unknown verifier algorithm": ErrUnknownAlgorithm,
				"invalid verifier hash":      ErrKeyHashMismatch,
			}[xerr.Error()]
			require.ErrorIs(t, err, want, "input %q", in)
			continue
		}
		require.Equal(t, xv.Name(), v.Name())
		require.Equal(t, xv.KeyHash(), v.KeyHash())
	}
}

func TestNewSignerAgainstXmod(t *testing.T) {
	skey, _ := testKey("example.com/log", 7, algEd25519)
	cskey, _ := testKey("example.com/log", 7, algCosignatureV1)
	inputs := append(mutations(skey), mutations(cskey)...)
	for _, in := range inputs {
		s, err := NewSigner(in)
		xs, xerr := xnote.NewSigner(in)
		if (err == nil) != (xerr == nil) {
			t.Fatalf("NewSigner(%q): ours %v, x/mod %v", in, err, xerr)
		}
		if err != nil {
			// x/mod reuses the verifier messages for signer keys.
			want := map[string]error{
				"malformed verifier id":      ErrMalformedKey,
				"unknown verifier algorithm": ErrUnknownAlgorithm,
				"invalid verifier hash":      ErrKeyHashMismatch,
			}[xerr.Error()]
			require.ErrorIs(t, err, want, "input %q", in)
			continue
		}
		require.Equal(t, xs.Name(), s.Name())
		require.Equal(t, xs.KeyHash(), s.KeyHash())
	}
}

func TestVerifierList(t *testing.T) {
	a := newKeyPair(t, "a.example", 1)
	b := newKeyPair(t, "b.example", 2)
	b2 := newKeyPair(t, "b.example", 2) // same name and hash as b
	for _, size := range []int{0, smallList + 1} {
		// Pad the list with other keys so both lookup strategies run.
		list := []Verifier{a.verifier, b.verifier, b2.verifier}
		for i := 0; i < size; i++ {
			list = append(list, newKeyPair(t, fmt.Sprintf("pad%d", i), byte(10+i)).verifier)
		}
		l := VerifierList(append(list, nil)...)
		v, err := l.Verifier("a.example", a.verifier.KeyHash())
		require.NoError(t, err)
		require.Same(t, a.verifier, v)

		_, err = l.Verifier("a.example", a.verifier.KeyHash()+1)
		var unk *UnknownVerifierError
		require.ErrorAs(t, err, &unk)
		require.Equal(t, UnknownVerifierError{"a.example", a.verifier.KeyHash() + 1}, *unk)
		require.ErrorIs(t, err, ErrUnknownKey)
		require.Equal(t, fmt.Sprintf("note: unknown key a.example+%08x", a.verifier.KeyHash()+1), err.Error())

		_, err = l.Verifier("a.exampl", a.verifier.KeyHash())
		require.ErrorAs(t, err, &unk)

		_, err = l.Verifier("b.example", b.verifier.KeyHash())
		var amb *AmbiguousVerifierError
		require.ErrorAs(t, err, &amb)
		require.Equal(t, "b.example", amb.Name)
	}
}

const (
	cpText  = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	cpText2 = "example.com/log\n6\nAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
)

func TestSignAgainstXmod(t *testing.T) {
	// Ed25519 is deterministic, so both implementations must write the
	// same bytes.
	a := newKeyPair(t, "a.example", 1)
	b := newKeyPair(t, "b.example", 2)
	c := newKeyPair(t, "c.example", 3)
	aSig := mustSigLine(t, cpText, a)
	bSig := mustSigLine(t, cpText, b)
	cases := []struct {
		note    Note
		signers []keyPair
	}{
		{Note{Text: cpText}, []keyPair{a}},
		{Note{Text: cpText}, []keyPair{a, b, c}},
		{Note{Text: "x\n"}, []keyPair{b}},
		{Note{Text: "\n"}, []keyPair{b}},
		{Note{Text: "a\n\nb\n\n"}, []keyPair{b}},
		{Note{Text: "emoji 😀 and «quotes»\n"}, []keyPair{c}},
		{Note{Text: cpText, Sigs: []Signature{aSig}}, []keyPair{b}},
		{Note{Text: cpText, Sigs: []Signature{aSig}}, []keyPair{a}},                                       // replaced
		{Note{Text: cpText, Sigs: []Signature{aSig}, UnverifiedSigs: []Signature{bSig}}, []keyPair{c, b}}, // order
		{Note{Text: cpText, Sigs: []Signature{aSig, bSig}}, nil},
		{Note{Text: cpText, Sigs: []Signature{{Name: "a.example", Hash: aSig.Hash, Base64: "bogus"}}}, []keyPair{a}}, // replaced before checking
	}
	for i, tc := range cases {
		var signers []Signer
		var xsigners []xnote.Signer
		for _, k := range tc.signers {
			signers = append(signers, k.signer)
			xsigners = append(xsigners, k.xsigner)
		}
		n := tc.note
		got, err := Sign(&n, signers...)
		require.NoError(t, err, "case %d", i)
		want, err := xnote.Sign(&xnote.Note{Text: n.Text, Sigs: toX(n.Sigs), UnverifiedSigs: toX(n.UnverifiedSigs)}, xsigners...)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "case %d", i)

		// And the result opens in both.
		if len(tc.signers) > 0 {
			opened, err := compareOpen(t, got, VerifierList(a.verifier, b.verifier, c.verifier),
				xnote.VerifierList(a.xverifier, b.xverifier, c.xverifier))
			require.NoError(t, err)
			require.Equal(t, n.Text, opened.Text)
		}
	}
}

func mustSigLine(t *testing.T, text string, k keyPair) Signature {
	t.Helper()
	msg, err := Sign(&Note{Text: text}, k.signer)
	require.NoError(t, err)
	n, err := Open(msg, VerifierList(k.verifier))
	require.NoError(t, err)
	return n.Sigs[0]
}

type funcSigner struct {
	name string
	hash uint32
	sign func([]byte) ([]byte, error)
}

func (s funcSigner) Name() string                    { return s.name }
func (s funcSigner) KeyHash() uint32                 { return s.hash }
func (s funcSigner) Sign(msg []byte) ([]byte, error) { return s.sign(msg) }

func TestSignErrors(t *testing.T) {
	a := newKeyPair(t, "a.example", 1)
	aSig := mustSigLine(t, cpText, a)
	errSurprise := errors.New("surprise")
	bad := func(name string, hash uint32, sig []byte, err error) Signer {
		return funcSigner{name, hash, func([]byte) ([]byte, error) { return sig, err }}
	}
	many := make([]Signature, MaxSignatures)
	for i := range many {
		many[i] = aSig
		many[i].Name = fmt.Sprintf("k%d", i)
	}
	cases := []struct {
		name    string
		note    Note
		signers []Signer
		want    error
	}{
		{"empty text", Note{Text: ""}, []Signer{a.signer}, ErrMalformedNote},
		{"no final newline", Note{Text: "abc"}, []Signer{a.signer}, ErrMalformedNote},
		{"control character", Note{Text: "a\tb\n"}, []Signer{a.signer}, ErrMalformedNote},
		{"carriage return", Note{Text: "a\r\n"}, []Signer{a.signer}, ErrMalformedNote},
		{"invalid UTF-8", Note{Text: "a\xffb\n"}, []Signer{a.signer}, ErrMalformedNote},
		{"too large", Note{Text: strings.Repeat("a", MaxNoteSize) + "\n"}, []Signer{a.signer}, ErrMalformedNote},
		{"bad existing name", Note{Text: cpText, Sigs: []Signature{{Name: "a+b", Base64: aSig.Base64}}}, nil, ErrMalformedNote},
		{"bad existing base64", Note{Text: cpText, Sigs: []Signature{{Name: "x", Hash: aSig.Hash, Base64: "BADSIGN="}}}, nil, ErrMalformedNote},
		{"existing base64 with newline", Note{Text: cpText, Sigs: []Signature{{Name: "x", Hash: aSig.Hash, Base64: aSig.Base64[:8] + "\n" + aSig.Base64[9:]}}}, nil, ErrMalformedNote},
		{"existing hash mismatch", Note{Text: cpText, Sigs: []Signature{{Name: "x", Hash: aSig.Hash + 1, Base64: aSig.Base64}}}, nil, ErrMalformedNote},
		{"existing too short", Note{Text: cpText, Sigs: []Signature{{Name: "x", Hash: 0, Base64: "AAAAAA=="}}}, nil, ErrMalformedNote},
		{"too many signatures", Note{Text: cpText, UnverifiedSigs: many}, []Signer{a.signer}, ErrMalformedNote},
		{"bad signer name", Note{Text: cpText}, []Signer{bad("a b", 1, []byte{1}, nil)}, ErrInvalidSigner},
		{"empty signature", Note{Text: cpText}, []Signer{bad("a", 1, nil, nil)}, ErrInvalidSigner},
		{"nil signer", Note{Text: cpText}, []Signer{a.signer, nil}, ErrInvalidSigner},
		{"signer error", Note{Text: cpText}, []Signer{bad("a", 1, nil, errSurprise)}, errSurprise},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Sign(&tc.note, tc.signers...)
			require.ErrorIs(t, err, tc.want)
		})
	}
	// Exactly MaxSignatures signatures is fine, and the result opens.
	msg, err := Sign(&Note{Text: cpText, UnverifiedSigs: many[:MaxSignatures-1]}, a.signer)
	require.NoError(t, err)
	n, err := Open(msg, VerifierList(a.verifier))
	require.NoError(t, err)
	require.Len(t, n.UnverifiedSigs, MaxSignatures-1)
}

// TestScanHelpers checks the word-at-a-time scanners against the simple
// definitions, for every byte value at every position of short inputs and
// for random inputs.
func TestScanHelpers(t *testing.T) {
	simpleValid := func(b []byte) bool {
		for i := 0; i < len(b); {
			r, size := utf8.DecodeRune(b[i:])
			if r < 0x20 && r != '\n' || r == utf8.RuneError && size == 1 {
				return false
			}
			i += size
		}
		return true
	}
	check := func(b []byte) {
		if validNoteBytes(b) != simpleValid(b) {
			t.Fatalf("validNoteBytes(%q) = %v", b, !simpleValid(b))
		}
		if validNoteString(string(b)) != simpleValid(b) {
			t.Fatalf("validNoteString(%q) = %v", b, !simpleValid(b))
		}
		if got, want := lastBlankLine(b), bytes.LastIndex(b, []byte("\n\n")); got != want {
			t.Fatalf("lastBlankLine(%q) = %d, want %d", b, got, want)
		}
	}
	base := []byte("abcdefghijklmnopqr\n\nstuvwxy\u00e9z")
	for n := 0; n <= len(base); n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := bytes.Clone(base[:n])
				b[pos] = byte(c)
				check(b)
			}
		}
	}
	buf := make([]byte, 64)
	for i := 0; i < 20000; i++ {
		rand.Read(buf)
		for j := range buf {
			// Mostly printable ASCII and newlines, some other bytes.
			switch buf[j] % 8 {
			case 0:
				buf[j] = '\n'
			case 1, 2, 3, 4, 5:
				buf[j] = 0x20 + buf[j]%0x5f
			}
		}
		check(buf[:i%len(buf)])
	}
}
