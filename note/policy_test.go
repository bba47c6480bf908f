package note_test

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/tlogkit/tlogkit/note"
)

func TestCosignaturePolicy(t *testing.T) {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "log.example")
	logS, _ := note.NewSigner(skey)
	_ = vkey
	var cosigners []*note.Cosigner
	var verifiers []note.Verifier
	for _, name := range []string{"w.example/a", "w.example/b", "w.example/c"} {
		k, _, err := note.GenerateCosignerKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		c, err := note.NewCosigner(k, nil)
		if err != nil {
			t.Fatal(err)
		}
		cosigners = append(cosigners, c)
		verifiers = append(verifiers, c.Verifier())
	}
	text := "log.example\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	sign := func(signers ...note.Signer) []byte {
		b, err := note.Sign(&note.Note{Text: text}, signers...)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	two := sign(logS, cosigners[0], cosigners[2])
	p := note.CosignaturePolicy{Cosigners: verifiers, K: 2}
	if err := p.Check(two); err != nil {
		t.Fatalf("2 of 3 with a and c: %v", err)
	}
	p.K = 3
	err := p.Check(two)
	if err == nil || !strings.Contains(err.Error(), "missing: w.example/b+") || strings.Contains(err.Error(), "w.example/a") {
		t.Fatalf("3 of 3 with a and c: %v, want b named missing", err)
	}
	if err := (note.CosignaturePolicy{Cosigners: verifiers, K: 1}).Check(sign(logS)); err == nil {
		t.Fatal("no cosignature accepted")
	}
	// A known cosigner's broken cosignature fails the check.
	msg := string(sign(logS, cosigners[0], cosigners[1]))
	i := strings.LastIndex(msg, " ")
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(msg[i+1:]))
	raw[20] ^= 1
	broken := msg[:i+1] + base64.StdEncoding.EncodeToString(raw) + "\n"
	if err := (note.CosignaturePolicy{Cosigners: verifiers, K: 1}).Check([]byte(broken)); err == nil {
		t.Fatal("a broken cosignature accepted")
	}
	for _, k := range []int{0, 4} {
		if err := (note.CosignaturePolicy{Cosigners: verifiers, K: k}).Check(two); err == nil {
			t.Fatalf("K=%d accepted", k)
		}
	}
}
