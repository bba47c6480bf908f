package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/tlog"
)

// ProofHeader is the first line of a c2sp.org/tlog-proof bundle.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// Limits of a parsed proof bundle.
const (
	// MaxInclusionLines bounds the inclusion proof of a tree of up to
	// 2^63 records.
	MaxInclusionLines = 63
	// MaxProofBytes bounds a whole bundle.
	MaxProofBytes = 64 << 10
)

// ErrProof reports a malformed or unverifiable proof bundle.
var ErrProof = errors.New("witness: bad tlog-proof")

// A Proof is an offline proof that a record is in a log
// (c2sp.org/tlog-proof): the record's index, its inclusion proof in the
// tree of the checkpoint, and the checkpoint with the cosignatures the
// witnesses gave it. Extra is optional unauthenticated data.
type Proof struct {
	Extra      []byte
	Index      int64
	Inclusion  tlog.RecordProof
	Checkpoint []byte // the signed note
}

// NewProof returns the proof of record index in l's tree of checkpoint,
// a signed checkpoint of l (such as Cosigning.Checkpoint's, which carries
// the witnesses' cosignatures).
func NewProof(ctx context.Context, l *storage.Log, index int64, checkpoint []byte) (*Proof, error) {
	text, _, ok := bytes.Cut(checkpoint, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("%w: checkpoint is not a signed note", ErrProof)
	}
	c, err := note.ParseCheckpoint(append(text, '\n'))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProof, err)
	}
	p, err := l.ProveRecord(ctx, c.N, index)
	if err != nil {
		return nil, err
	}
	return &Proof{Index: index, Inclusion: p, Checkpoint: bytes.Clone(checkpoint)}, nil
}

// Format returns the bundle's text.
func (p *Proof) Format() []byte {
	b := []byte(ProofHeader + "\n")
	if p.Extra != nil {
		b = append(b, "extra "+base64.StdEncoding.EncodeToString(p.Extra)+"\n"...)
	}
	b = strconv.AppendInt(append(b, "index "...), p.Index, 10)
	b = append(b, '\n')
	for _, h := range p.Inclusion {
		b = append(b, base64.StdEncoding.EncodeToString(h[:])+"\n"...)
	}
	return append(append(b, '\n'), p.Checkpoint...)
}

// ParseProof parses a bundle. It checks the format only; Verify checks
// what it proves.
func ParseProof(b []byte) (*Proof, error) {
	if len(b) > MaxProofBytes {
		return nil, fmt.Errorf("%w: over %d bytes", ErrProof, MaxProofBytes)
	}
	next := func() ([]byte, bool) {
		line, rest, ok := bytes.Cut(b, []byte("\n"))
		b = rest
		return line, ok
	}
	if line, ok := next(); !ok || string(line) != ProofHeader {
		return nil, fmt.Errorf("%w: first line is not %q", ErrProof, ProofHeader)
	}
	p := &Proof{}
	line, ok := next()
	if extra, isExtra := bytes.CutPrefix(line, []byte("extra ")); ok && isExtra {
		var err error
		if p.Extra, err = base64.StdEncoding.DecodeString(string(extra)); err != nil {
			return nil, fmt.Errorf("%w: malformed extra line", ErrProof)
		}
		line, ok = next()
	}
	idx, isIndex := bytes.CutPrefix(line, []byte("index "))
	n, err := strconv.ParseInt(string(idx), 10, 64)
	if !ok || !isIndex || err != nil || n < 0 || strconv.FormatInt(n, 10) != string(idx) {
		return nil, fmt.Errorf("%w: want an \"index <n>\" line", ErrProof)
	}
	p.Index = n
	for {
		line, ok = next()
		if !ok {
			return nil, fmt.Errorf("%w: no empty line before the checkpoint", ErrProof)
		}
		if len(line) == 0 {
			break
		}
		if len(p.Inclusion) == MaxInclusionLines {
			return nil, fmt.Errorf("%w: more than %d inclusion proof lines", ErrProof, MaxInclusionLines)
		}
		var h tlog.Hash
		if n, err := base64.StdEncoding.Strict().Decode(h[:], line); err != nil || n != len(h) || len(line) != base64.StdEncoding.EncodedLen(len(h)) {
			return nil, fmt.Errorf("%w: malformed inclusion proof line %q", ErrProof, cut(line))
		}
		p.Inclusion = append(p.Inclusion, h)
	}
	p.Checkpoint = bytes.Clone(b)
	return p, nil
}

// Verify checks, with no network, that record is entry p.Index of the
// log named origin: the checkpoint must be signed by one of logKeys, meet
// policy if it names cosigners, and the inclusion proof must lead from
// the record's leaf hash to its root. It returns the checkpoint.
func (p *Proof) Verify(record []byte, origin string, logKeys note.Verifiers, policy note.CosignaturePolicy) (note.Checkpoint, error) {
	c, _, err := note.OpenCheckpoint(p.Checkpoint, origin, logKeys)
	if err != nil {
		return note.Checkpoint{}, fmt.Errorf("%w: checkpoint: %w", ErrProof, err)
	}
	if len(policy.Cosigners) > 0 {
		if err := policy.Check(p.Checkpoint); err != nil {
			return note.Checkpoint{}, fmt.Errorf("%w: %w", ErrProof, err)
		}
	}
	if p.Index >= c.N {
		return note.Checkpoint{}, fmt.Errorf("%w: index %d is not in the tree of %d records", ErrProof, p.Index, c.N)
	}
	if err := tlog.CheckRecord(p.Inclusion, c.N, c.Hash, p.Index, tlog.RecordHash(record)); err != nil {
		return note.Checkpoint{}, fmt.Errorf("%w: the record is not entry %d of the tree: %w", ErrProof, p.Index, err)
	}
	return c, nil
}
