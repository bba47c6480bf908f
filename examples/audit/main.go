// Command audit checks a Go checksum database, or a copy of one, against
// its verifier key.
//
//	go run ./examples/audit -log <URL or dir> -vkey <verifier key> [module@version ...]
//
// It verifies the signed tree head at /latest, then each named lookup (or,
// when -log is a directory and no module is named, every cached lookup in
// it, and every cached tile), and finally that every tree head it met is
// consistent with the latest one. It prints one line per lookup, a line
// per problem found in the tiles or the timeline, and a summary line. The
// exit status is 0 only if everything verified, 1 if anything did not,
// and 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/ops"
	"github.com/tlogkit/tlogkit/sumdbclient"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
	"github.com/tlogkit/tlogkit/witness"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is the program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("audit", flag.ContinueOnError)
	fl.SetOutput(stderr)
	logLoc := fl.String("log", "", "database URL (https://...) or directory in its URL layout")
	vkey := fl.String("vkey", "", "the database's verifier key")
	timeout := fl.Duration("timeout", 30*time.Second, "timeout of each request")
	var witnesses []note.Verifier
	fl.Func("witness", "a witness's cosignature verifier `key` (repeat for each); every tree head must carry -witness-quorum of their cosignatures", func(s string) error {
		v, err := note.NewCosignatureVerifier(s)
		if err != nil {
			return err
		}
		witnesses = append(witnesses, v)
		return nil
	})
	quorum := fl.Int("witness-quorum", 0, "how many of the -witness keys must have cosigned each tree head (default: all)")
	proofFile := fl.String("proof", "", "verify the c2sp.org/tlog-proof bundle in `file` offline (with -record, -vkey, -origin and the -witness policy) instead of a database")
	recordFile := fl.String("record", "", "with -proof: the `file` holding the record the proof is for")
	origin := fl.String("origin", note.SumDBOrigin, "with -proof: the log's origin line")
	fl.Usage = func() {
		fmt.Fprintf(stderr, `usage: audit -log <URL or dir> -vkey <verifier key> [module@version ...]

Verifies a Go checksum database, or a directory in its URL layout (such as
the go command's cache, $GOMODCACHE/cache/download/sumdb/<name>), against
its verifier key: the signed tree head, each module@version lookup named,
and that every tree head met is consistent with the latest.

With a URL (https://...), name the module versions to look up: a server
cannot be listed. With a directory and no module named, every cached
lookup and every cached tile in it is checked.

Exit status: 0 if everything verified, 1 if anything did not, 2 for a
usage error.

Flags:
`)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *proofFile == "" && *logLoc == "" || *vkey == "" {
		fl.Usage()
		return 2
	}
	policy := note.CosignaturePolicy{Cosigners: witnesses, K: *quorum}
	if policy.K == 0 {
		policy.K = len(witnesses)
	}
	if *quorum != 0 && (*quorum < 1 || *quorum > len(witnesses)) {
		fmt.Fprintf(stderr, "audit: -witness-quorum %d: want 1 to the number of -witness keys (%d)\n", *quorum, len(witnesses))
		return 2
	}
	if *proofFile != "" {
		return verifyProof(*proofFile, *recordFile, *origin, *vkey, policy, stdout, stderr)
	}
	src, err := sumdbclient.NewSource(*logLoc)
	if err != nil {
		fmt.Fprintf(stderr, "audit: %v\n", err)
		return 2
	}
	c, err := sumdbclient.New(sumdbclient.Options{Source: src, VerifierKey: *vkey, Timeout: *timeout, Witnesses: policy})
	if err != nil {
		fmt.Fprintf(stderr, "audit: %v\n", err)
		return 2
	}
	_, isDir := src.(*sumdbclient.DirSource)
	if fl.NArg() == 0 && !isDir {
		fmt.Fprintf(stderr, "audit: -log %s is a server: name the module@version lookups to check (only a directory can be audited whole)\n", *logLoc)
		return 2
	}

	a := &auditor{c: c, out: stdout}
	if head, err := c.FetchLatest(ctx); err != nil {
		if isDir && errors.Is(err, sumdbclient.ErrNotFound) {
			// The go command keeps its latest tree head elsewhere
			// (GOPATH/pkg/sumdb); the lookups carry tree heads too.
			fmt.Fprintf(stdout, "note  latest: none in the directory; using the tree heads of the lookups\n")
		} else {
			a.fail("latest: %v", err)
		}
	} else if th, err := tlog.TreeHash(head.Tree.N, c.Tiles().HashReader(ctx, head.Tree)); err != nil || th != head.Tree.Hash {
		// The tiles of the signed tree must hash to its root.
		a.fail("latest: tree %d: tiles: %v", head.Tree.N, err)
	} else {
		fmt.Fprintf(stdout, "ok    latest: tree %d %v\n", head.Tree.N, head.Tree.Hash)
	}

	targets := fl.Args()
	auditTiles := false
	if len(targets) == 0 {
		targets, err = cachedLookups(*logLoc)
		if err != nil {
			a.fail("listing lookups: %v", err)
		}
		auditTiles = true
	}
	// On a terminal, show progress (lookups and tiles checked, ETA).
	stopProgress := func() {}
	if ops.IsTerminal(stderr) {
		total := int64(len(targets))
		if auditTiles {
			total += countFiles(filepath.Join(*logLoc, "tile"))
		}
		stopProgress = ops.StartProgress(ctx, ops.ProgressOptions{Name: "audit", Total: total, Unit: "lookups and tiles", Out: stderr},
			func() int64 { return a.checked.Load() })
	}
	for _, mv := range targets {
		a.lookup(ctx, mv)
		a.checked.Add(1)
	}
	if auditTiles {
		a.tiles(ctx, *logLoc)
	}
	stopProgress()
	a.timeline(ctx)

	latest := c.Latest().Tree
	status := "OK"
	if a.failed > 0 {
		status = "FAILED"
	}
	fmt.Fprintf(stdout, "%s: %d/%d lookups verified, %d/%d tiles verified, %d/%d tree heads consistent, latest tree %d; %d problems\n",
		status, a.lookupsOK, len(targets), a.tilesOK, a.tilesSeen, a.headsOK, a.headsSeen, latest.N, a.failed)
	if a.failed > 0 {
		return 1
	}
	return 0
}

