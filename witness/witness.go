// Package witness is a transparency log witness (c2sp.org/tlog-witness): an
// independent cosigner that, for every log it is configured with, keeps the
// latest checkpoint it cosigned and cosigns a new one only if a consistency
// proof shows that the new tree contains it. A log that shows two different
// trees to two parties cannot get both cosigned by one honest witness, so
// clients that require cosignatures from enough witnesses (see Policy)
// never accept a fork that those witnesses did not see.
//
// The witness's state is one key per log in a [storage.Backend]
// (pebblestore for a durable witness): the text of the latest cosigned
// checkpoint. The check of a request's old size against it and the write
// of the new one happen under one lock per log, and the new state is
// committed (synced) before the cosignature is returned, so that two
// concurrent requests from the same old size are never both cosigned and
// a crash never leaves the witness behind what it cosigned.
package witness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/tlog"
)

// Limits of an add-checkpoint request.
const (
	// MaxProofLines is the most consistency proof lines a request may
	// carry (c2sp.org/tlog-witness).
	MaxProofLines = 63
	// MaxRequestBytes bounds a request body: the old size line, 63 proof
	// lines and a checkpoint with room for many signatures.
	MaxRequestBytes = 64 << 10
)

// A Log is one log the witness cosigns: its origin and the keys whose
// signatures on its checkpoints the witness trusts (any one suffices).
type Log struct {
	Origin    string
	Verifiers []note.Verifier
}

// ParseConfig reads the logs of a witness from lines "log <origin>
// <verifier key>" (one line per key; several keys of one origin on
// several lines). The origin is everything between "log" and the key, so
// it may hold spaces. Blank lines and lines starting with # are ignored.
func ParseConfig(r io.Reader) ([]Log, error) {
	var logs []Log
	index := map[string]int{}
	sc := bufio.NewScanner(io.LimitReader(r, 16<<20))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// The origin may hold spaces ("go.sum database tree"): it is
		// everything between "log" and the key, the last field.
		rest, isLog := strings.CutPrefix(line, "log ")
		sp := strings.LastIndexAny(rest, " \t")
		if !isLog || sp < 0 || strings.TrimSpace(rest[:sp]) == "" {
			return nil, fmt.Errorf("witness: config line %d: want \"log <origin> <verifier key>\"", n)
		}
		origin, key := strings.TrimSpace(rest[:sp]), rest[sp+1:]
		v, err := note.NewVerifier(key)
		if err != nil {
			return nil, fmt.Errorf("witness: config line %d: %w", n, err)
		}
		i, ok := index[origin]
		if !ok {
			i = len(logs)
			index[origin] = i
			logs = append(logs, Log{Origin: origin})
		}
		logs[i].Verifiers = append(logs[i].Verifiers, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("witness: config: %w", err)
	}
	return logs, nil
}

// A Server is a witness: it cosigns the checkpoints of its logs. It is an http.Handler of
// POST /add-checkpoint.
type Server struct {
	cosigner *note.Cosigner
	logs     map[string]note.Verifiers
	b        storage.Backend
	logger   *slog.Logger

	mu    sync.Mutex
	locks map[string]*sync.Mutex // one per origin
}

