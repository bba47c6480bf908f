// Command fullscale builds a checksum-database-sized log on the pebble store
// and audits it: the full-scale measurement of tlogkit's write and read paths.
//
// Usage:
//
//	go run ./benchmarks/cmd/fullscale -dir /tmp/fullscale [-n 70000000]
//	    [-appenders 4096] [-keyed] [-compact] [-rm]
//
// The build phase appends n go.sum-like records (two lines, about 160 bytes,
// generated deterministically from their number) to a storage.Log on
// pebblestore in <dir>/store, from many concurrent appenders, each waiting for
// its record to be durable, so that the log's group commit makes the batches.
// With -keyed (the default) every record is appended under its key
// "module@version", as a checksum database does. It reports wall time,
// records/s, peak resident memory (VmHWM from /proc/self/status) and bytes on
// disk: the files of the store right after the build (pebble tables and
// write-ahead log), pebble's live table bytes after a full compaction
// (pebblestore.Store.Compact, with -compact), and the files of the closed
// store at the end.
//
// The audit phase reads back every record (the data tiles, through
// Log.ReadRecords) and every hash tile (Log.ReadTile), and checks the whole
// tree against the signed checkpoint: the checkpoint must verify with
// note.Open; every record must be one of the generated records, each exactly
// once; every level-0 tile must hold the leaf hashes recomputed from the
// records; every tile of level L >= 1 must hold the hashes of the complete
// subtrees recomputed from below; and the root recomputed from the leaves
// must be the checkpoint's hash. It reports records/s.
//
// The store is left in place unless -rm is given.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/ops"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/tile"
	"github.com/tlogkit/tlogkit/tlog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "fullscale:", err)
		}
		os.Exit(1)
	}
}

type config struct {
	n         int64
	dir       string
	appenders int
	keyed     bool
	compact   bool
	rm        bool
	progress  time.Duration
	cpuprof   string
	cacheMiB  int64
	maxBuild  time.Duration
}

