package sumdbclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/internal/modcheck"
	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

// Errors. Every error the package returns wraps one of these or comes
// from a package below (tile, note, context), so errors.Is works.
var (
	// ErrNotFound reports a path the source does not have (HTTP 404 or
	// 410, or a missing file): for a lookup, an unknown module version.
	ErrNotFound = errors.New("sumdbclient: not found")
	// ErrTooLarge reports a response longer than the configured bound.
	ErrTooLarge = errors.New("sumdbclient: response too large")
	// ErrBadResponse reports a response that is malformed or does not
	// authenticate (bad signature, bad record, tile not matching the
	// signed tree, ...), without being proof of misbehaviour.
	ErrBadResponse = errors.New("sumdbclient: bad response")
	// ErrWrongRecord reports an authenticated record that does not
	// answer the lookup: it names another module or version, or has no
	// line for the version asked for. No lines are returned.
	ErrWrongRecord = errors.New("sumdbclient: record does not match lookup")
	// ErrSecurity is wrapped by every *SecurityError.
	ErrSecurity = errors.New("sumdbclient: SECURITY ERROR")
)

// MaxTreeSize is the largest tree size accepted (that of tlog).
const MaxTreeSize = 1 << 62

// DefaultMaxBodySize bounds /latest and /lookup responses when
// Options.MaxBodySize is zero. A real lookup response is under 1 KiB.
const DefaultMaxBodySize = 256 << 10

// Options configures a [Client]. Source and VerifierKey are required;
// the zero value of every other field is a documented default.
type Options struct {
	// Source serves the database (see [NewSource]).
	Source Source
	// VerifierKey is the database's note verifier key, for example
	// "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8".
	VerifierKey string
	// StateDir, if set, is where the client keeps its latest signed tree
	// head (file "latest") across runs. The file is replaced atomically.
	// Empty means the timeline lives in memory only.
	StateDir string
	// Timeout bounds each request to the source. Zero means 30 s.
	Timeout time.Duration
	// MaxBodySize bounds /latest and /lookup responses. Zero means
	// DefaultMaxBodySize. Tiles are bounded by their exact size.
	MaxBodySize int64
	// MaxTiles bounds the verified tile cache (see tile.VerifierOptions).
	MaxTiles int
	// Witnesses, if it names cosigners, is the witness policy every tree
	// head from the source must meet (k of n valid cosignatures, see
	// package witness); a tree head that does not is refused with an error
	// naming the missing cosigners.
	Witnesses note.CosignaturePolicy
	// Origin is the first line of the database's tree heads. Empty means
	// note.SumDBOrigin.
	Origin string
	// C2SP reads the log through the c2sp.org/tlog-tiles paths
	// (/checkpoint, /tile/L/N) instead of the sumdb ones (/latest,
	// /tile/8/L/N), for any log of that layout (lookups stay sumdb's).
	C2SP bool
}

// A TreeHead is a signed tree head: the tree and the signed note
// that carried it.
type TreeHead struct {
	Tree tlog.Tree
	Note []byte
}

// A Client looks up go.sum lines in a checksum database and verifies
// everything it is told. It is safe for concurrent use.
type Client struct {
	src       Source
	verifiers note.Verifiers
	policy    note.CosignaturePolicy
	name      string
	stateDir  string
	timeout   time.Duration
	maxBody   int64
	tiles     *tile.Verifier
	origin    string
	c2sp      bool

	mu       sync.Mutex
	latest   TreeHead
	timeline map[tlog.Tree][]byte // every tree head met

	persistMu sync.Mutex
	persisted int64 // tree size of the state file
}

// New returns a client. If opts.StateDir holds a tree head from an
// earlier run, it is verified and becomes the start of the timeline; a
// state file that does not verify is an error (the client fails closed).
func New(opts Options) (*Client, error) {
	if opts.Source == nil {
		return nil, errors.New("sumdbclient: no source")
	}
	v, err := note.NewVerifier(opts.VerifierKey)
	if err != nil {
		return nil, fmt.Errorf("sumdbclient: verifier key: %w", err)
	}
	c := &Client{
		src:       opts.Source,
		verifiers: note.VerifierList(v),
		policy:    opts.Witnesses,
		name:      v.Name(),
		stateDir:  opts.StateDir,
		timeout:   opts.Timeout,
		maxBody:   opts.MaxBodySize,
		timeline:  make(map[tlog.Tree][]byte),
		origin:    opts.Origin,
		c2sp:      opts.C2SP,
	}
	if c.origin == "" {
		c.origin = note.SumDBOrigin
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodySize
	}
	c.tiles, err = tile.NewVerifier(&tileSource{c: c}, tile.VerifierOptions{MaxTiles: opts.MaxTiles})
	if err != nil {
		return nil, err
	}
	if c.stateDir != "" {
		msg, err := os.ReadFile(filepath.Join(c.stateDir, "latest"))
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("sumdbclient: reading state: %w", err)
		default:
			tree, err := c.openTree(msg)
			if err != nil {
				return nil, fmt.Errorf("sumdbclient: state file %s: %w", filepath.Join(c.stateDir, "latest"), err)
			}
			c.latest = TreeHead{tree, msg}
			c.timeline[tree] = msg
			c.persisted = tree.N
		}
	}
	return c, nil
}