// New returns a witness server that cosigns with cosigner the checkpoints of logs
// and keeps its state in b, which it owns from then on (Close closes it).
// logger receives a line per refused request that carried a valid log
// signature (possible evidence of misbehaviour) and per internal error;
// nil discards them.
func New(cosigner *note.Cosigner, logs []Log, b storage.Backend, logger *slog.Logger) (*Server, error) {
	if cosigner == nil || b == nil {
		return nil, errors.New("witness: cosigner and backend are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Server{cosigner: cosigner, logs: map[string]note.Verifiers{}, b: b, logger: logger, locks: map[string]*sync.Mutex{}}
	for _, l := range logs {
		if l.Origin == "" || len(l.Verifiers) == 0 {
			return nil, fmt.Errorf("witness: log %q needs an origin and at least one key", l.Origin)
		}
		if _, dup := w.logs[l.Origin]; dup {
			return nil, fmt.Errorf("witness: log %q configured twice", l.Origin)
		}
		w.logs[l.Origin] = note.VerifierList(l.Verifiers...)
	}
	return w, nil
}

// Close closes the backend.
func (w *Server) Close() error { return w.b.Close() }

func stateKey(origin string) []byte { return append([]byte("w"), origin...) }

// Latest returns the latest checkpoint text the witness cosigned for
// origin, or nil if none.
func (w *Server) Latest(ctx context.Context, origin string) ([]byte, error) {
	v, err := w.b.Get(ctx, stateKey(origin))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// An Error is a refused add-checkpoint request: the HTTP status the
// protocol gives it, and for a 409 of a size conflict, the witness's size.
type Error struct {
	Status int
	Size   int64 // with 409 from a size conflict, the latest cosigned size; else -1
	Msg    string
}

func (e *Error) Error() string { return "witness: " + e.Msg }

func fail(status int, format string, args ...any) *Error {
	return &Error{Status: status, Size: -1, Msg: fmt.Sprintf(format, args...)}
}

// AddCheckpoint processes the body of an add-checkpoint request and
// returns the witness's cosignature lines, once the new state is durable.
// A refusal is an *Error carrying its HTTP status.
func (w *Server) AddCheckpoint(ctx context.Context, body []byte) ([]byte, error) {
	oldN, proof, signed, err := parseRequest(body)
	if err != nil {
		return nil, err
	}
	origin, _, _ := bytes.Cut(signed, []byte("\n"))
	verifiers, ok := w.logs[string(origin)]
	if !ok {
		return nil, fail(http.StatusNotFound, "unknown log %q", origin)
	}
	c, n, err := note.OpenCheckpoint(signed, string(origin), verifiers)
	switch {
	case errors.Is(err, note.ErrUnverifiedNote), errors.Is(err, note.ErrInvalidSignature):
		return nil, fail(http.StatusForbidden, "no signature of log %q by a trusted key", origin)
	case err != nil:
		return nil, fail(http.StatusBadRequest, "checkpoint: %v", err)
	}
	if oldN > c.N {
		return nil, fail(http.StatusBadRequest, "old size %d is larger than the checkpoint's %d", oldN, c.N)
	}

	lock := w.lock(c.Origin)
	lock.Lock()
	defer lock.Unlock()
	prevText, err := w.Latest(ctx, c.Origin)
	if err != nil {
		w.logger.Error("witness: reading state", "log", c.Origin, "err", err)
		return nil, fail(http.StatusInternalServerError, "reading state")
	}
	var prev note.Checkpoint
	if prevText != nil {
		if prev, err = note.ParseCheckpoint(prevText); err != nil {
			w.logger.Error("witness: stored state", "log", c.Origin, "err", err)
			return nil, fail(http.StatusInternalServerError, "stored state is corrupt")
		}
	}
	if oldN != prev.N {
		return nil, &Error{Status: http.StatusConflict, Size: prev.N, Msg: fmt.Sprintf("old size %d, the witness has %d", oldN, prev.N)}
	}
	switch {
	case oldN == 0:
		if len(proof) != 0 {
			return nil, fail(http.StatusUnprocessableEntity, "a consistency proof from size 0 must be empty")
		}
	case oldN == c.N:
		if len(proof) != 0 {
			return nil, fail(http.StatusUnprocessableEntity, "a consistency proof between equal sizes must be empty")
		}
		if c.Hash != prev.Hash {
			w.logger.Warn("witness: refused a fork: same size, other root", "log", c.Origin, "size", c.N, "checkpoint", string(signed))
			return nil, fail(http.StatusConflict, "the checkpoint of size %d has another root hash than the one cosigned", c.N)
		}
	default:
		if err := tlog.CheckTree(proof, c.N, c.Hash, prev.N, prev.Hash); err != nil {
			w.logger.Warn("witness: refused an inconsistent checkpoint", "log", c.Origin, "old", prev.N, "new", c.N, "err", err, "request", string(body))
			return nil, fail(http.StatusUnprocessableEntity, "consistency proof from %d to %d does not verify", prev.N, c.N)
		}
	}
	text := []byte(n.Text)
	if !bytes.Equal(text, prevText) {
		var batch storage.Batch
		batch.Set(stateKey(c.Origin), text)
		if err := w.b.Commit(ctx, &batch); err != nil {
			w.logger.Error("witness: committing state", "log", c.Origin, "err", err)
			return nil, fail(http.StatusInternalServerError, "committing state")
		}
	}
	cosigned, err := note.Sign(&note.Note{Text: n.Text}, w.cosigner)
	if err != nil {
		w.logger.Error("witness: cosigning", "log", c.Origin, "err", err)
		return nil, fail(http.StatusInternalServerError, "cosigning")
	}
	return cosigned[len(text)+1:], nil
}

func (w *Server) lock(origin string) *sync.Mutex {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.locks[origin]
	if l == nil {
		l = new(sync.Mutex)
		w.locks[origin] = l
	}
	return l
}

// parseRequest splits an add-checkpoint body into the old size, the
// consistency proof and the signed checkpoint.
func parseRequest(body []byte) (int64, tlog.TreeProof, []byte, error) {
	line, rest, ok := bytes.Cut(body, []byte("\n"))
	size, isOld := bytes.CutPrefix(line, []byte("old "))
	if !ok || !isOld {
		return 0, nil, nil, fail(http.StatusBadRequest, "the first line must be \"old <size>\"")
	}
	oldN, err := strconv.ParseInt(string(size), 10, 64)
	if err != nil || oldN < 0 || strconv.FormatInt(oldN, 10) != string(size) {
		return 0, nil, nil, fail(http.StatusBadRequest, "malformed old size %q", size)
	}
	var proof tlog.TreeProof
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if !ok {
			return 0, nil, nil, fail(http.StatusBadRequest, "no empty line before the checkpoint")
		}
		if len(line) == 0 {
			break
		}
		if len(proof) == MaxProofLines {
			return 0, nil, nil, fail(http.StatusBadRequest, "more than %d consistency proof lines", MaxProofLines)
		}
		var h tlog.Hash
		if n, err := base64.StdEncoding.Strict().Decode(h[:], line); err != nil || n != len(h) || base64.StdEncoding.EncodedLen(len(h)) != len(line) {
			return 0, nil, nil, fail(http.StatusBadRequest, "malformed consistency proof line %q", cut(line))
		}
		proof = append(proof, h)
	}
	return oldN, proof, rest, nil
}

func cut(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// ServeHTTP serves POST /add-checkpoint.
func (w *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/add-checkpoint" {
		http.Error(rw, "witness: not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", "POST")
		http.Error(rw, "witness: add-checkpoint takes POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxRequestBytes))
	if err != nil {
		http.Error(rw, fmt.Sprintf("witness: request body over %d bytes or unreadable", MaxRequestBytes), http.StatusRequestEntityTooLarge)
		return
	}
	sigs, err := w.AddCheckpoint(r.Context(), body)
	var e *Error
	switch {
	case errors.As(err, &e) && e.Size >= 0:
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(e.Status)
		fmt.Fprintf(rw, "%d\n", e.Size)
	case errors.As(err, &e):
		http.Error(rw, e.Error(), e.Status)
	case err != nil:
		http.Error(rw, "witness: internal error", http.StatusInternalServerError)
	default:
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write(sigs)
	}
}
