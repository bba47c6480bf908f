package note

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/tlog"
)

const hashB64 = "5oXTdOltbW8oy+WAHSPYkUE7FskIY/5ZJCYGy+buJ3g="

func TestParseCheckpointValid(t *testing.T) {
	cases := []struct {
		text string
		want Checkpoint
	}{
		{"go.sum database tree\n66398721\n" + hashB64 + "\n", Checkpoint{Origin: SumDBOrigin, N: 66398721, Hash: mustHash(t, hashB64)}},
		{"example.com/log\n0\n" + hashB64 + "\n", Checkpoint{Origin: "example.com/log", N: 0, Hash: mustHash(t, hashB64)}},
		{"o\n9223372036854775807\n" + hashB64 + "\n", Checkpoint{Origin: "o", N: 1<<63 - 1, Hash: mustHash(t, hashB64)}},
		{"o w/ space+plus\n1\n" + hashB64 + "\next one\n— ext two\n", Checkpoint{Origin: "o w/ space+plus", N: 1, Hash: mustHash(t, hashB64), Extensions: []string{"ext one", "— ext two"}}},
		{"ünïcødé\n10\n" + hashB64 + "\n", Checkpoint{Origin: "ünïcødé", N: 10, Hash: mustHash(t, hashB64)}},
	}
	for _, tc := range cases {
		c, err := ParseCheckpoint([]byte(tc.text))
		require.NoError(t, err, tc.text)
		require.Equal(t, tc.want, c)
		// The law: Format(Parse(x)) == x.
		text, err := c.Format()
		require.NoError(t, err)
		require.Equal(t, tc.text, string(text))
		b, err := c.AppendText([]byte("prefix"))
		require.NoError(t, err)
		require.Equal(t, "prefix"+tc.text, string(b))
	}
}

func mustHash(t testing.TB, s string) tlog.Hash {
	h, ok := parseHash([]byte(s))
	require.True(t, ok, s)
	return h
}

func TestParseCheckpointMalformed(t *testing.T) {
	h := hashB64
	// A hash with nonzero unused bits: the same bytes as hashB64.
	lenient := h[:42] + "h="
	many := strings.Repeat("x\n", MaxExtensions+1)
	cases := []string{
		"",
		"\n",
		"o\n",
		"o\n1\n",
		"o\n1\n" + h,                           // no final newline
		"\n1\n" + h + "\n",                     // empty origin
		"o\n\n" + h + "\n",                     // empty size
		"o\n+5\n" + h + "\n",                   // sign
		"o\n-1\n" + h + "\n",                   // negative
		"o\n-0\n" + h + "\n",                   // negative zero
		"o\n007\n" + h + "\n",                  // leading zeros
		"o\n00\n" + h + "\n",                   // leading zeros
		"o\n 5\n" + h + "\n",                   // space
		"o\n5 \n" + h + "\n",                   // space
		"o\n0x5\n" + h + "\n",                  // hex
		"o\n1_000\n" + h + "\n",                // underscore
		"o\n9223372036854775808\n" + h + "\n",  // 2^63
		"o\n18446744073709551616\n" + h + "\n", // 2^64
		"o\n99999999999999999999\n" + h + "\n", // overflow
		"o\n5\n" + h[:43] + "\n",               // missing padding
		"o\n5\n" + h[:40] + "\n",               // short
		"o\n5\n" + h + "A\n",                   // long
		"o\n5\n" + lenient + "\n",              // non-canonical bits
		"o\n5\n" + h[:10] + "\n" + h[10:] + "\n",
		"o\n5\n" + strings.Repeat("A", 44) + "\n", // no padding, 33 bytes
		"o\n5\nAAAA" + h[4:43] + "-\n",            // URL alphabet
		"o\n5\n" + h + "\r\n",                     // carriage return
		"o\n5\n" + h + "\n\n",                     // empty extension line
		"o\n5\n" + h + "\nx\n\ny\n",               // empty extension line
		"o\n5\n" + h + "\nx",                      // unterminated extension
		"o\x00\n5\n" + h + "\n",                   // control character
		"o\t\n5\n" + h + "\n",                     // control character
		"o\xff\n5\n" + h + "\n",                   // invalid UTF-8
		"o\n5\n" + h + "\n" + many,                // too many extensions
		"o\n5\n" + h + "\n" + strings.Repeat("x", MaxCheckpointSize) + "\n",
	}
	for _, text := range cases {
		_, err := ParseCheckpoint([]byte(text))
		require.ErrorIs(t, err, ErrMalformedCheckpoint, "%q", text)
	}
	// ParseTree, like x/mod, accepts the lenient hash.
	tree, err := ParseTree([]byte(SumDBOrigin + "\n5\n" + lenient + "\n"))
	require.NoError(t, err)
	require.Equal(t, mustHash(t, h), tree.Hash)
}

