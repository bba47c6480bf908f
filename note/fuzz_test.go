package note

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	xnote "golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/tlog"
)

// The seed corpus lives in testdata/fuzz/<FuzzName>/. Regenerate it with
//
//	TLOGKIT_WRITE_CORPUS=1 go test -run TestWriteFuzzCorpus ./note

// fuzzVerifiers returns the verifier lists used by FuzzOpenDifferential:
// keys a and b are known, d is known twice (ambiguous), c is unknown.
func fuzzVerifiers(t testing.TB) (*fixture, Verifiers, xnote.Verifiers) {
	f := newFixture(t)
	d := newKeyPair(t, "d.example", 4)
	d2 := newKeyPair(t, "d.example", 4)
	known := VerifierList(f.a.verifier, f.b.verifier, d.verifier, d2.verifier)
	xknown := xnote.VerifierList(f.a.xverifier, f.b.xverifier, d.xverifier, d2.xverifier)
	return f, known, xknown
}

func openSeeds(t testing.TB) [][]byte {
	f, _, _ := fuzzVerifiers(t)
	d := newKeyPair(t, "d.example", 4)
	s := func(parts ...string) []byte { return []byte(strings.Join(parts, "")) }
	return [][]byte{
		s(f.signedAB),
		s(cpText, "\n", f.aLine),
		s(cpText, "\n", f.cLine),
		s(cpText, "\n", f.cLine, f.aLine, f.cLine),
		s(cpText, "\n", f.aLine, f.aLine2),
		s(cpText, "\n", nonCanonical(f.aLine)),
		s(cpText, "\n", f.aLine, mustLine(t, cpText, d)),
		s(cpText2, "\n", f.aLine),
		s("a\n\nb\n\n\n", f.aLine),
		s(cpText, f.aLine),
		s(cpText, "\n", strings.TrimSuffix(f.aLine, "\n")),
		s(cpText, "\n— a.example AAAAAA==\n"),
		s(cpText, "\n", strings.Repeat(f.cLine, 101)),
		s("x\xff\n\n", f.aLine),
		s("x\t\n\n", f.aLine),
		s(cpText, "\n— a\u00a0b ", f.aSig.Base64, "\n"),
	}
}

func FuzzOpenDifferential(f *testing.F) {
	for _, s := range openSeeds(f) {
		f.Add(s)
	}
	_, known, xknown := fuzzVerifiers(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		n, err := compareOpen(t, msg, known, xknown)
		if err != nil {
			return
		}
		// An opened note signs again to an equivalent note.
		out, err := Sign(n)
		require.NoError(t, err)
		n2, err := Open(out, known)
		require.NoError(t, err)
		require.Equal(t, n.Text, n2.Text)
		require.Equal(t, n.Sigs, n2.Sigs)
	})
}

func checkpointSeeds() []string {
	h := hashB64
	return []string{
		"go.sum database tree\n66398721\n" + h + "\n",
		"example.com/log\n0\n" + h + "\n",
		"o\n9223372036854775807\n" + h + "\next\n",
		"o\n9223372036854775808\n" + h + "\n",
		"o\n007\n" + h + "\n",
		"o\n5\n" + h[:42] + "h=\n",
		"go.sum database tree\n5\n" + h + "\r\n",
		"o\n5\n" + h + "\n\n",
		"",
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	for _, s := range checkpointSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		compareParseTree(t, text)
		c, err := ParseCheckpoint(text)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedCheckpoint)
			return
		}
		// The law: Format(Parse(x)) == x.
		out, err := c.Format()
		require.NoError(t, err)
		require.Equal(t, string(text), string(out))
		if c.Origin == SumDBOrigin {
			tree, err := ParseTree(text)
			require.NoError(t, err)
			require.Equal(t, c.Tree(), tree)
		}
	})
}

func FuzzCheckpointFormat(f *testing.F) {
	f.Add("example.com/log", int64(5), []byte("hash"), "")
	f.Add("o", int64(-1), []byte{}, "a\nb")
	f.Add("", int64(1<<63-1), []byte{0xff}, "\n")
	f.Fuzz(func(t *testing.T, origin string, n int64, hash []byte, ext string) {
		var h tlog.Hash
		copy(h[:], hash)
		c := Checkpoint{Origin: origin, N: n, Hash: h}
		if ext != "" {
			c.Extensions = strings.Split(ext, "\n")
		}
		text, err := c.Format()
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedCheckpoint)
			return
		}
		c2, err := ParseCheckpoint(text)
		require.NoError(t, err)
		require.Equal(t, c, c2)
	})
}

func FuzzParseTree(f *testing.F) {
	for _, s := range checkpointSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		compareParseTree(t, text)
	})
}

