package note

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	xnote "golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"
)

// Benchmarks compare with x/mod in the same run: compare with
//
//	go test -run '^$' -bench . -count 5 ./note | benchstat -col /impl -
const sumDBLatest = "go.sum database tree\n66398721\n5oXTdOltbW8oy+WAHSPYkUE7FskIY/5ZJCYGy+buJ3g=\n\n" +
	"— sum.golang.org Az3grkwAPWdf0j0QaqFdZ3Hg/pDusO9we04GR+upDAujfj+kau8VzeyO7Xqw0j0qZNnwMvwiV98DluG2iyB8t4v4WQU=\n"

type benchNote struct {
	name   string
	msg    []byte
	known  Verifiers
	xknown xnote.Verifiers
	wantOK bool
}

func benchNotes(b *testing.B) []benchNote {
	v, err := NewVerifier(sumDBKey)
	if err != nil {
		b.Fatal(err)
	}
	xv, err := xnote.NewVerifier(sumDBKey)
	if err != nil {
		b.Fatal(err)
	}
	log := newKeyPair(b, "example.com/log", 1)
	var witnesses []keyPair
	var signers []Signer
	for i := 0; i < 7; i++ {
		k := newKeyPair(b, fmt.Sprintf("witness%d.example", i), byte(20+i))
		witnesses = append(witnesses, k)
		signers = append(signers, k.signer)
	}
	witnessed, err := Sign(&Note{Text: cpText}, append([]Signer{log.signer}, signers...)...)
	if err != nil {
		b.Fatal(err)
	}
	known4 := []Verifier{log.verifier}
	xknown4 := []xnote.Verifier{log.xverifier}
	for _, k := range witnesses[:3] {
		known4 = append(known4, k.verifier)
		xknown4 = append(xknown4, k.xverifier)
	}
	return []benchNote{
		// The real sum.golang.org tree head: one known signature.
		{"sigs=1", []byte(sumDBLatest), VerifierList(v), xnote.VerifierList(xv), true},
		// A witnessed checkpoint: the client knows only the log's key.
		{"sigs=8,known=1", witnessed, VerifierList(log.verifier), xnote.VerifierList(log.xverifier), true},
		// The client requires the log and three witnesses.
		{"sigs=8,known=4", witnessed, VerifierList(known4...), xnote.VerifierList(xknown4...), true},
		// No known key: parsing only (UnverifiedNoteError).
		{"sigs=8,known=0", witnessed, VerifierList(v), xnote.VerifierList(xv), false},
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, bn := range benchNotes(b) {
		b.Run(bn.name+"/impl=tlogkit", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bn.msg)))
			for b.Loop() {
				_, err := Open(bn.msg, bn.known)
				if (err == nil) != bn.wantOK {
					var un *UnverifiedNoteError
					if !errors.As(err, &un) {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(bn.name+"/impl=xmod", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bn.msg)))
			for b.Loop() {
				_, err := xnote.Open(bn.msg, bn.xknown)
				if (err == nil) != bn.wantOK {
					var un *xnote.UnverifiedNoteError
					if !errors.As(err, &un) {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	var keys []keyPair
	for i := 0; i < 4; i++ {
		keys = append(keys, newKeyPair(b, fmt.Sprintf("signer%d.example", i), byte(40+i)))
	}
	for _, n := range []int{1, 4} {
		var signers []Signer
		var xsigners []xnote.Signer
		for _, k := range keys[:n] {
			signers = append(signers, k.signer)
			xsigners = append(xsigners, k.xsigner)
		}
		name := fmt.Sprintf("signers=%d", n)
		b.Run(name+"/impl=tlogkit", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(cpText)))
			note := &Note{Text: cpText}
			for b.Loop() {
				if _, err := Sign(note, signers...); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/impl=xmod", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(cpText)))
			note := &xnote.Note{Text: cpText}
			for b.Loop() {
				if _, err := xnote.Sign(note, xsigners...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseTree(b *testing.B) {
	text := []byte(sumDBLatest[:strings.Index(sumDBLatest, "\n\n")+1])
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			if _, err := ParseTree(text); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			if _, err := xtlog.ParseTree(text); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkParseRecord(b *testing.B) {
	msg := []byte("10738965\n" + recText + "\n" + sumDBLatest)
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if _, _, _, err := ParseRecord(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if _, _, _, err := xtlog.ParseRecord(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCosign measures making and checking a timestamped cosignature
// (no x/mod counterpart).
func BenchmarkCosign(b *testing.B) {
	skey, vkey := testKey("witness.example/w1", 5, algCosignatureV1)
	cs, err := NewCosigner(skey, fixedClock(1700000000))
	if err != nil {
		b.Fatal(err)
	}
	cv, err := NewCosignatureVerifier(vkey)
	if err != nil {
		b.Fatal(err)
	}
	msg, err := Sign(&Note{Text: cpText}, cs)
	if err != nil {
		b.Fatal(err)
	}
	known := VerifierList(cv)
	b.Run("op=sign", func(b *testing.B) {
		b.ReportAllocs()
		note := &Note{Text: cpText}
		for b.Loop() {
			if _, err := Sign(note, cs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Open(msg, known); err != nil {
				b.Fatal(err)
			}
		}
	})
}
