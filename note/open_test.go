package note

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	xnote "golang.org/x/mod/sumdb/note"
)

// fixture is a set of keys and a signed note used by the Open tests.
type fixture struct {
	a, b, c  keyPair
	known    Verifiers
	xknown   xnote.Verifiers
	aLine    string // "— a.example <base64>\n" for cpText
	bLine    string
	cLine    string // c is not in known
	aLine2   string // a's line for cpText2
	aSig     Signature
	bSig     Signature
	cSig     Signature
	signedAB string // cpText signed by a and b
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{
		a: newKeyPair(t, "a.example", 1),
		b: newKeyPair(t, "b.example", 2),
		c: newKeyPair(t, "c.example", 3),
	}
	f.known = VerifierList(f.a.verifier, f.b.verifier)
	f.xknown = xnote.VerifierList(f.a.xverifier, f.b.xverifier)
	line := func(text string, k keyPair) (string, Signature) {
		msg, err := Sign(&Note{Text: text}, k.signer)
		require.NoError(t, err)
		l := string(msg[len(text)+1:])
		name, b64, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(l, sigPrefix), "\n"), " ")
		return l, Signature{Name: name, Hash: k.signer.KeyHash(), Base64: b64}
	}
	f.aLine, f.aSig = line(cpText, f.a)
	f.bLine, f.bSig = line(cpText, f.b)
	f.cLine, f.cSig = line(cpText, f.c)
	f.aLine2, _ = line(cpText2, f.a)
	f.signedAB = cpText + "\n" + f.aLine + f.bLine
	return f
}

// flipBase64Bit returns the signature line with the unused low bit of its
// last base64 character set: the same bytes in non-canonical base64.
func nonCanonical(line string) string {
	// A 68-byte signature ends "X=\n" or "X==\n"; bump the character before '='.
	i := strings.IndexByte(line, '=') - 1
	c := line[i]
	v := base64Index(c) | 1
	return line[:i] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[v]) + line[i+1:]
}

func TestOpenValid(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name       string
		msg        string
		sigs       []Signature
		unverified []Signature
	}{
		{"one", cpText + "\n" + f.aLine, []Signature{f.aSig}, nil},
		{"two", f.signedAB, []Signature{f.aSig, f.bSig}, nil},
		{"order kept", cpText + "\n" + f.bLine + f.aLine, []Signature{f.bSig, f.aSig}, nil},
		{"unknown ignored", cpText + "\n" + f.cLine + f.aLine, []Signature{f.aSig}, []Signature{f.cSig}},
		{"repeated line", cpText + "\n" + f.aLine + f.aLine + f.cLine + f.cLine, []Signature{f.aSig}, []Signature{f.cSig}},
		{"unknown name, known hash", cpText + "\n" + f.aLine + strings.Replace(f.aLine, "a.example", "z.example", 1),
			[]Signature{f.aSig}, []Signature{{Name: "z.example", Hash: f.aSig.Hash, Base64: f.aSig.Base64}}},
		{"text with blank lines", "a\n\nb\n\n\n" + mustLine(t, "a\n\nb\n\n", f.a), nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := compareOpen(t, []byte(tc.msg), f.known, f.xknown)
			require.NoError(t, err)
			if tc.sigs != nil {
				require.Equal(t, tc.sigs, n.Sigs)
				require.Equal(t, tc.unverified, n.UnverifiedSigs)
				require.Equal(t, cpText, n.Text)
			}
		})
	}
}

func mustLine(t testing.TB, text string, k keyPair) string {
	msg, err := Sign(&Note{Text: text}, k.signer)
	require.NoError(t, err)
	return string(msg[len(text)+1:])
}