func TestCheckpointFormatErrors(t *testing.T) {
	h := mustHash(t, hashB64)
	many := make([]string, MaxExtensions+1)
	for i := range many {
		many[i] = "x"
	}
	for _, c := range []Checkpoint{
		{Origin: "", N: 1, Hash: h},
		{Origin: "a\nb", N: 1, Hash: h},
		{Origin: "a\tb", N: 1, Hash: h},
		{Origin: "a\xff", N: 1, Hash: h},
		{Origin: "o", N: -1, Hash: h},
		{Origin: "o", N: 1, Hash: h, Extensions: []string{""}},
		{Origin: "o", N: 1, Hash: h, Extensions: []string{"a\n"}},
		{Origin: "o", N: 1, Hash: h, Extensions: many},
		{Origin: "o", N: 1, Hash: h, Extensions: []string{strings.Repeat("x", MaxCheckpointSize)}},
	} {
		_, err := c.Format()
		require.ErrorIs(t, err, ErrMalformedCheckpoint, "%+v", c.Origin)
		b, err := c.AppendText([]byte("keep"))
		require.Error(t, err)
		require.Equal(t, "keep", string(b))
	}
}

func TestFormatParseTreeAgainstXmod(t *testing.T) {
	for i, n := range []int64{0, 1, 2, 255, 256, 66398721, 1<<62 + 1, 1<<63 - 1, -1, -1 << 63} {
		h := tlog.Hash(sha256.Sum256([]byte(fmt.Sprint(i))))
		got := FormatTree(tlog.Tree{N: n, Hash: h})
		want := xtlog.FormatTree(xtlog.Tree{N: n, Hash: xtlog.Hash(h)})
		require.Equal(t, string(want), string(got))
		compareParseTree(t, got)
		if n >= 0 {
			c, err := ParseCheckpoint(got)
			require.NoError(t, err)
			require.Equal(t, tlog.Tree{N: n, Hash: h}, c.Tree())
		}
	}
	h := hashB64
	for _, text := range []string{
		"", "go.sum database tree\n", "go.sum database tree\n5\n" + h,
		"go.sum database tree\n5\n" + h + "\n",
		"go.sum database tree\n5\n" + h + "\nextra\nlines\n\n",
		"go.sum database tree\n5\n" + h + "\n\x00\xff",
		"go.sum database tree\n5\n" + h[:42] + "h=\n",
		"go.sum database tree\n5\n" + h + "\r\n",
		"go.sum database tree\n5\n" + h[:20] + strings.Repeat("\r", 40) + h[20:] + "\n",
		"go.sum database tree\n05\n" + h + "\n",
		"go.sum database tree\n+5\n" + h + "\n",
		"go.sum database tree\n-5\n" + h + "\n",
		"go.sum database tree\n9223372036854775808\n" + h + "\n",
		"go.sum database tree\n5\n" + h[:43] + "\n",
		"go.sum database tree\n5\nAA==\n",
		"Go.sum database tree\n5\n" + h + "\n",
		"go.sum database tree v2\n5\n" + h + "\n",
		"go.sum database tree\n5\n" + h + "\n" + strings.Repeat("x", 1e6),
	} {
		compareParseTree(t, []byte(text))
	}
}

// compareParseTree checks that ParseTree agrees with x/mod on text.
func compareParseTree(t testing.TB, text []byte) {
	t.Helper()
	tree, err := ParseTree(text)
	xtree, xerr := xtlog.ParseTree(text)
	if (err == nil) != (xerr == nil) {
		t.Fatalf("ParseTree(%q): ours %v, x/mod %v", text, err, xerr)
	}
	if err != nil {
		require.ErrorIs(t, err, ErrMalformedCheckpoint)
		return
	}
	require.Equal(t, xtree.N, tree.N)
	require.Equal(t, [32]byte(xtree.Hash), [32]byte(tree.Hash))
}
