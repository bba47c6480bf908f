package note

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/tlogkit/tlogkit/tlog"
)

// Limits applied to checkpoints.
const (
	// MaxCheckpointSize is the largest checkpoint text, in bytes, that
	// ParseCheckpoint, ParseTree and Checkpoint.Format accept (the same
	// 1,000,000 bytes as x/mod's ParseTree).
	MaxCheckpointSize = 1_000_000

	// MaxExtensions is the largest number of extension lines that
	// ParseCheckpoint and Checkpoint.Format accept.
	MaxExtensions = 256
)

// SumDBOrigin is the origin line of the Go checksum database's tree heads.
const SumDBOrigin = "go.sum database tree"

var (
	// ErrMalformedCheckpoint reports a checkpoint text (or a Checkpoint
	// value) that is not in canonical form.
	ErrMalformedCheckpoint = errors.New("note: malformed checkpoint")

	// ErrWrongOrigin reports a checkpoint whose origin is not the expected one.
	ErrWrongOrigin = errors.New("note: checkpoint has wrong origin")
)

// A Checkpoint is the body of a signed tree head (c2sp.org/tlog-checkpoint):
// the log's origin, the tree size and the root hash, and optional extension
// lines.
type Checkpoint struct {
	Origin     string    // identifies the log; non-empty, one line
	N          int64     // tree size, 0 <= N < 2^63
	Hash       tlog.Hash // root hash of the tree of size N
	Extensions []string  // extra lines, each non-empty, without newlines
}

// Tree returns the tree that the checkpoint describes.
func (c Checkpoint) Tree() tlog.Tree { return tlog.Tree{N: c.N, Hash: c.Hash} }

// validLine reports whether s is a non-empty line of valid UTF-8 without
// any ASCII control character.
func validLine(s string) bool {
	return s != "" && validNoteString(s) && indexByteString(s, '\n') < 0
}

// Format returns the checkpoint text:
//
//	<origin>\n<N in decimal>\n<base64 hash>\n[<extension>\n ...]
//
// It fails with [ErrMalformedCheckpoint] if the origin or an extension line
// is empty or contains a newline, control character or invalid UTF-8, if N is
// negative, or if the text would exceed [MaxCheckpointSize] or
// [MaxExtensions].
func (c Checkpoint) Format() ([]byte, error) {
	return c.AppendText(nil)
}

// AppendText appends the checkpoint text (see [Checkpoint.Format]) to b.
func (c Checkpoint) AppendText(b []byte) ([]byte, error) {
	if !validLine(c.Origin) {
		return b, fmt.Errorf("%w: invalid origin %q", ErrMalformedCheckpoint, c.Origin)
	}
	if c.N < 0 {
		return b, fmt.Errorf("%w: negative tree size %d", ErrMalformedCheckpoint, c.N)
	}
	if len(c.Extensions) > MaxExtensions {
		return b, fmt.Errorf("%w: more than %d extension lines", ErrMalformedCheckpoint, MaxExtensions)
	}
	size := len(c.Origin) + 1 + 20 + 45
	for _, e := range c.Extensions {
		if !validLine(e) {
			return b, fmt.Errorf("%w: invalid extension line %q", ErrMalformedCheckpoint, e)
		}
		size += len(e) + 1
	}
	start := len(b)
	b = append(b, c.Origin...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, c.N, 10)
	b = append(b, '\n')
	b = base64.StdEncoding.AppendEncode(b, c.Hash[:])
	b = append(b, '\n')
	for _, e := range c.Extensions {
		b = append(b, e...)
		b = append(b, '\n')
	}
	if len(b)-start > MaxCheckpointSize {
		return b[:start], fmt.Errorf("%w: larger than %d bytes", ErrMalformedCheckpoint, MaxCheckpointSize)
	}
	return b, nil
}

// ParseCheckpoint parses a checkpoint text, such as the Text of a [Note]
// returned by [Open]. It accepts only the canonical form that
// [Checkpoint.Format] writes: at least three newline-terminated lines; a
// non-empty origin; the tree size in decimal without sign or leading zeros
// (0 <= N < 2^63); the root hash as exactly 44 characters of padded standard
// base64 with zero unused bits; then non-empty extension lines. The text must
// be valid UTF-8 without control characters other than newline, and at most
// [MaxCheckpointSize] bytes with at most [MaxExtensions] extension lines.
//
// The Go checksum database's tree head is a checkpoint with origin
// [SumDBOrigin].
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	if len(text) > MaxCheckpointSize {
		return Checkpoint{}, fmt.Errorf("%w: larger than %d bytes", ErrMalformedCheckpoint, MaxCheckpointSize)
	}
	if len(text) == 0 || text[len(text)-1] != '\n' || !validNoteBytes(text) {
		return Checkpoint{}, fmt.Errorf("%w: not newline-terminated UTF-8 text without control characters", ErrMalformedCheckpoint)
	}
	var lines [3][]byte
	rest := text
	for i := range lines {
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			return Checkpoint{}, fmt.Errorf("%w: fewer than three lines", ErrMalformedCheckpoint)
		}
		lines[i], rest = rest[:j], rest[j+1:]
	}
	if len(lines[0]) == 0 {
		return Checkpoint{}, fmt.Errorf("%w: empty origin", ErrMalformedCheckpoint)
	}
	n, ok := parseDecimal(lines[1])
	if !ok {
		return Checkpoint{}, fmt.Errorf("%w: tree size %q is not canonical decimal in [0, 2^63)", ErrMalformedCheckpoint, lines[1])
	}
	hash, ok := parseHash(lines[2])
	if !ok {
		return Checkpoint{}, fmt.Errorf("%w: root hash %q is not canonical base64 of 32 bytes", ErrMalformedCheckpoint, lines[2])
	}
	c := Checkpoint{Origin: string(lines[0]), N: n, Hash: hash}
	if len(rest) > 0 {
		count := bytes.Count(rest, []byte{'\n'})
		if count > MaxExtensions {
			return Checkpoint{}, fmt.Errorf("%w: more than %d extension lines", ErrMalformedCheckpoint, MaxExtensions)
		}
		all := string(rest)
		c.Extensions = make([]string, 0, count)
		for all != "" {
			j := indexByteString(all, '\n')
			if j == 0 {
				return Checkpoint{}, fmt.Errorf("%w: empty extension line", ErrMalformedCheckpoint)
			}
			c.Extensions = append(c.Extensions, all[:j])
			all = all[j+1:]
		}
	}
	return c, nil
}

