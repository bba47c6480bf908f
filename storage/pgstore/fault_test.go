package pgstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pgstore"
	"github.com/tlogkit/tlogkit/storage/pgstore/pgtest"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/tlog"
)

const childLease = 800 * time.Millisecond

func TestMain(m *testing.M) {
	if v := os.Getenv("TLOGKIT_PGSTORE_WRITER"); v != "" {
		url, log, _ := strings.Cut(v, " ")
		os.Exit(writer(url, log))
	}
	os.Exit(m.Run())
}

// writer is the child process: it opens the log (waiting for the lease)
// and appends from 8 goroutines until it fails, printing "ack <index>
// <record>" for each acknowledged append and "err <error>" when one fails.
func writer(url, log string) int {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, url, &pgstore.Options{Log: log, Lease: childLease, Wait: true})
	if err != nil {
		fmt.Println("err", err)
		return 3
	}
	l, err := storage.Open(ctx, st, storagetest.LogOptions(true))
	if err != nil {
		fmt.Println("err", err)
		return 3
	}
	fmt.Println("ready")
	var mu sync.Mutex
	var wg sync.WaitGroup
	pid := os.Getpid()
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				rec := fmt.Sprintf("%d-%d-%d", pid, g, i)
				idx, err := l.Append(ctx, []byte(rec))
				mu.Lock()
				if err != nil {
					fmt.Println("err", err)
					mu.Unlock()
					return
				}
				fmt.Println("ack", idx, rec)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return 4
}

type child struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	acks  map[int64]string
	errs  []string
	ready chan struct{}
	done  chan struct{}
}

func startWriter(t *testing.T, url, log string) *child {
	t.Helper()
	c := &child{acks: map[int64]string{}, ready: make(chan struct{}), done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run", "^$")
	c.cmd.Env = append(os.Environ(), "TLOGKIT_PGSTORE_WRITER="+url+" "+log)
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			c.mu.Lock()
			switch {
			case len(f) == 1 && f[0] == "ready":
				close(c.ready)
			case len(f) == 3 && f[0] == "ack":
				i, _ := strconv.ParseInt(f[1], 10, 64)
				c.acks[i] = f[2]
			case len(f) > 0 && f[0] == "err":
				c.errs = append(c.errs, sc.Text())
			}
			c.mu.Unlock()
		}
	}()
	select {
	case <-c.ready:
	case <-c.done:
		t.Fatalf("writer exited before it was ready: %v", c.errs)
	case <-time.After(30 * time.Second):
		t.Fatal("writer not ready")
	}
	return c
}

