package note

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	xtlog "golang.org/x/mod/sumdb/tlog"
)

const recText = "rsc.io/quote v1.5.2 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=\nrsc.io/quote v1.5.2/go.mod h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=\n"

// isCanonicalID reports whether the id line (up to the first newline) of
// msg is canonical decimal in [0, 2^63).
func isCanonicalID(msg []byte) bool {
	i := strings.IndexByte(string(msg), '\n')
	if i < 0 {
		return false
	}
	_, ok := parseDecimal(msg[:i])
	return ok
}

// compareParseRecord checks ParseRecord against x/mod: the same result,
// except the documented rejections (non-canonical id, text over the cap).
func compareParseRecord(t testing.TB, msg []byte) {
	t.Helper()
	id, text, rest, err := ParseRecord(msg)
	xid, xtext, xrest, xerr := xtlog.ParseRecord(msg)
	if err != nil {
		require.ErrorIs(t, err, ErrMalformedRecord)
		if xerr == nil && isCanonicalID(msg) && len(xtext) <= MaxRecordSize {
			t.Fatalf("ParseRecord(%q): ours %v, x/mod accepted", msg, err)
		}
		return
	}
	if xerr != nil {
		t.Fatalf("ParseRecord(%q): ours accepted, x/mod %v", msg, xerr)
	}
	require.Equal(t, xid, id)
	require.Equal(t, xtext, text)
	require.Equal(t, xrest, rest)
	// The law: FormatRecord(ParseRecord(x)) == the record prefix of x.
	rec, err := FormatRecord(id, text)
	require.NoError(t, err)
	require.Equal(t, string(msg[:len(msg)-len(rest)]), string(rec))
}

func TestRecordAgainstXmod(t *testing.T) {
	valid := []struct {
		id   int64
		text string
	}{
		{0, "x\n"},
		{1, "\n"},
		{10738965, recText},
		{1<<63 - 1, "a\nb\nc\n"},
		{42, "ünïcødé \u2028 text\n"},
		{7, strings.Repeat("x", MaxRecordSize-1) + "\n"},
	}
	for _, tc := range valid {
		msg, err := FormatRecord(tc.id, []byte(tc.text))
		require.NoError(t, err)
		xmsg, err := xtlog.FormatRecord(tc.id, []byte(tc.text))
		require.NoError(t, err)
		require.Equal(t, string(xmsg), string(msg))
		for _, suffix := range []string{"", "rest", "\n", "go.sum database tree\n"} {
			compareParseRecord(t, append(msg, suffix...))
		}
		id, text, rest, err := ParseRecord(append(msg, "tail"...))
		require.NoError(t, err)
		require.Equal(t, tc.id, id)
		require.Equal(t, tc.text, string(text))
		require.Equal(t, "tail", string(rest))
	}

	badText := []string{
		"", "x", "x\n\n", "\n\n", "a\n\nb\n", "a\tb\n", "a\rb\n", "a\r\n", "\x00\n", "a\xffb\n", "a\xc0\x80\n",
		strings.Repeat("x", MaxRecordSize) + "\n",
	}
	for _, text := range badText {
		_, err := FormatRecord(5, []byte(text))
		require.ErrorIs(t, err, ErrMalformedRecord, "%q", text)
	}
	_, err := FormatRecord(-1, []byte("x\n"))
	require.ErrorIs(t, err, ErrMalformedRecord)

	msgs := []string{
		"", "5", "5\n", "5\nx\n", "5\nx\n\n", "5\n\n", "5\n\n\n", "5\nx\ny\n\nz",
		"+5\nx\n\n", "-1\nx\n\n", "-0\nx\n\n", "007\nx\n\n", "0\nx\n\n", " 5\nx\n\n", "5 \nx\n\n",
		"9223372036854775807\nx\n\n", "9223372036854775808\nx\n\n", "99999999999999999999\nx\n\n",
		"0x5\nx\n\n", "\nx\n\n", "5\r\nx\n\n", "5\nx\r\n\n", "5\na\tb\n\n", "5\n\xff\n\n", "5\nx\n\n\n",
		"5\n" + strings.Repeat("x", MaxRecordSize) + "\n\n",
		"5\n" + strings.Repeat("x", MaxRecordSize+10),
	}
	for _, msg := range msgs {
		compareParseRecord(t, []byte(msg))
	}
	// Non-canonical ids that x/mod accepts are rejected here.
	for _, id := range []string{"+5", "007", "-1", "-0", "00"} {
		msg := []byte(id + "\nx\n\n")
		_, _, _, xerr := xtlog.ParseRecord(msg)
		require.NoError(t, xerr, id)
		_, _, _, err := ParseRecord(msg)
		require.ErrorIs(t, err, ErrMalformedRecord, id)
	}
}