// Name returns the database name (the verifier key's name).
func (c *Client) Name() string { return c.name }

// Tiles returns the client's verified tile reader.
func (c *Client) Tiles() *tile.Verifier { return c.tiles }

// Latest returns the newest tree head of the client's timeline.
func (c *Client) Latest() TreeHead {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest
}

// Timeline returns the tree heads the client has met and verified (the
// latest 1024), by increasing size. All of them are consistent with Latest.
func (c *Client) Timeline() []TreeHead {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]TreeHead, 0, len(c.timeline))
	for t, msg := range c.timeline {
		out = append(out, TreeHead{t, msg})
	}
	slices.SortFunc(out, func(a, b TreeHead) int {
		if a.Tree.N != b.Tree.N {
			if a.Tree.N < b.Tree.N {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.Tree.Hash[:], b.Tree.Hash[:])
	})
	return out
}

func (c *Client) read(ctx context.Context, path string, max int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.src.Read(ctx, path, max)
}

// openTree verifies a signed tree head and returns its tree.
func (c *Client) openTree(msg []byte) (tlog.Tree, error) {
	cp, _, err := note.OpenCheckpoint(msg, c.origin, c.verifiers)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("%w: tree head: %w", ErrBadResponse, err)
	}
	if cp.N < 0 || cp.N > MaxTreeSize {
		return tlog.Tree{}, fmt.Errorf("%w: tree size %d out of range", ErrBadResponse, cp.N)
	}
	return cp.Tree(), nil
}

// FetchLatest reads the server's /latest tree head, verifies it and
// merges it into the timeline.
func (c *Client) FetchLatest(ctx context.Context) (TreeHead, error) {
	path := "/latest"
	if c.c2sp {
		path = "/checkpoint"
	}
	msg, err := c.read(ctx, path, c.maxBody)
	if err != nil {
		return TreeHead{}, err
	}
	return c.Merge(ctx, msg)
}

// Merge verifies the signed tree head msg and merges it into the
// timeline: it must be consistent with the latest tree head (proved
// through authenticated tiles); if it is newer, it becomes the latest and
// is persisted. An inconsistency is returned as a *SecurityError.
func (c *Client) Merge(ctx context.Context, msg []byte) (TreeHead, error) {
	tree, err := c.openTree(msg)
	if err == nil && len(c.policy.Cosigners) > 0 {
		if perr := c.policy.Check(msg); perr != nil {
			err = fmt.Errorf("%w: tree head of size %d: %w", ErrBadResponse, tree.N, perr)
		}
	}
	if err != nil {
		return TreeHead{}, err
	}
	head := TreeHead{tree, msg}
	c.mu.Lock()
	latest := c.latest
	c.mu.Unlock()
	for {
		if tree.N <= latest.Tree.N {
			if err := c.checkTrees(ctx, head, latest); err != nil {
				return TreeHead{}, err
			}
			c.remember(head)
			// Retry a save that failed earlier (a no-op otherwise).
			if err := c.persist(latest); err != nil {
				return TreeHead{}, err
			}
			return head, nil
		}
		if err := c.checkTrees(ctx, latest, head); err != nil {
			return TreeHead{}, err
		}
		c.mu.Lock()
		if c.latest.Tree == latest.Tree {
			c.latest = head
			c.rememberLocked(head)
			c.mu.Unlock()
			if err := c.persist(head); err != nil {
				return TreeHead{}, err
			}
			return head, nil
		}
		latest = c.latest // someone else moved on: check against that
		c.mu.Unlock()
	}
}

// maxTimeline bounds the tree heads kept for Timeline. Consistency is
// transitive, so only the latest matters for checking; the others are
// kept for audits and reports. The oldest are forgotten first.
const maxTimeline = 1024

func (c *Client) remember(h TreeHead) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rememberLocked(h)
}

func (c *Client) rememberLocked(h TreeHead) {
	if _, ok := c.timeline[h.Tree]; ok {
		return
	}
	c.timeline[h.Tree] = h.Note
	if len(c.timeline) > maxTimeline {
		var oldest tlog.Tree
		first := true
		for t := range c.timeline {
			if t != c.latest.Tree && (first || t.N < oldest.N) {
				oldest, first = t, false
			}
		}
		delete(c.timeline, oldest)
	}
}

