package main

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/sumdbserver"
)

// startSumDB serves a checksum database filled from proxyDir and returns
// its verifier key and URL.
func startSumDB(t *testing.T, proxyDir string) (string, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "sumdb.test.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	l, err := storage.Open(context.Background(), memstore.New(), storage.Options{Origin: note.SumDBOrigin, Signer: signer, Verifier: verifier, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	src, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(proxyDir))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sumdbserver.NewServer(sumdbserver.Config{Log: sumdbserver.StorageLog(l), Source: src})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return vkey, hs.URL
}
