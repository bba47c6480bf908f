package tile

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Data tiles hold the records of a log, 1<<H of them in a full tile. There
// are two encodings.
//
// The sumdb encoding (path tile/H/data/N) is what golang.org/x/mod/sumdb's
// server writes: each record's text, which ends in a newline, followed by
// one more newline. Record text is valid UTF-8 without control characters
// other than newline and without empty lines, so the blank line ends each
// record unambiguously.
//
// The C2SP encoding (path tile/entries/N, an "entry bundle") is each entry
// preceded by its length as a big-endian uint16, so an entry holds at most
// 65535 bytes.

// MaxEntrySize is the largest entry an entry bundle can hold.
const MaxEntrySize = 1<<16 - 1

// ValidRecordText reports whether text can be a record of a sumdb data
// tile: non-empty, valid UTF-8, no control characters but newline, no
// empty line, ending in a newline. These are x/mod's rules for record text,
// except that x/mod also accepts an empty first line, which would make a
// data tile ambiguous (a record starting with a newline cannot be told from
// the blank line ending the previous record), so it is rejected here.
func ValidRecordText(text []byte) bool {
	if len(text) == 0 || text[len(text)-1] != '\n' {
		return false
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' || c == '\n' && (i == 0 || text[i-1] == '\n') {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(text[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		i += size
	}
	return true
}

// AppendRecord appends the sumdb data-tile encoding of one record text to
// dst. It fails if text is not valid record text.
func AppendRecord(dst, text []byte) ([]byte, error) {
	if !ValidRecordText(text) {
		return dst, fmt.Errorf("%w: invalid record text", ErrMalformedData)
	}
	dst = append(dst, text...)
	return append(dst, '\n'), nil
}

// ReadRecord decodes the first record of a sumdb data tile and returns its
// text (ending in one newline, aliasing data) and the rest of the input.
func ReadRecord(data []byte) (text, rest []byte, err error) {
	// The record ends at the first blank line: the first "\n\n".
	for i := 0; i+1 < len(data); i++ {
		if data[i] == '\n' && data[i+1] == '\n' {
			text = data[:i+1]
			if !ValidRecordText(text) {
				return nil, data, fmt.Errorf("%w: invalid record text", ErrMalformedData)
			}
			return text, data[i+2:], nil
		}
	}
	return nil, data, fmt.Errorf("%w: unterminated record", ErrMalformedData)
}

// FormatDataTile returns the sumdb data tile holding the given records.
func FormatDataTile(records [][]byte) ([]byte, error) {
	size := 0
	for _, r := range records {
		size += len(r) + 1
	}
	out := make([]byte, 0, size)
	var err error
	for i, r := range records {
		if out, err = AppendRecord(out, r); err != nil {
			return nil, fmt.Errorf("%w (record %d)", err, i)
		}
	}
	return out, nil
}

// ParseDataTile decodes a sumdb data tile that must hold exactly w
// records; the texts alias data.
func ParseDataTile(data []byte, w int) ([][]byte, error) {
	if w < 1 || w > 1<<MaxHeight {
		return nil, fmt.Errorf("%w: invalid width %d", ErrInvalidTile, w)
	}
	// Each record takes at least 3 bytes ("x\n\n"): bound the allocation.
	if w > len(data)/3 {
		return nil, fmt.Errorf("%w: %d bytes cannot hold %d records", ErrMalformedData, len(data), w)
	}
	records := make([][]byte, 0, w)
	rest := data
	for i := 0; i < w; i++ {
		text, r, err := ReadRecord(rest)
		if err != nil {
			return nil, fmt.Errorf("%w (record %d of %d)", err, i, w)
		}
		records = append(records, text)
		rest = r
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after %d records", ErrMalformedData, len(rest), w)
	}
	return records, nil
}

// AppendEntry appends the entry-bundle encoding of one entry to dst. It
// fails if the entry is longer than MaxEntrySize.
func AppendEntry(dst, entry []byte) ([]byte, error) {
	if len(entry) > MaxEntrySize {
		return dst, fmt.Errorf("%w: entry of %d bytes is longer than %d", ErrMalformedData, len(entry), MaxEntrySize)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(entry)))
	return append(dst, entry...), nil
}

// ReadEntry decodes the first entry of an entry bundle and returns it
// (aliasing data) and the rest of the input.
func ReadEntry(data []byte) (entry, rest []byte, err error) {
	if len(data) < 2 {
		return nil, data, fmt.Errorf("%w: truncated entry length", ErrMalformedData)
	}
	n := int(binary.BigEndian.Uint16(data))
	if len(data)-2 < n {
		return nil, data, fmt.Errorf("%w: entry of %d bytes truncated to %d", ErrMalformedData, n, len(data)-2)
	}
	return data[2 : 2+n : 2+n], data[2+n:], nil
}

// FormatEntryBundle returns the entry bundle holding the given entries.
func FormatEntryBundle(entries [][]byte) ([]byte, error) {
	size := 0
	for _, e := range entries {
		size += 2 + len(e)
	}
	out := make([]byte, 0, size)
	var err error
	for i, e := range entries {
		if out, err = AppendEntry(out, e); err != nil {
			return nil, fmt.Errorf("%w (entry %d)", err, i)
		}
	}
	return out, nil
}

// ParseEntryBundle decodes an entry bundle that must hold exactly w
// entries; the entries alias data.
func ParseEntryBundle(data []byte, w int) ([][]byte, error) {
	if w < 1 || w > 1<<MaxHeight {
		return nil, fmt.Errorf("%w: invalid width %d", ErrInvalidTile, w)
	}
	if w > len(data)/2 {
		return nil, fmt.Errorf("%w: %d bytes cannot hold %d entries", ErrMalformedData, len(data), w)
	}
	entries := make([][]byte, 0, w)
	rest := data
	for i := 0; i < w; i++ {
		e, r, err := ReadEntry(rest)
		if err != nil {
			return nil, fmt.Errorf("%w (entry %d of %d)", err, i, w)
		}
		entries = append(entries, e)
		rest = r
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after %d entries", ErrMalformedData, len(rest), w)
	}
	return entries, nil
}