// parseDecimal parses a canonical decimal int64 >= 0: digits only, no sign,
// no leading zeros (except "0" itself), no overflow.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 || b[0] == '0' && len(b) > 1 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0') // at most 19 digits: cannot overflow uint64
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// parseHash decodes exactly 44 characters of canonical padded base64.
func parseHash(b []byte) (tlog.Hash, bool) {
	var h tlog.Hash
	if len(b) != 44 || b[43] != '=' {
		return h, false
	}
	for _, c := range b[:43] {
		if base64Index(c) < 0 {
			return h, false
		}
	}
	var buf [33]byte
	n, err := base64.StdEncoding.Decode(buf[:], b)
	// 43 characters carry 258 bits: the last one's 2 low bits must be 0.
	if err != nil || n != tlog.HashSize || base64Index(b[42])&3 != 0 {
		return h, false
	}
	copy(h[:], buf[:n])
	return h, true
}

// OpenCheckpoint opens the signed note msg with [Open], parses its text with
// [ParseCheckpoint] and checks that the origin is the expected one. It fails
// with [ErrWrongOrigin] if it is not.
func OpenCheckpoint(msg []byte, origin string, known Verifiers) (Checkpoint, *Note, error) {
	n, err := Open(msg, known)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, nil, err
	}
	if c.Origin != origin {
		return Checkpoint{}, nil, fmt.Errorf("%w: %q, want %q", ErrWrongOrigin, c.Origin, origin)
	}
	return c, n, nil
}

// FormatTree returns the Go checksum database's tree head text for tree:
// "go.sum database tree\n<N>\n<base64 hash>\n". It writes the same bytes as
// golang.org/x/mod/sumdb/tlog.FormatTree (including for a negative N, which
// ParseTree rejects).
func FormatTree(tree tlog.Tree) []byte {
	b := make([]byte, 0, len(SumDBOrigin)+1+20+1+44+1)
	b = append(b, SumDBOrigin...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, tree.N, 10)
	b = append(b, '\n')
	b = base64.StdEncoding.AppendEncode(b, tree.Hash[:])
	return append(b, '\n')
}

// ParseTree parses a Go checksum database tree head text exactly as
// golang.org/x/mod/sumdb/tlog.ParseTree does: the text must start with
// "go.sum database tree\n", hold at least three newlines, be at most
// 1,000,000 bytes, have a canonical decimal size N >= 0 on its second line
// and 32 bytes of standard base64 on its third; anything after the third
// line is ignored. Like x/mod it is lenient about the hash's base64
// (nonzero unused bits); use [ParseCheckpoint] for the strict canonical form.
func ParseTree(text []byte) (tlog.Tree, error) {
	rest, ok := bytes.CutPrefix(text, []byte(SumDBOrigin+"\n"))
	if !ok || len(text) > MaxCheckpointSize {
		return tlog.Tree{}, fmt.Errorf("%w: not a tree head", ErrMalformedCheckpoint)
	}
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		return tlog.Tree{}, fmt.Errorf("%w: fewer than three lines", ErrMalformedCheckpoint)
	}
	nline, rest := rest[:i], rest[i+1:]
	i = bytes.IndexByte(rest, '\n')
	if i < 0 {
		return tlog.Tree{}, fmt.Errorf("%w: fewer than three lines", ErrMalformedCheckpoint)
	}
	hline := rest[:i]
	n, ok := parseDecimal(nline)
	if !ok {
		return tlog.Tree{}, fmt.Errorf("%w: bad tree size", ErrMalformedCheckpoint)
	}
	var arr [48]byte
	buf := arr[:]
	if d := base64.StdEncoding.DecodedLen(len(hline)); d > len(buf) {
		buf = make([]byte, d) // only with '\r's, which x/mod's decoder skips
	}
	var hash tlog.Hash
	m, err := base64.StdEncoding.Decode(buf, hline)
	if err != nil || m != tlog.HashSize {
		return tlog.Tree{}, fmt.Errorf("%w: bad root hash", ErrMalformedCheckpoint)
	}
	copy(hash[:], buf[:m])
	return tlog.Tree{N: n, Hash: hash}, nil
}