type auditor struct {
	c                  *sumdbclient.Client
	out                io.Writer
	failed             int
	lookupsOK          int
	tilesOK, tilesSeen int
	headsOK, headsSeen int
	checked            atomic.Int64 // lookups and tiles checked, for the progress report
}

// countFiles returns the number of files below dir (0 if there is none).
func countFiles(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func (a *auditor) fail(format string, args ...any) {
	a.failed++
	msg := fmt.Sprintf(format, args...)
	// Keep one line per finding; multi-line errors (a SECURITY ERROR
	// report) are indented below it.
	msg = strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", "\n\t")
	fmt.Fprintf(a.out, "FAIL  %s\n", msg)
}

func (a *auditor) lookup(ctx context.Context, mv string) {
	mod, ver, ok := strings.Cut(mv, "@")
	if !ok || mod == "" || ver == "" {
		a.fail("%s: not module@version", mv)
		return
	}
	lines, err := a.c.Lookup(ctx, mod, ver)
	if err != nil {
		var le *sumdbclient.LookupError
		if errors.As(err, &le) {
			err = le.Err
		}
		a.fail("%s: %v", mv, err)
		return
	}
	a.lookupsOK++
	hashes := make([]string, len(lines))
	for i, l := range lines {
		hashes[i] = l[strings.LastIndexByte(l, ' ')+1:]
	}
	fmt.Fprintf(a.out, "ok    %s %s\n", mv, strings.Join(hashes, " "))
}

// cachedLookups lists module@version for every file under dir/lookup.
func cachedLookups(dir string) ([]string, error) {
	root := filepath.Join(dir, "lookup")
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == root {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		ep, ev, ok := strings.Cut(filepath.ToSlash(rel), "@")
		mod, err1 := module.UnescapePath(ep)
		ver, err2 := module.UnescapeVersion(ev)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("lookup/%s is not an escaped module@version", filepath.ToSlash(rel))
		}
		out = append(out, mod+"@"+ver)
		return nil
	})
	slices.Sort(out)
	return out, err
}

