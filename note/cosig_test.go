package note

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	xnote "golang.org/x/mod/sumdb/note"
)

// A real checkpoint of a CT log, cosigned by witnesses, published as a
// test vector together with the verifier keys below.
const (
	archeKey  = "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
	remoraKey = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
)

func fixedClock(ts int64) func() time.Time {
	return func() time.Time { return time.Unix(ts, 0) }
}

func TestCosignatureRealVector(t *testing.T) {
	msg, err := os.ReadFile("testdata/arche2025h1-cosigned.checkpoint")
	require.NoError(t, err)
	log, err := NewVerifier(archeKey)
	require.NoError(t, err)
	witness, err := NewCosignatureVerifier(remoraKey)
	require.NoError(t, err)
	require.Equal(t, uint32(0xda77ade7), witness.KeyHash())

	n, err := Open(msg, VerifierList(log, witness))
	require.NoError(t, err)
	require.Len(t, n.Sigs, 2)
	require.Equal(t, "arche2025h1.staging.ct.transparency.dev", n.Sigs[0].Name)
	require.Equal(t, "remora.n621.de", n.Sigs[1].Name)
	require.Len(t, n.UnverifiedSigs, 4)
	ts, err := CosignatureTimestamp(n.Sigs[1])
	require.NoError(t, err)
	require.Equal(t, int64(0x6a122120), ts)

	cp, err := ParseCheckpoint([]byte(n.Text))
	require.NoError(t, err)
	require.Equal(t, int64(1432088532), cp.N)

	// x/mod opens it with our cosignature verifier too.
	xn, err := xnote.Open(msg, xnote.VerifierList(log, witness))
	require.NoError(t, err)
	require.Equal(t, n.Sigs, fromX(xn.Sigs))

	// The witness alone verifies it; every one-bit change of the text or
	// of the witness's line fails.
	only := VerifierList(witness)
	_, err = Open(msg, only)
	require.NoError(t, err)
	lineStart := bytes.Index(msg, []byte("— remora"))
	lineEnd := lineStart + bytes.IndexByte(msg[lineStart:], '\n')
	textEnd := bytes.Index(msg, []byte("\n\n")) + 1
	for i := 0; i < len(msg); i++ {
		if i >= textEnd && (i < lineStart || i > lineEnd) {
			continue
		}
		bit := byte(1) << (i % 8)
		msg[i] ^= bit
		if _, err := Open(msg, only); err == nil {
			t.Fatalf("flipping byte %d: accepted", i)
		}
		msg[i] ^= bit
	}

	// The C2SP spec's example cosignature carries the timestamp of its
	// example message, "time 1679315147".
	const specSig = "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
	ts, err = CosignatureTimestamp(Signature{Name: "witness.example.com/w1", Hash: 0x8d66cf3f, Base64: specSig})
	require.NoError(t, err)
	require.Equal(t, int64(1679315147), ts)
}

