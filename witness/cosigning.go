package witness

import (
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
	"sync/atomic"
	"time"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/tlog"
)

// A Remote is a witness a log asks for cosignatures: its add-checkpoint
// URL prefix (the submission prefix) and its cosignature verifier.
type Remote struct {
	URL      string
	Verifier note.Verifier
}

// Cosigning gets a storage.Log's checkpoints cosigned by witnesses. Each
// round (Update, or Run's) sends the log's latest checkpoint to every
// witness with a consistency proof from the size that witness last
// cosigned (starting from 0, and correcting it from a 409's size), and
// keeps the cosignatures it gets back.
//
// Cosigned checkpoints follow publication; they do not gate it: appends
// are acknowledged and published as storage promises, whatever the
// witnesses do, and a witness that is down or slow delays only the
// cosignatures. Checkpoint returns the latest checkpoint with the
// cosignatures gathered for it so far; a client that requires k of n
// witnesses (note.CosignaturePolicy) waits for the round to finish.
type Cosigning struct {
	log     *storage.Log
	remotes []Remote
	k       int
	client  *http.Client
	logger  *slog.Logger

	mu    sync.Mutex // serializes rounds; guards sizes
	sizes []int64    // per remote: the size it last cosigned, as far as known

	latest atomic.Pointer[cosigned]
}

type cosigned struct {
	tree   tlog.Tree
	signed []byte // the log's note with the witnesses' lines appended
	count  int    // witnesses whose cosignature it holds
}

// NewCosigning returns a Cosigning of l by remotes, aiming at k of them
// (the log's policy, 0 meaning all: a round in which fewer cosigned is an
// error; one in which k did but others failed is logged), with client for
// the requests (nil: a client with a 10 s timeout) and logger for failures
// (nil: discarded).
func NewCosigning(l *storage.Log, remotes []Remote, k int, client *http.Client, logger *slog.Logger) *Cosigning {
	if k <= 0 || k > len(remotes) {
		k = len(remotes)
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Cosigning{log: l, remotes: remotes, k: k, client: client, logger: logger, sizes: make([]int64, len(remotes))}
}

// Checkpoint returns the log's latest published checkpoint, with the
// cosignatures gathered for it so far appended, and how many witnesses
// cosigned it.
func (c *Cosigning) Checkpoint() (signed []byte, tree tlog.Tree, cosigners int) {
	signed, tree = c.log.Checkpoint()
	if cs := c.latest.Load(); cs != nil && cs.tree == tree {
		return cs.signed, tree, cs.count
	}
	return signed, tree, 0
}

// Run calls Update every interval until ctx ends.
func (c *Cosigning) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := c.Update(ctx); err != nil && ctx.Err() == nil {
			c.logger.Warn("witness: cosigning round", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Update asks every witness, concurrently, to cosign the log's latest
// checkpoint (unless it is already cosigned by all). It returns the
// witnesses' errors joined if fewer than k cosigned; failures of the
// others are logged.
func (c *Cosigning) Update(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	signed, tree := c.log.Checkpoint()
	prev := c.latest.Load()
	if prev != nil && prev.tree == tree && prev.count == len(c.remotes) {
		return nil
	}
	sigs := make([][]byte, len(c.remotes))
	errs := make([]error, len(c.remotes))
	var wg sync.WaitGroup
	for i, r := range c.remotes {
		wg.Go(func() {
			sigs[i], errs[i] = c.cosign(ctx, i, r, signed, tree)
		})
	}
	wg.Wait()
	out := bytes.Clone(signed)
	count := 0
	for i, s := range sigs {
		if s != nil {
			out = append(out, s...)
			count++
		} else if prev != nil && prev.tree == tree {
			// Keep a cosignature gathered for this tree in an earlier round.
			if line := lineOf(prev.signed, c.remotes[i].Verifier); line != nil {
				out = append(out, line...)
				count++
			}
		}
	}
	c.latest.Store(&cosigned{tree: tree, signed: out, count: count})
	err := errors.Join(errs...)
	if count < c.k {
		return fmt.Errorf("witness: tree %d cosigned by %d of the %d required: %w", tree.N, count, c.k, err)
	}
	if err != nil {
		c.logger.Warn("witness: cosigning", "tree", tree.N, "cosigners", count, "err", err)
	}
	return nil
}

// lineOf returns the signature line of v in the signed note, or nil.
func lineOf(signed []byte, v note.Verifier) []byte {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil || len(n.Sigs) == 0 {
		return nil
	}
	return fmt.Appendf(nil, "— %s %s\n", n.Sigs[0].Name, n.Sigs[0].Base64)
}

// cosign gets r's cosignature line on signed, retrying once from the size
// a 409 reports.
func (c *Cosigning) cosign(ctx context.Context, i int, r Remote, signed []byte, tree tlog.Tree) ([]byte, error) {
	for try := 0; ; try++ {
		old := c.sizes[i]
		if old > tree.N {
			return nil, fmt.Errorf("witness %s has cosigned size %d, beyond the log's %d", r.Verifier.Name(), old, tree.N)
		}
		var proof tlog.TreeProof
		if old > 0 && old < tree.N {
			var err error
			if proof, err = c.log.ProveTree(ctx, tree.N, old); err != nil {
				return nil, err
			}
		}
		body := fmt.Appendf(nil, "old %d\n", old)
		for _, h := range proof {
			body = append(body, base64.StdEncoding.EncodeToString(h[:])+"\n"...)
		}
		body = append(append(body, '\n'), signed...)
		line, size, err := c.post(ctx, r, body, signed)
		if size >= 0 && try == 0 {
			c.sizes[i] = size // a 409: try again from the witness's size
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("witness %s: %w", r.Verifier.Name(), err)
		}
		c.sizes[i] = tree.N
		return line, nil
	}
}

// post sends one add-checkpoint request and returns the witness's verified
// cosignature line, or the size of a 409 (else -1).
func (c *Cosigning) post(ctx context.Context, r Remote, body, signed []byte) (line []byte, size int64, err error) {
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(r.URL, "/")+"/add-checkpoint", bytes.NewReader(body))
	if err != nil {
		return nil, -1, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, -1, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, -1, err
	}
	if resp.StatusCode == http.StatusConflict && resp.Header.Get("Content-Type") == "text/x.tlog.size" {
		n, err := strconv.ParseInt(strings.TrimSuffix(string(data), "\n"), 10, 64)
		if err != nil || n < 0 {
			return nil, -1, fmt.Errorf("malformed size in a 409: %q", cut(data))
		}
		return nil, n, fmt.Errorf("409: the witness has size %d", n)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, -1, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(cut(data)))
	}
	// Keep the witness's own valid line only.
	line = lineOf(append(bytes.Clone(signed), data...), r.Verifier)
	if line == nil {
		return nil, -1, errors.New("the answer holds no valid cosignature by the witness's key")
	}
	return line, -1, nil
}

// ServedLog returns l, a checksum database's log served by sumdbserver,
// with its Checkpoint replaced by c's: the same latest checkpoint with the
// witnesses' cosignatures gathered for it appended, which /latest,
// /checkpoint and every lookup then serve. c must cosign the storage.Log
// that l reads.
func ServedLog(l sumdbserver.Log, c *Cosigning) sumdbserver.Log { return servedLog{l, c} }

type servedLog struct {
	sumdbserver.Log
	c *Cosigning
}

func (s servedLog) Checkpoint(ctx context.Context) ([]byte, tlog.Tree, error) {
	signed, tree, _ := s.c.Checkpoint()
	return signed, tree, nil
}