func TestOpenMalformed(t *testing.T) {
	f := newFixture(t)
	a := f.aLine
	sigOf := func(l string) string { return strings.TrimSuffix(strings.SplitN(l, " ", 3)[2], "\n") }
	cases := []struct {
		name string
		msg  string
	}{
		{"empty", ""},
		{"text only", cpText},
		{"missing blank line", cpText + a},
		{"no final newline", cpText + "\n" + strings.TrimSuffix(a, "\n")},
		{"no signatures", cpText + "\n"},
		{"blank line at end", f.signedAB + "\n"},
		{"signature before text", a + "\n" + cpText},
		{"missing em dash", cpText + "\n" + strings.TrimPrefix(a, "— ")},
		{"hyphen instead of em dash", cpText + "\n- " + strings.TrimPrefix(a, "— ")},
		{"em dash without space", cpText + "\n—" + strings.TrimPrefix(a, "— ")},
		{"two spaces after em dash", cpText + "\n—  " + strings.TrimPrefix(a, "— ")},
		{"no space before signature", cpText + "\n— a.example" + sigOf(a) + "\n"},
		{"empty signature", cpText + "\n— a.example \n"},
		{"empty name", cpText + "\n—  " + sigOf(a) + "\n"},
		{"name with plus", cpText + "\n— a+example " + sigOf(a) + "\n"},
		{"name with nbsp", cpText + "\n— a\u00a0example " + sigOf(a) + "\n"},
		{"two spaces before signature", cpText + "\n— a.example  " + sigOf(a) + "\n"},
		{"trailing space", cpText + "\n— a.example " + sigOf(a) + " \n"},
		{"bad base64", cpText + "\n— a.example " + sigOf(a)[:10] + "!" + sigOf(a)[11:] + "\n"},
		{"base64 missing padding", cpText + "\n— a.example " + strings.TrimRight(sigOf(a), "=") + "\n"},
		{"short signature", cpText + "\n— a.example AAAAAA==\n"},
		{"four-byte signature", cpText + "\n— x.example AQIDBA==\n"},
		{"non-UTF-8 text", "example.com/log\xff\n5\n\n" + a},
		{"non-UTF-8 signature line", cpText + "\n" + a + "— c\xc0\x80 " + sigOf(a) + "\n"},
		{"overlong encoding", "a\xc0\xafb\n\n" + a},
		{"surrogate", "a\xed\xa0\x80b\n\n" + a},
		{"tab", "a\tb\n\n" + a},
		{"carriage return", strings.ReplaceAll(f.signedAB, "\n", "\r\n")},
		{"NUL", cpText + "\x00\n" + a},
		{"escape", "\x1b[31mred\n\n" + a},
		{"text line after signatures", f.signedAB + "more\n"},
		{"too many signatures", cpText + "\n" + a + strings.Repeat(f.cLine, MaxSignatures)},
		{"too many after valid", cpText + "\n" + strings.Repeat(a, MaxSignatures+1)},
		{"too large", strings.Repeat("x", MaxNoteSize) + "\n\n" + a},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := compareOpen(t, []byte(tc.msg), f.known, f.xknown)
			require.ErrorIs(t, err, ErrMalformedNote)
			require.Nil(t, n)
			require.True(t, strings.HasPrefix(err.Error(), "note: "), err.Error())
		})
	}
}

func TestOpenSignatureRules(t *testing.T) {
	f := newFixture(t)

	// Any number of signatures up to MaxSignatures, known and unknown, opens.
	var lines []string
	var unknown []Signature
	for i := 0; i < MaxSignatures-1; i++ {
		k := newKeyPair(t, fmt.Sprintf("w%d.example", i), byte(i))
		l := mustLine(t, cpText, k)
		lines = append(lines, l)
		name, b64, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(l, sigPrefix), "\n"), " ")
		unknown = append(unknown, Signature{Name: name, Hash: k.signer.KeyHash(), Base64: b64})
	}
	for _, count := range []int{1, 16, 17, MaxSignatures - 1} {
		msg := cpText + "\n" + strings.Join(lines[:count], "") + f.aLine
		n, err := compareOpen(t, []byte(msg), f.known, f.xknown)
		require.NoError(t, err, "count %d", count+1)
		require.Equal(t, []Signature{f.aSig}, n.Sigs)
		require.Equal(t, unknown[:count], n.UnverifiedSigs)
	}
	// One more is rejected.
	msg := cpText + "\n" + strings.Join(lines, "") + f.aLine + f.bLine
	_, err := compareOpen(t, []byte(msg), f.known, f.xknown)
	require.ErrorIs(t, err, ErrMalformedNote)

	// All signers known: all verified.
	var all []Verifier
	var xall []xnote.Verifier
	var signed []Signer
	for i := 0; i < 16; i++ {
		k := newKeyPair(t, fmt.Sprintf("k%d.example", i), byte(100+i))
		all, xall, signed = append(all, k.verifier), append(xall, k.xverifier), append(signed, k.signer)
	}
	sm, err := Sign(&Note{Text: cpText}, signed...)
	require.NoError(t, err)
	n, err := compareOpen(t, sm, VerifierList(all...), xnote.VerifierList(xall...))
	require.NoError(t, err)
	require.Len(t, n.Sigs, 16)

	var inv *InvalidSignatureError
	var un *UnverifiedNoteError

	// A bad signature by a known key rejects the note, wherever it is.
	for _, msg := range []string{
		cpText + "\n" + f.aLine2,
		cpText + "\n" + f.aLine2 + f.bLine,
		cpText + "\n" + f.bLine + f.aLine2,
		cpText + "\n" + f.cLine + f.aLine2,
		cpText2 + "\n" + f.aLine,
	} {
		_, err = compareOpen(t, []byte(msg), f.known, f.xknown)
		require.ErrorAs(t, err, &inv)
		require.ErrorIs(t, err, ErrInvalidSignature)
		require.Equal(t, InvalidSignatureError{"a.example", f.aSig.Hash}, *inv)
		require.Equal(t, fmt.Sprintf("note: invalid signature for key a.example+%08x", f.aSig.Hash), err.Error())
	}

	// Only unknown keys: UnverifiedNoteError holding the note.
	_, err = compareOpen(t, []byte(cpText+"\n"+f.cLine), f.known, f.xknown)
	require.ErrorAs(t, err, &un)
	require.ErrorIs(t, err, ErrUnverifiedNote)
	require.NotErrorIs(t, err, ErrInvalidSignature)
	require.Equal(t, cpText, un.Note.Text)
	require.Equal(t, []Signature{f.cSig}, un.Note.UnverifiedSigs)
	require.Nil(t, un.Note.Sigs)

	// A known name with another key hash is an unknown key: ignored.
	raw, err := base64.StdEncoding.DecodeString(f.aSig.Base64)
	require.NoError(t, err)
	raw[3] ^= 1
	wrongHash := "— a.example " + base64.StdEncoding.EncodeToString(raw) + "\n"
	_, err = compareOpen(t, []byte(cpText+"\n"+wrongHash), f.known, f.xknown)
	require.ErrorAs(t, err, &un)
	require.Equal(t, f.aSig.Hash^1, un.Note.UnverifiedSigs[0].Hash)
	n, err = compareOpen(t, []byte(cpText+"\n"+wrongHash+f.bLine), f.known, f.xknown)
	require.NoError(t, err)
	require.Equal(t, []Signature{f.bSig}, n.Sigs)

	// nil Verifiers means none known.
	_, err = Open([]byte(f.signedAB), nil)
	require.ErrorAs(t, err, &un)
	require.Len(t, un.Note.UnverifiedSigs, 2)

	// Documented differences from x/mod: a second, different line of a
	// known key must verify too, and a known key's signature must be
	// canonical base64.
	for _, msg := range []string{
		cpText + "\n" + f.aLine + f.aLine2,
		cpText + "\n" + nonCanonical(f.aLine),
		cpText + "\n" + f.aLine + nonCanonical(f.aLine),
	} {
		_, err = compareOpen(t, []byte(msg), f.known, f.xknown)
		require.ErrorAs(t, err, &inv)
		_, xerr := xnote.Open([]byte(msg), f.xknown)
		require.NoError(t, xerr, "x/mod accepts %q", msg)
	}
	// But the same non-canonical encoding by an unknown key is ignored,
	// as in x/mod.
	n, err = compareOpen(t, []byte(cpText+"\n"+f.aLine+nonCanonical(f.cLine)), f.known, f.xknown)
	require.NoError(t, err)
	require.Len(t, n.UnverifiedSigs, 1)
}

