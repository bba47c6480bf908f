package storage_test

import (
	"context"
	"fmt"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/tlog"
)

func Example() {
	ctx := context.Background()
	signer, verifier := storagetest.Keys("example.com/log") // use note.NewSigner and note.NewVerifier
	log, err := storage.Open(ctx, memstore.New(), storage.Options{
		Origin:   "example.com/log",
		Signer:   signer,
		Verifier: verifier,
		Create:   true,
	})
	if err != nil {
		panic(err)
	}
	defer log.Close()

	for _, r := range []string{"alpha\n", "beta\n", "gamma\n"} {
		if _, err := log.Append(ctx, []byte(r)); err != nil {
			panic(err)
		}
	}
	i, existed, err := log.AppendKeyed(ctx, []byte("delta"), []byte("delta\n"))
	fmt.Println("delta:", i, existed, err)
	i, existed, _ = log.AppendKeyed(ctx, []byte("delta"), []byte("other\n"))
	fmt.Println("delta again:", i, existed)

	signed, tree := log.Checkpoint()
	n, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		panic(err)
	}
	c, _ := note.ParseCheckpoint([]byte(n.Text))
	fmt.Println("checkpoint:", c.Origin, c.N, c.Hash == tree.Hash)

	proof, _ := log.ProveRecord(ctx, tree.N, 1)
	fmt.Println("proof of beta:", tlog.CheckRecord(proof, tree.N, tree.Hash, 1, tlog.RecordHash([]byte("beta\n"))))
	// Output:
	// delta: 3 false <nil>
	// delta again: 3 true
	// checkpoint: example.com/log 4 true
	// proof of beta: <nil>
}
