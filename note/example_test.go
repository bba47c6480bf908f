package note_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/tlog"
)

// Example keys with a publicly known seed: fine for documentation, never
// for a real log. Make real keys with GenerateKey.
const (
	logSkey     = "PRIVATE+KEY+example.com/log+9be5d3c6+AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
	logVkey     = "example.com/log+9be5d3c6+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c"
	witnessSkey = "PRIVATE+KEY+witness.example/w1+df1c0a35+BAICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC"
	witnessVkey = "witness.example/w1+df1c0a35+BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU"
)

// A log signs its checkpoint; a client that knows the log's key opens it.
func Example() {
	root := tlog.Hash(sha256.Sum256([]byte("example root")))
	text, err := note.Checkpoint{Origin: "example.com/log", N: 5, Hash: root}.Format()
	if err != nil {
		log.Fatal(err)
	}
	signer, err := note.NewSigner(logSkey)
	if err != nil {
		log.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		log.Fatal(err)
	}
	os.Stdout.Write(msg)

	verifier, err := note.NewVerifier(logVkey)
	if err != nil {
		log.Fatal(err)
	}
	cp, n, err := note.OpenCheckpoint(msg, "example.com/log", note.VerifierList(verifier))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cp.N, cp.Hash == root, n.Sigs[0].Name)
	// Output:
	// example.com/log
	// 5
	// tWfAy7LoXCleat6TDluzSaS5vulInKp9a2ed1G6CpxE=
	//
	// — example.com/log m+XTxpphDWq0+jcGBaD8CGl4xHrscHAKwQEOsRwrCJ16bhWvpdC6RgUOLdq+wqKZIUpQAMuE2fhNHC5EnSL7NB3DyQ0=
	// 5 true example.com/log
}

// Opening a real signed tree head of sum.golang.org.
func ExampleOpen() {
	msg := []byte("go.sum database tree\n" +
		"66398721\n" +
		"5oXTdOltbW8oy+WAHSPYkUE7FskIY/5ZJCYGy+buJ3g=\n" +
		"\n" +
		"— sum.golang.org Az3grkwAPWdf0j0QaqFdZ3Hg/pDusO9we04GR+upDAujfj+kau8VzeyO7Xqw0j0qZNnwMvwiV98DluG2iyB8t4v4WQU=\n")
	v, err := note.NewVerifier("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8")
	if err != nil {
		log.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		log.Fatal(err)
	}
	tree, err := note.ParseTree([]byte(n.Text))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (%08x): tree of %d records\n", n.Sigs[0].Name, n.Sigs[0].Hash, tree.N)

	// One changed byte and the note no longer opens.
	msg[25] ^= 1
	_, err = note.Open(msg, note.VerifierList(v))
	var invalid *note.InvalidSignatureError
	fmt.Println(errors.As(err, &invalid), err)
	// Output:
	// sum.golang.org (033de0ae): tree of 66398721 records
	// true note: invalid signature for key sum.golang.org+033de0ae
}

// A witness cosigns a checkpoint the log signed; a client that requires
// the witness's cosignature reads the time it was made.
func ExampleNewCosigner() {
	logSigner, err := note.NewSigner(logSkey)
	if err != nil {
		log.Fatal(err)
	}
	clock := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	witness, err := note.NewCosigner(witnessSkey, clock)
	if err != nil {
		log.Fatal(err)
	}
	text := "example.com/log\n5\ntWfAy7LoXCleat6TDluzSaS5vulInKp9a2ed1G6CpxE=\n"
	msg, err := note.Sign(&note.Note{Text: text}, logSigner, witness)
	if err != nil {
		log.Fatal(err)
	}

	logVerifier, err := note.NewVerifier(logVkey)
	if err != nil {
		log.Fatal(err)
	}
	witnessVerifier, err := note.NewCosignatureVerifier(witnessVkey)
	if err != nil {
		log.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(logVerifier, witnessVerifier))
	if err != nil {
		log.Fatal(err)
	}
	for _, sig := range n.Sigs {
		if sig.Name != witnessVerifier.Name() || sig.Hash != witnessVerifier.KeyHash() {
			continue
		}
		ts, err := note.CosignatureTimestamp(sig)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(sig.Name, "cosigned at", time.Unix(ts, 0).UTC())
	}
	// Output:
	// witness.example/w1 cosigned at 2026-01-02 03:04:05 +0000 UTC
}

// A checksum database lookup response: a record, then the signed tree head.
func ExampleParseRecord() {
	resp := []byte("10738965\n" +
		"gopkg.in/yaml.v3 v3.0.1 h1:fxVm/GzAzEWqLHuvctI91KS9hhNmmWOoWu0XTYJS7CA=\n" +
		"gopkg.in/yaml.v3 v3.0.1/go.mod h1:K4uyk7z7BCEPqu6E+C64Yfv1cQ7kz7rIZviUmN+EgEM=\n" +
		"\n" +
		"go.sum database tree\n66398721\n5oXTdOltbW8oy+WAHSPYkUE7FskIY/5ZJCYGy+buJ3g=\n\n" +
		"— sum.golang.org Az3grkwAPWdf0j0QaqFdZ3Hg/pDusO9we04GR+upDAujfj+kau8VzeyO7Xqw0j0qZNnwMvwiV98DluG2iyB8t4v4WQU=\n")
	id, text, signedTree, err := note.ParseRecord(resp)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("record %d:\n%s", id, text)
	fmt.Printf("followed by a %d-byte signed tree head\n", len(signedTree))

	_, _, _, err = note.ParseRecord([]byte("007\nx\n\n"))
	fmt.Println(err)
	// Output:
	// record 10738965:
	// gopkg.in/yaml.v3 v3.0.1 h1:fxVm/GzAzEWqLHuvctI91KS9hhNmmWOoWu0XTYJS7CA=
	// gopkg.in/yaml.v3 v3.0.1/go.mod h1:K4uyk7z7BCEPqu6E+C64Yfv1cQ7kz7rIZviUmN+EgEM=
	// followed by a 188-byte signed tree head
	// note: malformed record: id "007" is not canonical decimal in [0, 2^63)
}

func ExampleParseCheckpoint() {
	c, err := note.ParseCheckpoint([]byte("example.com/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nextension line\n"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: size %d, %d extension line(s)\n", c.Origin, c.N, len(c.Extensions))

	_, err = note.ParseCheckpoint([]byte("example.com/log\n+20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"))
	fmt.Println(errors.Is(err, note.ErrMalformedCheckpoint))
	// Output:
	// example.com/log: size 20852163, 1 extension line(s)
	// true
}