// lookupVerifiers is a Verifiers built from a function.
type lookupVerifiers func(name string, hash uint32) (Verifier, error)

func (f lookupVerifiers) Verifier(name string, hash uint32) (Verifier, error) { return f(name, hash) }

func TestOpenVerifiersErrors(t *testing.T) {
	f := newFixture(t)
	msg := []byte(f.signedAB)

	// Ambiguous keys fail the note.
	b2 := newKeyPair(t, "b.example", 2)
	_, err := compareOpen(t, msg, VerifierList(f.a.verifier, f.b.verifier, b2.verifier),
		xnote.VerifierList(f.a.xverifier, f.b.xverifier, b2.xverifier))
	var amb *AmbiguousVerifierError
	require.ErrorAs(t, err, &amb)

	// Any other error from Verifiers is returned as is.
	errSurprise := errors.New("surprise")
	_, err = Open(msg, lookupVerifiers(func(string, uint32) (Verifier, error) { return nil, errSurprise }))
	require.ErrorIs(t, err, errSurprise)

	// A wrapped UnknownVerifierError still means unknown.
	_, err = Open(msg, lookupVerifiers(func(name string, hash uint32) (Verifier, error) {
		if name == "a.example" {
			return f.a.verifier, nil
		}
		return nil, fmt.Errorf("lookup: %w", &UnknownVerifierError{name, hash})
	}))
	require.NoError(t, err)

	// A Verifiers that answers with no verifier and no error is caught.
	_, err = Open(msg, lookupVerifiers(func(string, uint32) (Verifier, error) { return nil, nil }))
	require.ErrorIs(t, err, ErrMismatchedVerifier)

	// A Verifiers that answers with the wrong key is caught.
	_, err = Open(msg, lookupVerifiers(func(string, uint32) (Verifier, error) { return f.b.verifier, nil }))
	require.ErrorIs(t, err, ErrMismatchedVerifier)
}

// TestOpenConcurrent opens notes from several goroutines with shared
// verifiers and signs with a shared cosigner (run with -race).
func TestOpenConcurrent(t *testing.T) {
	f := newFixture(t)
	skey, vkey := testKey("witness.example/w1", 5, algCosignatureV1)
	cs, err := NewCosigner(skey, fixedClock(1700000000))
	require.NoError(t, err)
	cv, err := NewCosignatureVerifier(vkey)
	require.NoError(t, err)
	known := VerifierList(f.a.verifier, f.b.verifier, cv)
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 20; i++ {
				msg, err := Sign(&Note{Text: cpText}, f.a.signer, cs)
				if err == nil {
					_, err = Open(msg, known)
				}
				if err == nil {
					_, err = Open([]byte(f.signedAB), known)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		require.NoError(t, <-done)
	}
}
