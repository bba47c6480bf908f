package tlog_test

import (
	"fmt"
	"testing"

	"github.com/tlogkit/tlogkit/tlog"
	xtlog "golang.org/x/mod/sumdb/tlog"
)

// memHashes is an in-memory log holding every stored hash, built with x/mod.
type memHashes []xtlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]xtlog.Hash, error) {
	out := make([]xtlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("index %d out of range", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

func (m memHashes) ours() tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		h, err := m.ReadHashes(indexes)
		out := make([]tlog.Hash, len(h))
		for i := range h {
			out[i] = tlog.Hash(h[i])
		}
		return out, err
	})
}

func buildXmod(t testing.TB, n int) memHashes {
	var m memHashes
	for i := 0; i < n; i++ {
		h, err := xtlog.StoredHashes(int64(i), []byte(fmt.Sprintf("record %d\n", i)), m)
		if err != nil {
			t.Fatal(err)
		}
		m = append(m, h...)
	}
	return m
}

func TestQuickAgainstXmod(t *testing.T) {
	const N = 300
	m := buildXmod(t, N)
	for n := int64(0); n <= N; n++ {
		want, _ := xtlog.TreeHash(n, m)
		got, err := tlog.TreeHash(n, m.ours())
		if err != nil || xtlog.Hash(got) != want {
			t.Fatalf("TreeHash(%d) = %v, %v want %v", n, got, err, want)
		}
	}
	for tsz := int64(1); tsz <= N; tsz++ {
		th, _ := xtlog.TreeHash(tsz, m)
		for n := int64(0); n < tsz; n++ {
			want, err := xtlog.ProveRecord(tsz, n, m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tlog.ProveRecord(tsz, n, m.ours())
			if err != nil || len(got) != len(want) {
				t.Fatalf("ProveRecord(%d,%d) len %d want %d err %v", tsz, n, len(got), len(want), err)
			}
			for i := range got {
				if xtlog.Hash(got[i]) != want[i] {
					t.Fatalf("ProveRecord(%d,%d)[%d] differs", tsz, n, i)
				}
			}
			lh := xtlog.RecordHash([]byte(fmt.Sprintf("record %d\n", n)))
			if err := tlog.CheckRecord(got, tsz, tlog.Hash(th), n, tlog.Hash(lh)); err != nil {
				t.Fatalf("CheckRecord(%d,%d): %v", tsz, n, err)
			}
			nh, _ := xtlog.TreeHash(n+1, m)
			tp, err := tlog.ProveTree(tsz, n+1, m.ours())
			if err != nil {
				t.Fatal(err)
			}
			wp, _ := xtlog.ProveTree(tsz, n+1, m)
			if len(tp) != len(wp) {
				t.Fatalf("ProveTree(%d,%d) len %d want %d", tsz, n+1, len(tp), len(wp))
			}
			for i := range tp {
				if xtlog.Hash(tp[i]) != wp[i] {
					t.Fatalf("ProveTree(%d,%d)[%d] differs", tsz, n+1, i)
				}
			}
			if err := tlog.CheckTree(tp, tsz, tlog.Hash(th), n+1, tlog.Hash(nh)); err != nil {
				t.Fatalf("CheckTree(%d,%d): %v", tsz, n+1, err)
			}
		}
	}
	for i := int64(0); i < 5000; i++ {
		l, n := tlog.SplitStoredHashIndex(i)
		xl, xn := xtlog.SplitStoredHashIndex(i)
		if l != xl || n != xn || tlog.StoredHashIndex(l, n) != i {
			t.Fatalf("SplitStoredHashIndex(%d) = %d,%d want %d,%d", i, l, n, xl, xn)
		}
		if tlog.StoredHashCount(i) != xtlog.StoredHashCount(i) {
			t.Fatalf("StoredHashCount(%d)", i)
		}
	}
}
