package pebblestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tlogkit/tlogkit/note"
	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
	"github.com/tlogkit/tlogkit/tlog"
)

// BenchmarkImport measures storage's import path on pebble without the
// network: 2^20 keyed go.sum-like records (about 160 bytes) in batches of
// 65536, each hashed, checked against the tree hash, and committed with
// its tiles and key index in one synced batch. It reports records/s.
func BenchmarkImport(b *testing.B) {
	const n, batch = 1 << 20, 1 << 16
	recs := make([][]byte, n)
	keys := make([][]byte, n)
	for i := range recs {
		p, v := fmt.Sprintf("example.com/mod%d", i/4), fmt.Sprintf("v1.%d.0", i%4)
		keys[i] = []byte(p + "@" + v)
		recs[i] = fmt.Appendf(nil, "%s %s h1:%044d\n%s %s/go.mod h1:%044d\n", p, v, i, p, v, i)
	}
	// The target's hashes at each batch boundary.
	a, _ := tlog.NewAppender(0, nil)
	hashes := make([]tlog.Hash, 0, n/batch)
	for i := 0; i < n; i += batch {
		if _, _, err := a.Append(recs[i : i+batch]); err != nil {
			b.Fatal(err)
		}
		hashes = append(hashes, a.TreeHash())
	}
	signer, verifier := storagetest.Keys("log")
	text, _ := note.Checkpoint{Origin: storagetest.Origin, N: n, Hash: a.TreeHash()}.Format()
	target, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		st, err := pebblestore.Open(filepath.Join(b.TempDir(), "store"), nil)
		if err != nil {
			b.Fatal(err)
		}
		im, err := storage.OpenImport(ctx, st, storage.ImportOptions{Origin: storagetest.Origin, Verifier: verifier})
		if err != nil {
			b.Fatal(err)
		}
		if err := im.SetTarget(ctx, target, tlog.Hash{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for i := 0; i < n; i += batch {
			if err := im.Append(ctx, recs[i:i+batch], keys[i:i+batch], hashes[i/batch]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