func recordSeeds() []string {
	return []string{
		"10738965\n" + recText + "\n" + cpText,
		"0\n\n\n",
		"+5\nx\n\n",
		"007\nx\n\n",
		"-1\nx\n\n",
		"9223372036854775808\nx\n\n",
		"5\nx\ty\n\n",
		"5\nx\n",
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range recordSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		compareParseRecord(t, msg)
	})
}

func FuzzFormatRecord(f *testing.F) {
	f.Add(int64(10738965), []byte(recText))
	f.Add(int64(-1), []byte("x\n"))
	f.Add(int64(0), []byte("\n"))
	f.Add(int64(5), []byte("a\n\nb\n"))
	f.Fuzz(func(t *testing.T, id int64, text []byte) {
		msg, err := FormatRecord(id, text)
		xmsg, xerr := xtlog.FormatRecord(id, text)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedRecord)
			if xerr == nil && id >= 0 && len(text) <= MaxRecordSize {
				t.Fatalf("FormatRecord(%d, %q): ours %v, x/mod accepted", id, text, err)
			}
			return
		}
		require.NoError(t, xerr)
		require.Equal(t, xmsg, msg)
		// Format -> Parse round trip.
		id2, text2, rest, err := ParseRecord(append(msg, "tail"...))
		require.NoError(t, err)
		require.Equal(t, id, id2)
		require.Equal(t, text, text2)
		require.Equal(t, "tail", string(rest))
	})
}

func FuzzNewVerifier(f *testing.F) {
	_, vkey := testKey("example.com/log", 7, algEd25519)
	_, cvkey := testKey("example.com/log", 7, algCosignatureV1)
	for _, s := range []string{vkey, cvkey, sumDBKey, "", "a+b+c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, vkey string) {
		v, err := NewVerifier(vkey)
		xv, xerr := xnote.NewVerifier(vkey)
		if (err == nil) != (xerr == nil) {
			t.Fatalf("NewVerifier(%q): ours %v, x/mod %v", vkey, err, xerr)
		}
		if err == nil {
			require.Equal(t, xv.Name(), v.Name())
			require.Equal(t, xv.KeyHash(), v.KeyHash())
		}
		if cv, err := NewCosignatureVerifier(vkey); err == nil {
			require.True(t, isValidName(cv.Name()))
		}
	})
}

// FuzzSignOpen checks the Sign -> Open pair, with a plain signer and a
// cosigner, and that x/mod opens what Sign writes.
func FuzzSignOpen(f *testing.F) {
	f.Add(cpText, int64(1700000000))
	f.Add("hello\n", int64(0))
	f.Add("a\n\nb\n", int64(1<<62))
	f.Add("x", int64(-5))
	fx := newFixture(f)
	cskey, cvkey := testKey("witness.example/w1", 5, algCosignatureV1)
	cv, err := NewCosignatureVerifier(cvkey)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, text string, ts int64) {
		cs, err := NewCosigner(cskey, fixedClock(ts))
		require.NoError(t, err)
		signers := []Signer{fx.a.signer}
		_, cpErr := ParseCheckpoint([]byte(text))
		if cpErr == nil && ts >= 0 {
			signers = append(signers, cs)
		}
		msg, err := Sign(&Note{Text: text}, signers...)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedNote)
			return
		}
		n, err := Open(msg, VerifierList(fx.a.verifier, cv))
		require.NoError(t, err)
		require.Equal(t, text, n.Text)
		require.Len(t, n.Sigs, len(signers))
		if len(signers) == 2 {
			got, err := CosignatureTimestamp(n.Sigs[1])
			require.NoError(t, err)
			require.Equal(t, ts, got)
		}
		xn, err := xnote.Open(msg, xnote.VerifierList(fx.a.xverifier, cv))
		require.NoError(t, err)
		require.Equal(t, text, xn.Text)
	})
}

// TestWriteFuzzCorpus writes the seed corpus files. It runs only with
// TLOGKIT_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("TLOGKIT_WRITE_CORPUS") != "1" {
		t.Skip("set TLOGKIT_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	write := func(name string, i int, values ...string) {
		dir := filepath.Join("testdata", "fuzz", name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		for _, v := range values {
			b.WriteString(v + "\n")
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), b.Bytes(), 0o644))
	}
	bs := func(s string) string { return "[]byte(" + strconv.Quote(s) + ")" }
	for i, s := range openSeeds(t) {
		write("FuzzOpenDifferential", i, bs(string(s)))
	}
	for i, s := range loadSumDBNotes(t) {
		write("FuzzOpenDifferential", 50+i, bs(string(s.note)))
	}
	for i, s := range checkpointSeeds() {
		write("FuzzParseCheckpoint", i, bs(s))
		write("FuzzParseTree", i, bs(s))
	}
	for i, s := range recordSeeds() {
		write("FuzzParseRecord", i, bs(s))
	}
}