// result holds the measured figures.
type result struct {
	N             int64
	BuildTime     time.Duration
	BuildRate     float64 // records/s
	BuildHWM      int64   // VmHWM after the build, bytes
	RecordBytes   int64   // total bytes of record text
	DiskBefore    int64   // bytes of files in the store directory after the build
	DiskAfter     int64   // live tables and WAL after compaction (0 if not compacted)
	DiskEnd       int64   // bytes of files in the store directory at the end
	CompactTime   time.Duration
	AuditTime     time.Duration
	AuditRate     float64
	AuditTiles    int64 // hash tiles read
	AuditDataRead int64 // records read
	FinalHWM      int64
	Root          tlog.Hash
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("fullscale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	n := fs.Float64("n", 7e7, "number of `records` to append (the size of sum.golang.org is about 7e7)")
	fs.StringVar(&c.dir, "dir", "", "`directory` for the store (<dir>/store must not exist); required")
	fs.IntVar(&c.appenders, "appenders", 4096, "concurrent appenders, each waiting for its append to be durable")
	fs.BoolVar(&c.keyed, "keyed", true, "append every record under its key module@version (Log.AppendKeyed), as a checksum database does")
	fs.BoolVar(&c.compact, "compact", true, "compact the store after the build and measure its size again")
	fs.BoolVar(&c.rm, "rm", false, "remove the store at the end")
	fs.Int64Var(&c.cacheMiB, "cache", 0, "pebble block cache in `MiB` (0: pebblestore's default)")
	fs.DurationVar(&c.maxBuild, "max-build-time", 0, "stop appending after this `duration` and audit the records appended so far (0: no limit)")
	fs.StringVar(&c.cpuprof, "cpuprofile", "", "write a CPU profile of the build to `file`")
	fs.DurationVar(&c.progress, "progress", 30*time.Second, "interval of progress lines on standard error (0: none)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *n < 1 || *n > 1e10 || *n != float64(int64(*n)) {
		return nil, fmt.Errorf("-n must be a whole number between 1 and 1e10")
	}
	c.n = int64(*n)
	if c.dir == "" {
		return nil, fmt.Errorf("-dir is required")
	}
	if c.cacheMiB < 0 || c.cacheMiB > 1<<20 {
		return nil, fmt.Errorf("-cache must be between 0 and %d MiB", 1<<20)
	}
	if c.appenders < 1 || c.appenders > 1<<17 {
		return nil, fmt.Errorf("-appenders must be between 1 and %d", 1<<17)
	}
	return c, nil
}

// Records: record i is the go.sum lines of module version
// example.com/mod<i/4> v1.<i%4>.0, with hashes derived from i.

func recordModule(i int64) (path, version string) {
	return "example.com/mod" + strconv.FormatInt(i/4, 10), "v1." + strconv.FormatInt(i%4, 10) + ".0"
}

func recordKey(i int64) []byte {
	p, v := recordModule(i)
	return []byte(p + "@" + v)
}

func appendRecord(dst []byte, i int64) []byte {
	p, v := recordModule(i)
	var seed [9]byte
	for k := range 8 {
		seed[k] = byte(i >> (8 * k))
	}
	zh := sha256.Sum256(seed[:])
	seed[8] = 'm'
	mh := sha256.Sum256(seed[:])
	dst = append(dst, p...)
	dst = append(dst, ' ')
	dst = append(dst, v...)
	dst = append(dst, " h1:"...)
	dst = base64.StdEncoding.AppendEncode(dst, zh[:])
	dst = append(dst, '\n')
	dst = append(dst, p...)
	dst = append(dst, ' ')
	dst = append(dst, v...)
	dst = append(dst, "/go.mod h1:"...)
	dst = base64.StdEncoding.AppendEncode(dst, mh[:])
	dst = append(dst, '\n')
	return dst
}

// parseRecordNumber returns the number i of a generated record, or -1.
func parseRecordNumber(rec []byte) int64 {
	s, ok := strings.CutPrefix(string(rec[:min(len(rec), 48)]), "example.com/mod")
	if !ok {
		return -1
	}
	sp := strings.IndexByte(s, ' ')
	if sp < 1 || len(s) < sp+7 || s[sp+1:sp+4] != "v1." || s[sp+5:sp+7] != ".0" {
		return -1
	}
	m, err := strconv.ParseInt(s[:sp], 10, 64)
	if err != nil || m < 0 || m > 1<<60 || s[sp+4] < '0' || s[sp+4] > '3' {
		return -1
	}
	return m*4 + int64(s[sp+4]-'0')
}

// bitmap is a set of int64 in [0, n), safe for concurrent use.
type bitmap []atomic.Uint64

func newBitmap(n int64) bitmap { return make(bitmap, (n+63)/64) }

// set adds i and reports whether it was already present.
func (b bitmap) set(i int64) bool {
	w, m := &b[i/64], uint64(1)<<(i%64)
	return w.Or(m)&m != 0
}

func (b bitmap) count() int64 {
	var c int64
	for i := range b {
		c += int64(bits.OnesCount64(b[i].Load()))
	}
	return c
}

// vmHWM returns the process's peak resident set size in bytes, or -1.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
			kb, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// dirBytes returns the total size of the regular files under dir, and the
// part of it in pebble's tables (*.sst) and write-ahead logs (*.log).
func dirBytes(dir string) (total, sst, wal int64, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			total += fi.Size()
			switch filepath.Ext(path) {
			case ".sst":
				sst += fi.Size()
			case ".log":
				wal += fi.Size()
			}
		}
		return nil
	})
	return total, sst, wal, err
}