func TestSignedNoteVector(t *testing.T) {
	// The c2sp.org/signed-note test vector.
	v, err := NewVerifier("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
	require.NoError(t, err)
	msg := "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
	n, err := Open([]byte(msg), VerifierList(v))
	require.NoError(t, err)
	require.Equal(t, "This is an example message.\n", n.Text)

	// The doubly signed note of x/mod's package documentation.
	peter, err := NewVerifier("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
	require.NoError(t, err)
	enoch, err := NewVerifier("EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop")
	require.NoError(t, err)
	text := "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
	msg = text + "\n" +
		"— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n" +
		"— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
	n, err = Open([]byte(msg), VerifierList(peter, enoch))
	require.NoError(t, err)
	require.Equal(t, text, n.Text)
	require.Len(t, n.Sigs, 2)
	// Re-signing with the documented signer key gives the same bytes.
	s, err := NewSigner("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
	require.NoError(t, err)
	out, err := Sign(&Note{Text: text, UnverifiedSigs: n.Sigs[1:]}, s)
	require.NoError(t, err)
	require.Equal(t, text+"\n"+strings.SplitAfter(msg, "\n")[4]+strings.SplitAfter(msg, "\n")[3], string(out))
}

func TestCosignerRoundTrip(t *testing.T) {
	skey, vkey, err := GenerateCosignerKey(rand.Reader, "witness.example/w1")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(skey, "PRIVATE+KEY+witness.example/w1+"))
	raw, _ := base64.StdEncoding.DecodeString(strings.SplitN(vkey, "+", 3)[2])
	require.Equal(t, byte(0x04), raw[0])

	const when = 1700000000
	cs, err := NewCosigner(skey, fixedClock(when))
	require.NoError(t, err)
	cv, err := NewCosignatureVerifier(vkey)
	require.NoError(t, err)
	require.Equal(t, cv.KeyHash(), cs.KeyHash())
	require.Equal(t, cv.KeyHash(), cs.Verifier().KeyHash())

	// The key hash covers name, 0x0A, 0x04 and the public key.
	pub := ed25519.PublicKey(raw[1:])
	vkey2, err := NewCosignerVerifierKey("witness.example/w1", pub)
	require.NoError(t, err)
	require.Equal(t, vkey, vkey2)

	log := newKeyPair(t, "example.com/log", 1)
	msg, err := Sign(&Note{Text: cpText}, log.signer, cs)
	require.NoError(t, err)
	for _, known := range []Verifiers{VerifierList(log.verifier, cv), VerifierList(log.verifier, cs.Verifier())} {
		n, err := Open(msg, known)
		require.NoError(t, err)
		require.Len(t, n.Sigs, 2)
		ts, err := CosignatureTimestamp(n.Sigs[1])
		require.NoError(t, err)
		require.Equal(t, int64(when), ts)
		// A plain signature is not a cosignature.
		_, err = CosignatureTimestamp(n.Sigs[0])
		require.ErrorIs(t, err, ErrMalformedCosignature)
	}
	// x/mod signs with our Cosigner and opens with our verifier.
	xmsg, err := xnote.Sign(&xnote.Note{Text: cpText}, log.xsigner, cs)
	require.NoError(t, err)
	require.Equal(t, msg, xmsg)
	_, err = xnote.Open(msg, xnote.VerifierList(cv))
	require.NoError(t, err)

	// The signature is over the timestamped message.
	n, err := Open(msg, VerifierList(cv))
	require.NoError(t, err)
	sig, _ := base64.StdEncoding.DecodeString(n.Sigs[0].Base64)
	require.Len(t, sig, 4+8+64)
	require.Equal(t, uint64(when), binary.BigEndian.Uint64(sig[4:]))
	signed := []byte("cosignature/v1\ntime 1700000000\n" + cpText)
	require.True(t, ed25519.Verify(pub, signed, sig[12:]))

	// Key types are not interchangeable.
	_, err = NewVerifier(vkey)
	require.ErrorIs(t, err, ErrUnknownAlgorithm)
	_, err = xnote.NewVerifier(vkey)
	require.Error(t, err)
	_, err = NewSigner(skey)
	require.ErrorIs(t, err, ErrUnknownAlgorithm)
	_, err = NewCosignatureVerifier(log.vkey)
	require.ErrorIs(t, err, ErrUnknownAlgorithm)
	_, err = NewCosigner(log.skey, nil)
	require.ErrorIs(t, err, ErrUnknownAlgorithm)
	for _, bad := range mutations(skey)[:len(skey)] { // truncations
		_, err = NewCosigner(bad, nil)
		require.Error(t, err)
	}
	_, err = NewCosignatureVerifier(strings.Replace(vkey, "w1", "w2", 1))
	require.ErrorIs(t, err, ErrKeyHashMismatch)
}

func TestCosignatureTampering(t *testing.T) {
	skey, vkey := testKey("witness.example/w1", 5, algCosignatureV1)
	cs, err := NewCosigner(skey, fixedClock(1700000000))
	require.NoError(t, err)
	cv, err := NewCosignatureVerifier(vkey)
	require.NoError(t, err)
	known := VerifierList(cv)
	msg, err := Sign(&Note{Text: cpText}, cs)
	require.NoError(t, err)
	_, err = Open(msg, known)
	require.NoError(t, err)

	var inv *InvalidSignatureError
	// Another text.
	other := append([]byte(cpText2), msg[len(cpText):]...)
	_, err = Open(other, known)
	require.ErrorAs(t, err, &inv)

	// Another timestamp in the signature.
	n, _ := Open(msg, known)
	raw, _ := base64.StdEncoding.DecodeString(n.Sigs[0].Base64)
	for _, ts := range []uint64{1700000001, 0, 1 << 63, 1<<64 - 1} {
		r := bytes.Clone(raw)
		binary.BigEndian.PutUint64(r[4:], ts)
		line := "— witness.example/w1 " + base64.StdEncoding.EncodeToString(r) + "\n"
		_, err = Open([]byte(cpText+"\n"+line), known)
		require.ErrorAs(t, err, &inv, "ts %d", ts)
	}
	// Wrong length.
	for _, r := range [][]byte{raw[:len(raw)-1], append(bytes.Clone(raw), 0)} {
		line := "— witness.example/w1 " + base64.StdEncoding.EncodeToString(r) + "\n"
		_, err = Open([]byte(cpText+"\n"+line), known)
		require.ErrorAs(t, err, &inv)
	}
	// A plain Ed25519 signature of the text by the same key, under the
	// cosigner's key hash, is not a cosignature.
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, 32))
	plain := append(binary.BigEndian.AppendUint32(nil, cv.KeyHash()), ed25519.Sign(priv, []byte(cpText))...)
	_, err = Open([]byte(cpText+"\n— witness.example/w1 "+base64.StdEncoding.EncodeToString(plain)+"\n"), known)
	require.ErrorAs(t, err, &inv)

	// A correctly signed timestamp >= 2^63 is refused.
	big := uint64(1 << 63)
	m := appendCosignedMessage(nil, big, []byte(cpText))
	r := binary.BigEndian.AppendUint32(nil, cv.KeyHash())
	r = binary.BigEndian.AppendUint64(r, big)
	r = append(r, ed25519.Sign(priv, m)...)
	require.True(t, ed25519.Verify(priv.Public().(ed25519.PublicKey), m, r[12:]))
	bad := Signature{Name: "witness.example/w1", Hash: cv.KeyHash(), Base64: base64.StdEncoding.EncodeToString(r)}
	_, err = Open([]byte(cpText+"\n— witness.example/w1 "+bad.Base64+"\n"), known)
	require.ErrorAs(t, err, &inv)
	_, err = CosignatureTimestamp(bad)
	require.ErrorIs(t, err, ErrMalformedCosignature)

	// A different key with the same name has another hash: unknown.
	skey2, _ := testKey("witness.example/w1", 6, algCosignatureV1)
	cs2, err := NewCosigner(skey2, nil)
	require.NoError(t, err)
	msg2, err := Sign(&Note{Text: cpText}, cs2)
	require.NoError(t, err)
	var un *UnverifiedNoteError
	_, err = Open(msg2, known)
	require.ErrorAs(t, err, &un)

	// Cosigners sign only checkpoints, and only after 1970.
	_, err = Sign(&Note{Text: "not a checkpoint\n"}, cs)
	require.ErrorIs(t, err, ErrMalformedCheckpoint)
	early, err := NewCosigner(skey, fixedClock(-1))
	require.NoError(t, err)
	_, err = Sign(&Note{Text: cpText}, early)
	require.Error(t, err)

	// Timestamp decoding rejects junk.
	for _, s := range []Signature{
		{Hash: cv.KeyHash(), Base64: "5%/$!\n 2"},
		{Hash: cv.KeyHash(), Base64: n.Sigs[0].Base64[:len(n.Sigs[0].Base64)-4]},
		{Hash: cv.KeyHash() + 1, Base64: n.Sigs[0].Base64},
		{Hash: cv.KeyHash(), Base64: nonCanonical(n.Sigs[0].Base64 + "\n")[:len(n.Sigs[0].Base64)]},
	} {
		_, err := CosignatureTimestamp(s)
		require.ErrorIs(t, err, ErrMalformedCosignature, "%q", s.Base64)
	}
}