func (c *child) waitAcks(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.mu.Lock()
		got := len(c.acks)
		c.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("writer acknowledged only %d appends", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkAcked opens the log as its writer and checks that every record
// acknowledged by any earlier writer is there at its index, and that the
// log verifies (Open checks the right edge against the checkpoint).
func checkAcked(t *testing.T, l *storage.Log, acked map[int64]string) {
	t.Helper()
	ctx := context.Background()
	_, tree := l.Checkpoint()
	for i, want := range acked {
		if i >= tree.N {
			t.Fatalf("acknowledged record %d (%s) lost: tree has %d", i, want, tree.N)
		}
		recs, err := l.ReadRecords(ctx, i, 1)
		if err != nil {
			t.Fatal(err)
		}
		if string(recs[0]) != want {
			t.Fatalf("record %d = %q, acknowledged as %q (fork)", i, recs[0], want)
		}
	}
}

// TestKillWriterStandbyTakesOver: kill -9 the writer during appends, many
// rounds; a standby waiting for the lease takes over within about a lease
// and finds every acknowledged record, and writes on from there.
func TestKillWriterStandbyTakesOver(t *testing.T) {
	if testing.Short() {
		t.Skip("runs writer processes")
	}
	srv := pgtest.Start(t)
	rounds := 3
	if os.Getenv("TLOGKIT_LONG") == "1" {
		rounds = 20
	}
	acked := map[int64]string{}
	var readers []*replica
	for round := range rounds {
		c := startWriter(t, srv.URL, "killed")
		if round == 0 {
			// Two replicas follow the log through every takeover.
			readers = []*replica{startReplica(t, srv.URL, "killed"), startReplica(t, srv.URL, "killed")}
		}
		c.waitAcks(t, 50)
		time.Sleep(time.Duration(round%5) * 7 * time.Millisecond)
		c.cmd.Process.Kill()
		c.cmd.Wait()
		<-c.done
		c.mu.Lock()
		for i, r := range c.acks {
			if old, ok := acked[i]; ok && old != r {
				t.Fatalf("round %d: index %d acknowledged twice: %q and %q", round, i, old, r)
			}
			acked[i] = r
		}
		c.mu.Unlock()
		// The standby: waits for the dead writer's lease, then opens.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t0 := time.Now()
		st, err := pgstore.Open(ctx, srv.URL, &pgstore.Options{Log: "killed", Lease: childLease, Wait: true})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d > childLease+time.Second {
			t.Errorf("round %d: takeover took %v, lease %v", round, d, childLease)
		}
		l, err := storage.Open(context.Background(), st, storagetest.LogOptions(false))
		if err != nil {
			t.Fatal(err)
		}
		checkAcked(t, l, acked)
		for _, r := range readers {
			r.check(t, l)
		}
		l.Close()
	}
	for _, r := range readers {
		r.stop()
		if len(r.served) < 2 {
			t.Errorf("a replica served only %d trees", len(r.served))
		}
	}
}

// A replica is a read-only log on its own read-only store that follows
// the log every 10ms, and remembers every tree it served.
type replica struct {
	l      *storage.Log
	mu     sync.Mutex
	served []tlog.Tree
	quit   chan struct{}
	done   chan struct{}
}

func startReplica(t *testing.T, url, log string) *replica {
	t.Helper()
	ctx := context.Background()
	st, err := pgstore.Open(ctx, url, &pgstore.Options{Log: log, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	opts := storagetest.LogOptions(false)
	opts.Signer, opts.ReadOnly, opts.Follow = nil, true, 10*time.Millisecond
	l, err := storage.Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{l: l, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			_, tree := l.Checkpoint()
			r.mu.Lock()
			if len(r.served) == 0 || r.served[len(r.served)-1] != tree {
				r.served = append(r.served, tree)
			}
			r.mu.Unlock()
			select {
			case <-r.quit:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	select {
	case <-r.quit:
	default:
		close(r.quit)
		<-r.done
		r.l.Close()
	}
}

// check requires that every tree r served is in l's log (none ahead of a
// commit, none of a fork), in increasing order, and that r follows.
func (r *replica) check(t *testing.T, l *storage.Log) {
	t.Helper()
	ctx := context.Background()
	if st := r.l.Stats(); st.Stopped != nil {
		t.Fatalf("replica stopped: %v", st.Stopped)
	}
	r.mu.Lock()
	served := slices.Clone(r.served)
	r.mu.Unlock()
	_, final := l.Checkpoint()
	for i, tree := range served {
		if i > 0 && tree.N < served[i-1].N {
			t.Fatalf("replica went back from %d to %d", served[i-1].N, tree.N)
		}
		if tree.N > final.N {
			t.Fatalf("replica served a tree of %d records, the log has %d", tree.N, final.N)
		}
		h, err := l.TreeHash(ctx, tree.N)
		if err != nil || h != tree.Hash {
			t.Fatalf("replica served %v, the log's tree of that size is %v (%v)", tree, h, err)
		}
	}
}

// TestPausedWriterIsFenced: SIGSTOP the writer past its lease; the standby
// takes over and appends; the old writer, resumed, fails its next commit
// with ErrFenced and stops; nothing it acknowledged is lost, and nothing
// forks.
func TestPausedWriterIsFenced(t *testing.T) {
	if testing.Short() {
		t.Skip("runs writer processes")
	}
	srv := pgtest.Start(t)
	ctx := context.Background()
	c := startWriter(t, srv.URL, "paused")
	c.waitAcks(t, 50)
	if err := c.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	st, err := pgstore.Open(wctx, srv.URL, &pgstore.Options{Log: "paused", Lease: childLease, Wait: true})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	l, err := storage.Open(ctx, st, storagetest.LogOptions(false))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 20 {
		if _, err := l.Append(ctx, fmt.Appendf(nil, "standby %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	before := len(c.acks)
	c.mu.Unlock()
	if err := c.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		t.Fatal("the resumed writer did not stop")
	}
	c.cmd.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) == 0 || !strings.Contains(c.errs[0], "fenced") {
		t.Fatalf("resumed writer's errors: %q, want ErrFenced", c.errs)
	}
	// At most the commit it was in when stopped can have been
	// acknowledged after the pause (it was already durable).
	if len(c.acks) > before+8 {
		t.Errorf("the fenced writer acknowledged %d appends after its pause", len(c.acks)-before)
	}
	checkAcked(t, l, c.acks)
	if _, err := l.Append(ctx, []byte("after")); err != nil {
		t.Fatalf("standby append after the old writer stopped: %v", err)
	}
}

// TestServerRestartUnderLoad: restarting PostgreSQL under appends makes
// the writer fail-stop (or not notice); reopened, the log has every
// acknowledged record and verifies.
func TestServerRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts the server")
	}
	srv := pgtest.Start(t)
	ctx := context.Background()
	st, err := pgstore.Open(ctx, srv.URL, &pgstore.Options{Log: "restart", Lease: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l, err := storage.Open(ctx, st, storagetest.LogOptions(true))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[int64]string{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rec := fmt.Sprintf("%d-%d", g, i)
				idx, err := l.Append(ctx, []byte(rec))
				if err != nil {
					if !errors.Is(err, storage.ErrStopped) {
						t.Errorf("append: %v, want ErrStopped", err)
					}
					return
				}
				mu.Lock()
				acked[idx] = rec
				mu.Unlock()
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	srv.Stop()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	l.Close()
	// Reopen (the old lease may still run: wait for it).
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err = pgstore.Open(wctx, srv.URL, &pgstore.Options{Log: "restart", Lease: 2 * time.Second, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err = storage.Open(ctx, st, storagetest.LogOptions(false))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if len(acked) == 0 {
		t.Fatal("nothing acknowledged")
	}
	checkAcked(t, l, acked)
}