func diskLine(total, sst, wal, n int64) string {
	return fmt.Sprintf("%s (%.1f bytes/record; tables %s, WAL %s, other %s)",
		mib(total), float64(total)/float64(n), mib(sst), mib(wal), mib(total-sst-wal))
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (*result, error) {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return nil, err
	}
	storeDir := filepath.Join(c.dir, "store")
	if _, err := os.Stat(storeDir); err == nil {
		return nil, fmt.Errorf("%s exists; remove it or choose another -dir", storeDir)
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, err
	}
	if c.rm {
		defer os.RemoveAll(storeDir)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, "fullscale.example")
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	opts := storage.Options{Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true}

	fmt.Fprintf(stdout, "fullscale: n=%d appenders=%d keyed=%v cache=%d MiB GOMAXPROCS=%d %s, store %s\n",
		c.n, c.appenders, c.keyed, c.cacheMiB, runtime.GOMAXPROCS(0), runtime.Version(), storeDir)
	res := &result{N: c.n}

	// Build.
	popts := &pebblestore.Options{CacheSize: c.cacheMiB << 20}
	st, err := pebblestore.Open(storeDir, popts)
	if err != nil {
		return nil, err
	}
	lg, err := storage.Open(ctx, st, opts)
	if err != nil {
		return nil, err
	}
	if err := build(ctx, c, lg, res, stderr); err != nil {
		lg.Close()
		return nil, err
	}
	signed, tree := lg.Checkpoint()
	if err := lg.Close(); err != nil {
		return nil, err
	}
	res.BuildHWM = vmHWM()
	total, sst, wal, err := dirBytes(storeDir)
	if err != nil {
		return nil, err
	}
	res.DiskBefore = total
	fmt.Fprintf(stdout, "build: %d records (%s of record text) in %v: %.0f records/s; peak RSS (VmHWM) %s; on disk before compaction %s\n",
		res.N, mib(res.RecordBytes), res.BuildTime.Round(time.Millisecond), res.BuildRate, mib(res.BuildHWM),
		diskLine(total, sst, wal, res.N))

	// Compaction, on a fresh open, so that the log's own Open check runs too.
	st, err = pebblestore.Open(storeDir, popts)
	if err != nil {
		return nil, err
	}
	if c.compact {
		t0 := time.Now()
		if err := st.Compact(ctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("compacting: %w", err)
		}
		res.CompactTime = time.Since(t0)
		m := st.DB().Metrics()
		live := int64(m.Table.Local.LiveSize)
		obsolete := int64(m.Table.Local.ObsoleteSize + m.Table.Local.ZombieSize)
		res.DiskAfter = live + int64(m.WAL.PhysicalSize)
		fmt.Fprintf(stdout, "compaction (pebblestore.Store.Compact): %v; pebble's metrics after it: live tables %s (%.1f bytes/record), WAL %s, obsolete tables not yet deleted %s\n",
			res.CompactTime.Round(time.Millisecond), mib(live), float64(live)/float64(res.N), mib(int64(m.WAL.PhysicalSize)), mib(obsolete))
	}

	// Audit, on a log opened again with the last checkpoint as LastKnown.
	opts.Create = false
	opts.LastKnown = signed
	lg, err = storage.Open(ctx, st, opts)
	if err != nil {
		return nil, fmt.Errorf("reopening: %w", err)
	}
	if err := audit(ctx, c, lg, verifier, tree, res, stderr); err != nil {
		lg.Close()
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := lg.Close(); err != nil {
		return nil, err
	}
	res.FinalHWM = vmHWM()
	total, sst, wal, err = dirBytes(storeDir)
	if err != nil {
		return nil, err
	}
	res.DiskEnd = total
	fmt.Fprintf(stdout, "store at the end (closed): %s\n", diskLine(total, sst, wal, res.N))
	fmt.Fprintf(stdout, "audit: %d records and %d hash tiles read and checked against the signed checkpoint (root %v) in %v: %.0f records/s; peak RSS (VmHWM, whole run) %s\n",
		res.AuditDataRead, res.AuditTiles, res.Root, res.AuditTime.Round(time.Millisecond), res.AuditRate, mib(res.FinalHWM))
	return res, nil
}

// build appends records 0..n-1 from c.appenders goroutines.
func build(ctx context.Context, c *config, lg *storage.Log, res *result, stderr io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		done     atomic.Int64
		recBytes atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	indexes := newBitmap(c.n)
	if c.cpuprof != "" {
		f, err := os.Create(c.cpuprof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	stopProgress := progress(ctx, c.progress, stderr, "build", func() int64 { return done.Load() }, c.n)
	var wg sync.WaitGroup
	for range c.appenders {
		wg.Go(func() {
			var buf []byte
			var bytes int64
			defer func() { recBytes.Add(bytes) }()
			for ctx.Err() == nil {
				if c.maxBuild > 0 && time.Since(t0) >= c.maxBuild {
					return
				}
				i := next.Add(1) - 1
				if i >= c.n {
					return
				}
				// Append keeps the record until it returns: reusing buf
				// afterwards is allowed.
				buf = appendRecord(buf[:0], i)
				bytes += int64(len(buf))
				var idx int64
				var existed bool
				var err error
				if c.keyed {
					idx, existed, err = lg.AppendKeyed(ctx, recordKey(i), buf)
				} else {
					idx, err = lg.Append(ctx, buf)
				}
				switch {
				case err != nil:
					fail(fmt.Errorf("appending record %d: %w", i, err))
					return
				case existed:
					fail(fmt.Errorf("record %d: key %s reported as existing at %d", i, recordKey(i), idx))
					return
				case idx < 0 || idx >= c.n:
					fail(fmt.Errorf("record %d: index %d out of range", i, idx))
					return
				case indexes.set(idx):
					fail(fmt.Errorf("record %d: index %d returned twice", i, idx))
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	stopProgress()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	res.BuildTime = time.Since(t0)
	if got := done.Load(); got < c.n {
		// Stopped by -max-build-time: every number claimed was appended,
		// so the log holds records 0..got-1.
		if got != min(next.Load(), c.n) {
			return fmt.Errorf("build: %d appends done, %d claimed", got, next.Load())
		}
		fmt.Fprintf(stderr, "build: -max-build-time reached after %d of %d records\n", got, c.n)
		c.n = got
		res.N = got
	}
	res.BuildRate = float64(c.n) / res.BuildTime.Seconds()
	res.RecordBytes = recBytes.Load()
	if got := indexes.count(); got != c.n {
		return fmt.Errorf("build: %d distinct indexes returned for %d appends", got, c.n)
	}
	if _, tree := lg.Checkpoint(); tree.N != c.n {
		return fmt.Errorf("build: checkpoint has %d records, want %d", tree.N, c.n)
	}
	return nil
}

// progress reports the progress of a phase (done, rate, ETA, peak RSS) on
// w every interval until the returned function is called: one line
// rewritten in place on a terminal, a line per report otherwise.
func progress(ctx context.Context, every time.Duration, w io.Writer, what string, count func() int64, total int64) func() {
	if every <= 0 {
		return func() {}
	}
	return ops.StartProgress(ctx, ops.ProgressOptions{
		Name: what, Total: total, Out: w, Interval: every,
		Extra: func() string { return "VmHWM " + mib(vmHWM()) },
	}, count)
}

// compactRange is the right edge of a tree being rebuilt from its leaves:
// the roots of its complete subtrees, largest first. Subtree roots at levels
// 8, 16, ... (the hashes that tiles of level 1, 2, ... hold) are appended to
// tileLevel as they complete.
type compactRange struct {
	levels    []int
	hashes    []tlog.Hash
	tileLevel [][]tlog.Hash // tileLevel[k]: complete subtree roots at level 8k, in order
}

func (r *compactRange) push(level int, h tlog.Hash) {
	for {
		if level%tile.Height == 0 && level > 0 {
			k := level / tile.Height
			for len(r.tileLevel) <= k {
				r.tileLevel = append(r.tileLevel, nil)
			}
			r.tileLevel[k] = append(r.tileLevel[k], h)
		}
		n := len(r.levels)
		if n == 0 || r.levels[n-1] != level {
			break
		}
		h = tlog.NodeHash(r.hashes[n-1], h)
		level++
		r.levels, r.hashes = r.levels[:n-1], r.hashes[:n-1]
	}
	if n := len(r.levels); n > 0 && r.levels[n-1] < level {
		panic("fullscale: compact range pushed out of order")
	}
	r.levels = append(r.levels, level)
	r.hashes = append(r.hashes, h)
}

// root returns the tree hash (RFC 6962 MTH) of everything pushed.
func (r *compactRange) root() tlog.Hash {
	if len(r.hashes) == 0 {
		return sha256.Sum256(nil)
	}
	h := r.hashes[len(r.hashes)-1]
	for i := len(r.hashes) - 2; i >= 0; i-- {
		h = tlog.NodeHash(r.hashes[i], h)
	}
	return h
}

// audit reads back everything and checks the tree against the checkpoint.
func audit(ctx context.Context, c *config, lg *storage.Log, verifier note.Verifier, want tlog.Tree, res *result, stderr io.Writer) error {
	t0 := time.Now()
	signed, tree := lg.Checkpoint()
	nt, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	cp, err := note.ParseCheckpoint([]byte(nt.Text))
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if cp.Origin != note.SumDBOrigin || cp.Tree() != tree || tree != want || tree.N != c.n {
		return fmt.Errorf("checkpoint %q (log says %v) is not the tree built (%v, %d records)", nt.Text, tree, want, c.n)
	}
	n := tree.N
	seen := newBitmap(n)
	var cr compactRange
	var read atomic.Int64
	stopProgress := progress(ctx, c.progress, stderr, "audit", func() int64 { return read.Load() }, n)
	defer stopProgress()

	const chunk = storage.MaxReadRecords // a multiple of 256
	var leaves []tlog.Hash
	var levelBufs [2][]tlog.Hash
	var tiles int64
	for start := int64(0); start < n; start += chunk {
		k := min(chunk, n-start)
		recs, err := lg.ReadRecords(ctx, start, k)
		if err != nil {
			return fmt.Errorf("reading records %d..%d: %w", start, start+k-1, err)
		}
		if int64(len(recs)) != k {
			return fmt.Errorf("reading records %d..%d: got %d", start, start+k-1, len(recs))
		}
		var buf []byte
		for j, rec := range recs {
			i := parseRecordNumber(rec)
			if i < 0 || i >= n {
				return fmt.Errorf("record %d is not a generated record: %q", start+int64(j), rec)
			}
			buf = appendRecord(buf[:0], i)
			if string(buf) != string(rec) {
				return fmt.Errorf("record %d: got %q, want %q", start+int64(j), rec, buf)
			}
			if seen.set(i) {
				return fmt.Errorf("record %d: generated record %d logged twice", start+int64(j), i)
			}
		}
		leaves = tlog.AppendRecordHashes(leaves[:0], recs)

		// Level-0 tiles: full ones and the partial one at the end.
		for off := int64(0); off < k; off += 1 << tile.Height {
			w := min(1<<tile.Height, k-off)
			t := tile.Tile{H: tile.Height, L: 0, N: (start + off) >> tile.Height, W: int(w)}
			data, err := lg.ReadTile(ctx, t)
			if err != nil {
				return fmt.Errorf("reading tile %s: %w", t.Path(), err)
			}
			tiles++
			if err := compareTile(t, data, leaves[off:off+w]); err != nil {
				return err
			}
		}

		// Fold full tiles into level-8 hashes in parallel, then feed
		// the compact range.
		full := (k >> tile.Height) << tile.Height
		// (AppendNodeHashes must not write over its input.)
		cur := leaves[:full]
		for j := range tile.Height {
			next := &levelBufs[j%2]
			*next = tlog.AppendNodeHashes((*next)[:0], cur)
			cur = *next
		}
		level := cur
		for _, h := range level {
			cr.push(tile.Height, h)
		}
		for _, h := range leaves[full:] {
			cr.push(0, h)
		}
		read.Add(k)
	}

	// Tiles of level 1 and up, against the recomputed subtree roots.
	for L := 1; n>>(tile.Height*L) > 0; L++ {
		count := n >> (tile.Height * L) // complete level-8L subtrees
		var got []tlog.Hash
		if L < len(cr.tileLevel) {
			got = cr.tileLevel[L]
		}
		if int64(len(got)) != count {
			return fmt.Errorf("level %d: recomputed %d subtree roots, want %d", tile.Height*L, len(got), count)
		}
		for off := int64(0); off < count; off += 1 << tile.Height {
			w := min(1<<tile.Height, count-off)
			t := tile.Tile{H: tile.Height, L: L, N: off >> tile.Height, W: int(w)}
			data, err := lg.ReadTile(ctx, t)
			if err != nil {
				return fmt.Errorf("reading tile %s: %w", t.Path(), err)
			}
			tiles++
			if err := compareTile(t, data, got[off:off+w]); err != nil {
				return err
			}
		}
	}
	if got := seen.count(); got != n {
		return fmt.Errorf("%d distinct generated records, want %d", got, n)
	}
	root := cr.root()
	if root != tree.Hash {
		return fmt.Errorf("recomputed root %v, checkpoint says %v", root, tree.Hash)
	}
	res.Root = root
	res.AuditTiles = tiles
	res.AuditDataRead = read.Load()
	res.AuditTime = time.Since(t0)
	res.AuditRate = float64(n) / res.AuditTime.Seconds()
	return nil
}

// compareTile checks that data, hash tile t as stored, holds want.
func compareTile(t tile.Tile, data []byte, want []tlog.Hash) error {
	if len(data) != len(want)*tlog.HashSize {
		return fmt.Errorf("tile %s: %d bytes, want %d", t.Path(), len(data), len(want)*tlog.HashSize)
	}
	for i, h := range want {
		if string(data[i*tlog.HashSize:(i+1)*tlog.HashSize]) != string(h[:]) {
			return fmt.Errorf("tile %s: hash %d is %x, recomputed %v", t.Path(), i, data[i*tlog.HashSize:(i+1)*tlog.HashSize], h)
		}
	}
	return nil
}