// tiles checks every cached tile in dir against the authenticated hashes
// of some tree head met (they are all consistent with each other): a
// cached tile must equal what the signed trees say it is.
func (a *auditor) tiles(ctx context.Context, dir string) {
	root := filepath.Join(dir, "tile")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == root {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		a.tilesSeen++
		defer a.checked.Add(1)
		if err := a.tile(ctx, path, filepath.ToSlash(rel)); err != nil {
			a.fail("%s: %v", filepath.ToSlash(rel), err)
			return nil
		}
		a.tilesOK++
		return nil
	})
	if err != nil {
		a.fail("listing tiles: %v", err)
	}
}

func (a *auditor) tile(ctx context.Context, path, rel string) error {
	t, err := tile.ParseTilePath(rel)
	if err != nil {
		return err
	}
	if t.H != tile.Height {
		return fmt.Errorf("tile height %d, want %d", t.H, tile.Height)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// The hashes the tile must hold, at level 0 for a data tile.
	var want []tlog.Hash
	level := t.L * t.H
	if t.L < 0 {
		level = 0
		records, err := tile.ParseDataTile(data, t.W)
		if err != nil {
			return err
		}
		for _, r := range records {
			want = append(want, tlog.RecordHash(r))
		}
	} else {
		if len(data) != t.W*tlog.HashSize {
			return fmt.Errorf("%d bytes, want %d", len(data), t.W*tlog.HashSize)
		}
		for i := 0; i < t.W; i++ {
			want = append(want, tlog.Hash(data[i*tlog.HashSize:]))
		}
	}
	idx := make([]int64, t.W)
	for i := range idx {
		idx[i] = tlog.StoredHashIndex(level, t.N<<uint(t.H)+int64(i))
	}
	end := (t.N<<uint(t.H) + int64(t.W)) << uint(level) // records covered
	var errs []error
	heads := a.c.Timeline()
	for i := len(heads) - 1; i >= 0; i-- { // newest first
		tree := heads[i].Tree
		if end > tree.N {
			continue
		}
		got, err := a.c.Tiles().ReadHashes(ctx, tree, idx)
		if err != nil {
			errs = append(errs, fmt.Errorf("tree %d: %w", tree.N, err))
			continue
		}
		for j := range got {
			if got[j] != want[j] {
				return fmt.Errorf("hash %d differs from the one signed tree %d authenticates", j, tree.N)
			}
		}
		return nil
	}
	if len(errs) == 0 {
		return fmt.Errorf("not covered by any signed tree head met")
	}
	return errors.Join(errs...)
}

// timeline checks every tree head met against the latest.
func (a *auditor) timeline(ctx context.Context) {
	for _, h := range a.c.Timeline() {
		a.headsSeen++
		if err := a.c.CheckConsistent(ctx, h); err != nil {
			a.fail("tree %d: %v", h.Tree.N, err)
			continue
		}
		a.headsOK++
	}
}

// verifyProof checks a tlog-proof bundle offline; it returns the exit
// status.
func verifyProof(proofFile, recordFile, origin, vkey string, policy note.CosignaturePolicy, stdout, stderr io.Writer) int {
	if recordFile == "" {
		fmt.Fprintln(stderr, "audit: -proof needs -record, the file of the record it proves")
		return 2
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fmt.Fprintf(stderr, "audit: -vkey: %v\n", err)
		return 2
	}
	data, err := readLimited(proofFile, witness.MaxProofBytes)
	if err != nil {
		fmt.Fprintf(stderr, "audit: %v\n", err)
		return 2
	}
	record, err := readLimited(recordFile, 1<<24)
	if err != nil {
		fmt.Fprintf(stderr, "audit: %v\n", err)
		return 2
	}
	p, err := witness.ParseProof(data)
	if err == nil {
		var c note.Checkpoint
		if c, err = p.Verify(record, origin, note.VerifierList(v), policy); err == nil {
			fmt.Fprintf(stdout, "OK: %s is entry %d of %s, tree %d %v, %d cosignatures required\n", recordFile, p.Index, origin, c.N, c.Hash, policy.K)
			return 0
		}
	}
	fmt.Fprintf(stdout, "FAIL: %s: %v\n", proofFile, err)
	return 1
}

// readLimited reads a file of at most max bytes.
func readLimited(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("%s: over %d bytes", name, max)
	}
	return b, err
}