// checkTrees checks that older is a prefix of newer.
func (c *Client) checkTrees(ctx context.Context, older, newer TreeHead) error {
	if older.Tree.N == 0 {
		var empty tlog.Tree
		empty.Hash, _ = tlog.TreeHash(0, nil)
		if older.Tree.Hash != empty.Hash && older.Note != nil {
			return &SecurityError{Older: older, Newer: newer, HashInNewer: empty.Hash}
		}
		return nil
	}
	if older.Tree.N == newer.Tree.N {
		if older.Tree.Hash == newer.Tree.Hash {
			return nil
		}
		return &SecurityError{Older: older, Newer: newer, HashInNewer: newer.Tree.Hash}
	}
	r := c.tiles.HashReader(ctx, newer.Tree)
	p, err := tlog.ProveTree(newer.Tree.N, older.Tree.N, r)
	if err != nil {
		return fmt.Errorf("%w: proving tree %d in tree %d: %w", ErrBadResponse, older.Tree.N, newer.Tree.N, err)
	}
	if tlog.CheckTree(p, newer.Tree.N, newer.Tree.Hash, older.Tree.N, older.Tree.Hash) == nil {
		return nil
	}
	// Misbehaviour: newer's authenticated tiles give another hash for
	// the first older.N records. Keep the proof of that.
	h, err := tlog.TreeHash(older.Tree.N, r)
	if err != nil {
		return fmt.Errorf("%w: hashing tree %d in tree %d: %w", ErrBadResponse, older.Tree.N, newer.Tree.N, err)
	}
	if err := tlog.CheckTree(p, newer.Tree.N, newer.Tree.Hash, older.Tree.N, h); err != nil {
		return fmt.Errorf("sumdbclient: internal error: authenticated tiles gave an inconsistent proof: %w", err)
	}
	return &SecurityError{Older: older, Newer: newer, HashInNewer: h, Proof: p}
}

// CheckConsistent checks again that head is consistent with the latest
// tree head, proving it through authenticated tiles.
func (c *Client) CheckConsistent(ctx context.Context, head TreeHead) error {
	latest := c.Latest()
	if head.Tree.N > latest.Tree.N {
		return c.checkTrees(ctx, latest, head)
	}
	return c.checkTrees(ctx, head, latest)
}

// persist writes head to the state file if it is newer than what is
// there: temp file, fsync, rename, fsync of the directory, so a crash
// leaves the old or the new tree head, never a partial file.
func (c *Client) persist(head TreeHead) error {
	if c.stateDir == "" {
		return nil
	}
	c.persistMu.Lock()
	defer c.persistMu.Unlock()
	if head.Tree.N <= c.persisted {
		return nil
	}
	if err := writeFileAtomic(filepath.Join(c.stateDir, "latest"), head.Note); err != nil {
		return fmt.Errorf("sumdbclient: saving state: %w", err)
	}
	c.persisted = head.Tree.N
	return nil
}

