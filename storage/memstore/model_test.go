package memstore

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tlogkit/tlogkit/storage"
)

// TestModel compares Get and Scan with a map after random sets and
// deletes, enough of them to revive dead keys and compact the key list.
func TestModel(t *testing.T) {
	ctx := context.Background()
	st := New()
	model := map[string]string{}
	rng := rand.New(rand.NewPCG(1, 2))
	sawDead, sawAdded := false, false
	defer func() {
		if !sawDead || !sawAdded {
			t.Errorf("deleted keys listed %v, keys to merge %v: the test misses a case", sawDead, sawAdded)
		}
	}()
	for round := range 300 {
		var b storage.Batch
		for range 1 + rng.IntN(80) {
			k := fmt.Sprintf("k%04d", rng.IntN(3000))
			del := 1
			if round >= 100 && round < 250 {
				del = 3 // mostly deletes: many dead keys
			}
			if rng.IntN(4) < del {
				b.Delete([]byte(k))
				delete(model, k)
			} else {
				v := fmt.Sprintf("v%d", round)
				b.Set([]byte(k), []byte(v))
				model[k] = v
			}
		}
		if err := st.Commit(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if len(st.d.keys) > 0 && len(st.d.added) > 0 {
			sawAdded = true
		}
		if len(st.d.keys) > len(model) {
			sawDead = true
		}
		if round%20 != 19 {
			continue
		}
		var got []string
		// Scan from the middle first (merging), then all.
		if err := st.Scan(ctx, []byte("k1500"), nil, func(k, v []byte) error {
			if string(k) < "k1500" {
				t.Fatalf("Scan from k1500 gives %s", k)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(st.d.added) > 0 || len(st.d.keys) != len(model) {
			t.Fatalf("after Scan: %d keys to merge, %d listed, want 0, %d", len(st.d.added), len(st.d.keys), len(model))
		}
		if err := st.Scan(ctx, nil, nil, func(k, v []byte) error {
			if model[string(k)] != string(v) {
				t.Fatalf("Scan: %s = %s, want %s", k, v, model[string(k)])
			}
			got = append(got, string(k))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := slices.Sorted(maps.Keys(model))
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: Scan gives %d keys, want %d", round, len(got), len(want))
		}
		for k := range 3000 {
			key := fmt.Sprintf("k%04d", k)
			v, err := st.Get(ctx, []byte(key))
			if mv, ok := model[key]; ok != (err == nil) || string(v) != mv {
				t.Fatalf("Get(%s) = %q, %v; model %q, %v", key, v, err, mv, ok)
			}
		}
	}
}
