package pebblestore_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/tlog"
)

const childEnv = "TLOGKIT_STORAGE_KILL_CHILD"

// TestKillChild is the child process of TestKill9: it appends to the log in
// the directory named by $TLOGKIT_STORAGE_KILL_CHILD until it is killed,
// from 32 goroutines calling Append and 8 keeping 16 records each in
// flight with AppendAsync and AppendKeyedAsync (acknowledged when Wait
// returns), printing "ack <index> <length> <hex record>" for each
// acknowledged record and "tree <size> <hash>" for published trees.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("child process of TestKill9")
	}
	ctx := context.Background()
	st, err := pebblestore.Open(dir, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	l, err := storage.Open(ctx, st, storagetest.LogOptions(true))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	ack := func(idx int64, rec []byte, i int) {
		_, tree := l.Checkpoint()
		mu.Lock()
		fmt.Fprintf(out, "ack %d %d %x\n", idx, len(rec), rec)
		if i%16 == 0 {
			fmt.Fprintf(out, "tree %d %s\n", tree.N, tree.Hash)
		}
		out.Flush()
		mu.Unlock()
	}
	// Asynchronous appenders: 16 records in flight each, acknowledged
	// when Wait returns.
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(100+g)))
			type sent struct {
				f   storage.Future
				rec []byte
			}
			var ring []sent
			for i := 0; ; i++ {
				rec := make([]byte, 40+rng.IntN(150))
				for j := range rec {
					rec[j] = byte(rng.Uint32())
				}
				var f storage.Future
				if i%3 == 0 {
					f = l.AppendKeyedAsync(ctx, rec[:8], rec)
				} else {
					f = l.AppendAsync(ctx, rec)
				}
				ring = append(ring, sent{f, rec})
				if len(ring) < 16 {
					continue
				}
				s := ring[0]
				ring = ring[1:]
				idx, existed, err := s.f.Wait(ctx)
				if err != nil {
					fmt.Println("error", err)
					os.Exit(2)
				}
				if !existed {
					ack(idx, s.rec, i)
				}
			}
		})
	}
	for g := range 32 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(g)))
			rec := make([]byte, 40+rng.IntN(150))
			for i := 0; ; i++ {
				for j := range rec {
					rec[j] = byte(rng.Uint32())
				}
				idx, err := l.Append(ctx, rec)
				if err != nil {
					fmt.Println("error", err)
					os.Exit(2)
				}
				ack(idx, rec, i)
			}
		})
	}
	wg.Wait()
}

// TestKill9 kills a child process appending to a Pebble log with SIGKILL
// at random moments, many times, and checks after each kill that every
// acknowledged record is there, the indexes are dense, the checkpoint
// matches the records, and no published tree changed or was lost.
func TestKill9(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in child")
	}
	iters := 4
	if long() {
		iters = 100
	}
	dir := t.TempDir()
	ctx := context.Background()
	o := storagetest.NewObserved()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for iter := range iters {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan error, 1)
		acks := 0
		go func() {
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 1<<16), 1<<20)
			for sc.Scan() {
				// A line is complete only with its newline; Scanner also
				// returns a final unterminated line, which parse rejects
				// if it is cut short.
				if err := parseChildLine(o, sc.Text()); err != nil {
					lines <- err
					return
				}
				acks++
			}
			lines <- nil
		}()
		// Let it run, then kill it in the middle of appends.
		time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err = <-lines
		cmd.Wait()
		if err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		st, err := pebblestore.Open(dir, nil)
		if err != nil {
			t.Fatalf("iteration %d: reopening after kill: %v", iter, err)
		}
		l, err := storage.Open(ctx, st, storagetest.LogOptions(false))
		if err != nil {
			t.Fatalf("iteration %d: reopening after kill: %v", iter, err)
		}
		storagetest.CheckRecovered(t, l, o)
		_, tree := l.Checkpoint()
		t.Logf("iteration %d: %d lines from the child, %d records acknowledged in all, tree %d", iter, acks, o.Len(), tree.N)
		if !o.Saw(tree) {
			t.Fatalf("reopened tree %v differs from a published one", tree)
		}
		l.Close()
	}
	if o.Len() == 0 {
		t.Fatal("the children acknowledged nothing")
	}
}

func parseChildLine(o *storagetest.Observed, line string) error {
	f := strings.Fields(line)
	switch {
	case len(f) == 4 && f[0] == "ack":
		idx, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return err
		}
		rec, err := hex.DecodeString(f[3])
		if err != nil || len(rec) != n {
			return nil // cut by the kill: not a complete acknowledgment
		}
		o.Ack(idx, rec)
	case len(f) == 3 && f[0] == "tree":
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return err
		}
		h, err := tlog.ParseHash(f[2])
		if err != nil {
			return nil // cut
		}
		if !o.Saw(tlog.Tree{N: n, Hash: h}) {
			return fmt.Errorf("two published trees of size %d", n)
		}
	case len(f) > 0 && f[0] == "error":
		return fmt.Errorf("child: %s", line)
	}
	return nil
}

const lockEnv = "TLOGKIT_STORAGE_LOCK_CHILD"

// TestLockChild is the child of TestSecondProcess: it opens the log in
// $TLOGKIT_STORAGE_LOCK_CHILD, says so, and waits to be killed.
func TestLockChild(t *testing.T) {
	dir := os.Getenv(lockEnv)
	if dir == "" {
		t.Skip("child process of TestSecondProcess")
	}
	st, err := pebblestore.Open(dir, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	l, err := storage.Open(context.Background(), st, storagetest.LogOptions(true))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	defer l.Close()
	fmt.Println("locked")
	time.Sleep(time.Minute)
}

// TestSecondProcess: while one process has the log open, another process
// cannot open its directory.
func TestSecondProcess(t *testing.T) {
	if os.Getenv(lockEnv) != "" {
		t.Skip("in child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "locked" {
		t.Fatalf("child said %q", sc.Text())
	}
	st, err := pebblestore.Open(dir, nil)
	if err == nil {
		st.Close()
		t.Fatal("second process opened a locked store")
	}
	if !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second process: %v, want ErrLocked", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	st, err = pebblestore.Open(dir, nil)
	if err != nil {
		t.Fatalf("open after the holder died: %v", err)
	}
	l, err := storage.Open(context.Background(), st, storagetest.LogOptions(false))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}
