package note

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	xnote "golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"
)

const (
	sumDBKey  = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
	sumDBData = "../testdata/sum.golang.org"
)

// sumDBNote is a signed tree head from the real data.
type sumDBNote struct {
	file string
	note []byte
}

// loadSumDBNotes returns the latest note and the note at the end of every
// lookup response, checking the record in front of each against x/mod.
func loadSumDBNotes(t *testing.T) []sumDBNote {
	t.Helper()
	if _, err := os.Stat(sumDBData); err != nil {
		t.Skipf("no real data: %v", err)
	}
	latest, err := os.ReadFile(filepath.Join(sumDBData, "latest"))
	require.NoError(t, err)
	notes := []sumDBNote{{"latest", latest}}
	err = filepath.WalkDir(filepath.Join(sumDBData, "lookup"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		id, text, rest, err := ParseRecord(data)
		require.NoError(t, err, path)
		xid, xtext, xrest, xerr := xtlog.ParseRecord(data)
		require.NoError(t, xerr)
		require.Equal(t, xid, id)
		require.Equal(t, xtext, text)
		require.Equal(t, xrest, rest)
		// The record names the module version the file is named for.
		mv := strings.TrimPrefix(filepath.ToSlash(path), filepath.ToSlash(sumDBData)+"/lookup/")
		mod, ver, _ := strings.Cut(mv, "@")
		require.True(t, bytes.HasPrefix(text, []byte(unescapeForTest(mod)+" "+ver+" h1:")), "%s: %q", path, text)
		// FormatRecord writes the same bytes back.
		rec, err := FormatRecord(id, text)
		require.NoError(t, err)
		require.Equal(t, data[:len(data)-len(rest)], rec)
		notes = append(notes, sumDBNote{path, rest})
		return nil
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(notes), 2)
	return notes
}

// unescapeForTest undoes the module path case escaping ("!x" for "X").
func unescapeForTest(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '!' && i+1 < len(s) {
			i++
			b.WriteByte(s[i] - 'a' + 'A')
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestSumDBRealNotes(t *testing.T) {
	v, err := NewVerifier(sumDBKey)
	require.NoError(t, err)
	xv, err := xnote.NewVerifier(sumDBKey)
	require.NoError(t, err)
	known, xknown := VerifierList(v), xnote.VerifierList(xv)

	for _, sn := range loadSumDBNotes(t) {
		n, err := compareOpen(t, sn.note, known, xknown)
		require.NoError(t, err, sn.file)
		require.Len(t, n.Sigs, 1)
		require.Equal(t, "sum.golang.org", n.Sigs[0].Name)
		require.Equal(t, uint32(0x033de0ae), n.Sigs[0].Hash)

		cp, err := ParseCheckpoint([]byte(n.Text))
		require.NoError(t, err, sn.file)
		require.Equal(t, SumDBOrigin, cp.Origin)
		require.Empty(t, cp.Extensions)
		text, err := cp.Format()
		require.NoError(t, err)
		require.Equal(t, n.Text, string(text))

		tree, err := ParseTree([]byte(n.Text))
		require.NoError(t, err)
		xtree, err := xtlog.ParseTree([]byte(n.Text))
		require.NoError(t, err)
		require.Equal(t, xtree.N, tree.N)
		require.Equal(t, [32]byte(xtree.Hash), [32]byte(tree.Hash))
		require.Equal(t, cp.Tree(), tree)
		require.Equal(t, n.Text, string(FormatTree(tree)))

		c2, n2, err := OpenCheckpoint(sn.note, SumDBOrigin, known)
		require.NoError(t, err)
		require.Equal(t, cp, c2)
		require.Equal(t, n, n2)
		_, _, err = OpenCheckpoint(sn.note, "sum.golang.org", known)
		require.ErrorIs(t, err, ErrWrongOrigin)

		if sn.file == "latest" {
			require.Equal(t, int64(66398721), cp.N)
		}
	}
}

// TestSumDBBitFlips flips every bit of the latest real signed tree head
// and one bit of every byte of the lookups' tree heads: each
// change must make Open fail, and x/mod must not accept a note we reject
// for a reason other than the documented non-canonical encoding.
func TestSumDBBitFlips(t *testing.T) {
	v, err := NewVerifier(sumDBKey)
	require.NoError(t, err)
	xv, err := xnote.NewVerifier(sumDBKey)
	require.NoError(t, err)
	known, xknown := VerifierList(v), xnote.VerifierList(xv)

	xmodMissed := 0
	for _, sn := range loadSumDBNotes(t) {
		msg := bytes.Clone(sn.note)
		for i := range msg {
			// Every bit of latest; one bit per byte (rotating) of the others.
			for bit := 0; bit < 8; bit++ {
				if sn.file != "latest" && bit != i%8 {
					continue
				}
				msg[i] ^= 1 << bit
				n, err := compareOpen(t, msg, known, xknown)
				if err == nil {
					t.Fatalf("%s: flipping bit %d of byte %d: Open accepted %q", sn.file, bit, i, n.Text)
				}
				if _, xerr := xnote.Open(msg, xknown); xerr == nil {
					xmodMissed++
				}
				// Also the checkpoint step must not see a verified tree.
				if _, _, err := OpenCheckpoint(msg, SumDBOrigin, known); err == nil {
					t.Fatalf("%s: OpenCheckpoint accepted a flipped note", sn.file)
				}
				msg[i] ^= 1 << bit
			}
		}
		// Truncations fail too.
		for i := 0; i < len(msg); i++ {
			if _, err := Open(msg[:i], known); err == nil {
				t.Fatalf("%s: Open accepted truncation to %d bytes", sn.file, i)
			}
		}
	}
	// x/mod decodes base64 leniently, so some flips in the last character
	// of the signature go unnoticed there; they must not here.
	t.Logf("flips that x/mod accepted and we rejected: %d", xmodMissed)
}

// TestSumDBWrongKey checks that the real notes do not open with another key
// of the same name (the key hash differs: the signature is unknown) or with
// a key that claims the same name and hash.
func TestSumDBWrongKey(t *testing.T) {
	notes := loadSumDBNotes(t)
	other := newKeyPair(t, "sum.golang.org", 9)
	_, err := Open(notes[0].note, VerifierList(other.verifier))
	var un *UnverifiedNoteError
	require.ErrorAs(t, err, &un)

	// A verifier with sum.golang.org's name and hash but another key.
	fake := funcVerifier{name: "sum.golang.org", hash: 0x033de0ae, verify: other.verifier.Verify}
	_, err = Open(notes[0].note, VerifierList(fake))
	var inv *InvalidSignatureError
	require.True(t, errors.As(err, &inv), "%v", err)
}

type funcVerifier struct {
	name   string
	hash   uint32
	verify func(msg, sig []byte) bool
}

func (v funcVerifier) Name() string                { return v.name }
func (v funcVerifier) KeyHash() uint32             { return v.hash }
func (v funcVerifier) Verify(msg, sig []byte) bool { return v.verify(msg, sig) }