func writeFileAtomic(name string, data []byte) (err error) {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".latest-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Lookup returns the go.sum lines for module at version, taken only from
// the authenticated record that the database holds for module@version.
// version may end in "/go.mod" to ask for the go.mod line only;
// otherwise both the module's line and its go.mod line are returned (the
// module's line must be present).
//
// Lookup verifies the signed tree head of the response, merges it into
// the timeline (a *SecurityError if it is inconsistent), and checks the
// record's inclusion in the latest tree through authenticated tiles.
// Every line of the record must name module@version; on any error no
// lines are returned.
func (c *Client) Lookup(ctx context.Context, mod, version string) ([]string, error) {
	lines, err := c.lookup(ctx, mod, version)
	if err != nil {
		return nil, &LookupError{Module: mod, Version: version, Err: err}
	}
	return lines, nil
}

func (c *Client) lookup(ctx context.Context, mod, version string) ([]string, error) {
	base, goMod := strings.CutSuffix(version, "/go.mod")
	// Only what a checksum database can hold is asked for: the go
	// command's canonical versions, "+incompatible" included.
	if err := modcheck.Check(mod, base); err != nil {
		return nil, fmt.Errorf("sumdbclient: %w", err)
	}
	epath, err := module.EscapePath(mod)
	if err != nil {
		return nil, fmt.Errorf("sumdbclient: %w", err)
	}
	evers, err := module.EscapeVersion(base)
	if err != nil {
		return nil, fmt.Errorf("sumdbclient: %w", err)
	}
	data, err := c.read(ctx, "/lookup/"+epath+"@"+evers, c.maxBody)
	if err != nil {
		return nil, err
	}
	id, text, treeMsg, err := note.ParseRecord(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	if _, err := c.Merge(ctx, treeMsg); err != nil {
		return nil, err
	}
	if err := c.checkRecord(ctx, id, text); err != nil {
		return nil, err
	}
	return recordLines(text, mod, base, goMod)
}

// checkRecord proves that the latest tree contains text as record id.
func (c *Client) checkRecord(ctx context.Context, id int64, text []byte) error {
	latest := c.Latest().Tree
	if id >= latest.N {
		return fmt.Errorf("%w: record %d is not in tree of size %d", ErrBadResponse, id, latest.N)
	}
	p, err := c.tiles.ProveRecord(ctx, latest, id)
	if err != nil {
		return fmt.Errorf("%w: proving record %d: %w", ErrBadResponse, id, err)
	}
	if err := tlog.CheckRecord(p, latest.N, latest.Hash, id, tlog.RecordHash(text)); err != nil {
		return fmt.Errorf("%w: record %d is not the one in tree %d: %w", ErrBadResponse, id, latest.N, err)
	}
	return nil
}

// recordLines checks that every line of an authenticated record is a
// go.sum line for mod@version and returns the ones asked for.
func recordLines(text []byte, mod, version string, goMod bool) ([]string, error) {
	if len(text) == 0 || text[len(text)-1] != '\n' {
		return nil, fmt.Errorf("%w: record text does not end in a newline", ErrWrongRecord)
	}
	var lines []string
	seen := map[string]bool{}
	for line := range strings.Lines(string(text)) {
		line = strings.TrimSuffix(line, "\n")
		f := strings.Split(line, " ")
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: line %q is not a go.sum line", ErrWrongRecord, line)
		}
		if f[0] != mod {
			return nil, fmt.Errorf("%w: line %q is for another module", ErrWrongRecord, line)
		}
		if f[1] != version && f[1] != version+"/go.mod" {
			return nil, fmt.Errorf("%w: line %q is for another version", ErrWrongRecord, line)
		}
		if !validHash(f[2]) {
			return nil, fmt.Errorf("%w: line %q has a malformed hash", ErrWrongRecord, line)
		}
		if seen[f[1]] {
			return nil, fmt.Errorf("%w: two lines for %s %s", ErrWrongRecord, mod, f[1])
		}
		seen[f[1]] = true
		if goMod == strings.HasSuffix(f[1], "/go.mod") || !goMod {
			lines = append(lines, line)
		}
	}
	want := version
	if goMod {
		want += "/go.mod"
	}
	if !seen[want] {
		return nil, fmt.Errorf("%w: no line for %s %s", ErrWrongRecord, mod, want)
	}
	return lines, nil
}

// validHash reports whether s looks like a go.sum hash: "h<digits>:"
// followed by the standard base64 of a non-empty value.
func validHash(s string) bool {
	alg, b64, ok := strings.Cut(s, ":")
	if !ok || len(alg) < 2 || alg[0] != 'h' || len(b64) == 0 || len(b64) > 1024 {
		return false
	}
	for _, ch := range alg[1:] {
		if ch < '0' || ch > '9' {
			return false
		}
	}
	b, err := base64.StdEncoding.Strict().DecodeString(b64)
	return err == nil && len(b) > 0
}

// tileSource reads tiles of the sumdb layout from the client's source.
type tileSource struct{ c *Client }

func (s *tileSource) Height() int { return tile.Height }

// ReadTiles implements tile.TileReader. A partial tile the source does
// not have is read from the full tile it is a prefix of, as the go
// command does.
func (s *tileSource) ReadTiles(ctx context.Context, tiles []tile.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	errs := make([]error, len(tiles))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, t := range tiles {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = s.readTile(ctx, t)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *tileSource) readTile(ctx context.Context, t tile.Tile) ([]byte, error) {
	size := int64(t.W * tlog.HashSize)
	data, err := s.c.read(ctx, "/"+s.path(t), size)
	full := t
	full.W = 1 << uint(t.H)
	if errors.Is(err, ErrNotFound) && t != full {
		data, err = s.c.read(ctx, "/"+s.path(full), int64(full.W*tlog.HashSize))
		if err == nil && len(data) == full.W*tlog.HashSize {
			data = data[:size]
		}
	}
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != size {
		return nil, fmt.Errorf("%w: %s has %d bytes, want %d", tile.ErrMalformedData, t.Path(), len(data), size)
	}
	return data, nil
}

func (s *tileSource) SaveTiles([]tile.Tile, [][]byte) {}

func (s *tileSource) path(t tile.Tile) string {
	if s.c.c2sp {
		return t.C2SPPath()
	}
	return t.Path()
}
