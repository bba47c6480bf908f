package note

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxRecordSize is the largest record text, in bytes, that FormatRecord and
// ParseRecord accept (64 KiB - 1, the largest C2SP tlog-tiles entry).
// x/mod has no such cap. A checksum database record is two go.sum lines,
// a few hundred bytes.
const MaxRecordSize = 1<<16 - 1

// ErrMalformedRecord reports a record (id line and text) that is not in
// canonical form.
var ErrMalformedRecord = errors.New("note: malformed record")

// validRecordText reports whether text is record text as x/mod defines it:
// valid UTF-8, no ASCII control characters other than newline, no blank
// lines, ending in a newline. The caller checks the size.
func validRecordText(text []byte) bool {
	if len(text) == 0 || text[len(text)-1] != '\n' {
		return false
	}
	prev := byte(0)
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' || c == '\n' && prev == '\n' {
				return false
			}
			prev = c
			i++
			continue
		}
		r, size := utf8.DecodeRune(text[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		prev = c
		i += size
	}
	return true
}

// FormatRecord returns a record as a checksum database lookup serves it:
// the id in decimal on its own line, the record text, then a blank line.
// The text must be valid UTF-8 without ASCII control characters other than
// newline, end in a newline, contain no blank line, and be at most
// [MaxRecordSize] bytes; id must be >= 0. For such inputs the result is the
// same as golang.org/x/mod/sumdb/tlog.FormatRecord's (which also accepts a
// negative id).
func FormatRecord(id int64, text []byte) ([]byte, error) {
	if id < 0 {
		return nil, fmt.Errorf("%w: negative id %d", ErrMalformedRecord, id)
	}
	if len(text) > MaxRecordSize {
		return nil, fmt.Errorf("%w: text larger than %d bytes", ErrMalformedRecord, MaxRecordSize)
	}
	if !validRecordText(text) {
		return nil, fmt.Errorf("%w: invalid record text", ErrMalformedRecord)
	}
	msg := make([]byte, 0, 20+len(text)+1)
	msg = strconv.AppendInt(msg, id, 10)
	msg = append(msg, '\n')
	msg = append(msg, text...)
	return append(msg, '\n'), nil
}

// ParseRecord parses a record at the start of msg, as written by
// [FormatRecord], and returns its id, its text (ending in a newline) and the
// rest of msg after the blank line that ends the record. text and rest alias
// msg.
//
// It accepts what golang.org/x/mod/sumdb/tlog.ParseRecord accepts, with the
// same results, except that the id must be canonical decimal (no sign, no
// leading zeros, 0 <= id < 2^63: x/mod also accepts "+5", "007" and "-1")
// and the text must be at most [MaxRecordSize] bytes.
func ParseRecord(msg []byte) (id int64, text, rest []byte, err error) {
	i := bytes.IndexByte(msg, '\n')
	if i < 0 {
		return 0, nil, nil, fmt.Errorf("%w: no id line", ErrMalformedRecord)
	}
	id, ok := parseDecimal(msg[:i])
	if !ok {
		return 0, nil, nil, fmt.Errorf("%w: id %q is not canonical decimal in [0, 2^63)", ErrMalformedRecord, truncate(msg[:i], 40))
	}
	body := msg[i+1:]
	// The text ends at the first blank line; search no further than the cap.
	limit := body
	if len(limit) > MaxRecordSize+1 {
		limit = limit[:MaxRecordSize+1]
	}
	j := bytes.Index(limit, []byte("\n\n"))
	if j < 0 {
		if len(limit) < len(body) {
			return 0, nil, nil, fmt.Errorf("%w: text larger than %d bytes", ErrMalformedRecord, MaxRecordSize)
		}
		return 0, nil, nil, fmt.Errorf("%w: no blank line after text", ErrMalformedRecord)
	}
	text, rest = body[:j+1], body[j+2:]
	if !validRecordText(text) {
		return 0, nil, nil, fmt.Errorf("%w: invalid record text", ErrMalformedRecord)
	}
	return id, text, rest, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
