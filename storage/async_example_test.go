package storage_test

import (
	"context"
	"fmt"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

// One appender keeps many records in flight: it queues them with
// AppendAsync and AppendKeyedAsync and waits for the Futures afterwards,
// so they share commits instead of waiting for one sync each.
func ExampleLog_AppendAsync() {
	ctx := context.Background()
	signer, verifier := storagetest.Keys("example.com/log")
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

	var futures []storage.Future
	for _, r := range []string{"alpha\n", "beta\n", "gamma\n"} {
		futures = append(futures, log.AppendAsync(ctx, []byte(r)))
	}
	futures = append(futures,
		log.AppendKeyedAsync(ctx, []byte("delta"), []byte("delta\n")),
		log.AppendKeyedAsync(ctx, []byte("delta"), []byte("other\n")))
	for _, f := range futures {
		i, existed, err := f.Wait(ctx) // durable and published
		fmt.Println(i, existed, err)
	}
	_, tree := log.Checkpoint()
	fmt.Println("tree size:", tree.N)
	// Output:
	// 0 false <nil>
	// 1 false <nil>
	// 2 false <nil>
	// 3 false <nil>
	// 3 true <nil>
	// tree size: 4
}

// AppendBatch queues many entries under one lock, in order.
func ExampleLog_AppendBatch() {
	ctx := context.Background()
	signer, verifier := storagetest.Keys("example.com/log")
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

	futures := log.AppendBatch(ctx, []storage.Entry{
		{Record: []byte("alpha\n")},
		{Key: []byte("beta"), Record: []byte("beta\n")},
		{Key: []byte("beta"), Record: []byte("beta again\n")},
		{Key: []byte{}, Record: []byte("empty key\n")},
	}, nil)
	for _, f := range futures {
		i, existed, err := f.Wait(ctx)
		fmt.Println(i, existed, err)
	}
	// Output:
	// 0 false <nil>
	// 1 false <nil>
	// 1 true <nil>
	// 0 false storage: invalid argument: empty key
}
