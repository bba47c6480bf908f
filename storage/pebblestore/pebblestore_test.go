package pebblestore_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/pebblestore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Opener {
		dir := t.TempDir()
		return func() (storage.Backend, error) { return pebblestore.Open(dir, nil) }
	})
}

// TestCollector: Pebble's summary is exported with the log label, and a
// closed store reports nothing (no panic).
func TestCollector(t *testing.T) {
	ctx := context.Background()
	st, err := pebblestore.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b storage.Batch
	b.Set([]byte("k"), make([]byte, 1000))
	if err := st.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(pebblestore.NewCollector("test", st))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "log" || l[0].GetValue() != "test" {
			t.Errorf("%s: labels %v", mf.GetName(), l)
		}
		v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
		got[mf.GetName()] = v
	}
	if len(got) != 11 {
		t.Errorf("%d metrics: %v", len(got), got)
	}
	if got["pebble_disk_bytes"] <= 0 || got["pebble_wal_bytes_written_total"] < 1000 {
		t.Errorf("metrics after a 1000-byte commit: %v", got)
	}
	st.Close()
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 0 {
		t.Errorf("after Close: %d metric families, %v", len(mfs), err)
	}
}
