package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

// start runs the program on data and config and returns its address,
// printed output and stop function.
func start(t *testing.T, data, config string) (string, string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", config, "-data", data, "-listen", "127.0.0.1:0"}, &out, io.Discard, func(a string) { ready <- a })
	}()
	select {
	case addr := <-ready:
		return addr, out.String(), func() { cancel(); <-done }
	case err := <-done:
		cancel()
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("not started")
	}
	return "", "", nil
}

// TestWitnessCommand: the witness cosigns a log's checkpoint, keeps its
// size across a restart, and its printed key verifies the cosignature.
func TestWitnessCommand(t *testing.T) {
	ctx := context.Background()
	s, v := storagetest.Keys("log1")
	l, err := storage.Open(ctx, memstore.New(), storage.Options{Origin: "example.com/log1", Signer: s, Verifier: v, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 3 {
		if _, err := l.Append(ctx, fmt.Appendf(nil, "r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	signed, _ := l.Checkpoint()
	dir := t.TempDir()
	config := filepath.Join(dir, "witness.conf")
	if err := os.WriteFile(config, []byte("log example.com/log1 "+storagetest.VerifierKey("log1")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	addr, out, stop := start(t, data, config)
	_, vkeyLine, _ := strings.Cut(out, "verifier key: ")
	cv, err := note.NewCosignatureVerifier(strings.TrimSpace(vkeyLine))
	if err != nil {
		t.Fatalf("printed key %q: %v", vkeyLine, err)
	}
	post := func(body string) (int, string) {
		resp, err := http.Post("http://"+addr+"/add-checkpoint", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, sigs := post("old 0\n\n" + string(signed))
	if code != 200 {
		t.Fatalf("add-checkpoint: %d %s", code, sigs)
	}
	if _, err := note.Open(append(bytes.Clone(signed), sigs...), note.VerifierList(cv)); err != nil {
		t.Fatalf("cosignature does not verify with the printed key: %v", err)
	}
	stop()
	addr, _, stop = start(t, data, config)
	defer stop()
	if code, body := post("old 0\n\n" + string(signed)); code != 409 || body != "3\n" {
		t.Fatalf("after restart: %d %q, want 409 \"3\\n\"", code, body)
	}
}
