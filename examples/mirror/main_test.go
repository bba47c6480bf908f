package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/sumdbserver"
)

// TestRun: -once imports an origin on 127.0.0.1 into a pebble store; the
// serving mode then answers /latest with the origin's note, byte for byte,
// and follows the origin as it grows.
func TestRun(t *testing.T) {
	ctx := context.Background()
	skey, vkey, _ := note.GenerateKey(rand.Reader, "origin.example")
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	l, err := storage.Open(ctx, memstore.New(), storage.Options{Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	next := 0
	grow := func(k int) {
		for i := next; i < next+k; i++ {
			key := fmt.Sprintf("example.com/m%d@v1.0.0", i)
			if _, _, err := l.AppendKeyed(ctx, []byte(key), fmt.Appendf(nil, "example.com/m%d v1.0.0 h1:x\n", i)); err != nil {
				t.Fatal(err)
			}
		}
		next += k
	}
	grow(300)
	s, _ := sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.StorageLog(l)})
	origin := httptest.NewServer(s)
	defer origin.Close()
	dir := filepath.Join(t.TempDir(), "store")
	var out bytes.Buffer
	if code := run(ctx, []string{"-origin", origin.URL, "-vkey", vkey, "-dir", dir, "-once"}, &out, nil); code != 0 {
		t.Fatalf("-once: exit %d\n%s", code, out.String())
	}

	rctx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan int)
	go func() {
		done <- run(rctx, []string{"-origin", origin.URL, "-vkey", vkey, "-dir", dir, "-listen", "127.0.0.1:0", "-poll", "20ms"}, io.Discard, ready)
	}()
	addr := <-ready
	grow(10)
	want, tree := l.Checkpoint()
	if tree.N != 310 {
		t.Fatalf("origin has %d records", tree.N)
	}
	var got []byte
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/latest")
		if err != nil {
			t.Fatal(err)
		}
		got, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Equal(got, want) {
			break
		}
	}
	cancel()
	<-done
	if !bytes.Equal(got, want) {
		t.Fatalf("mirror serves %q, origin %q", got, want)
	}
}
