package tlog

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	xtlog "golang.org/x/mod/sumdb/tlog"
)

// The fuzz targets run as ordinary tests over the seed corpus in
// testdata/fuzz; run one with, for example,
//
//	go test ./tlog -run '^$' -fuzz '^FuzzCheckRecord$' -fuzztime 1m

// FuzzParseHash checks ParseHash against x/mod's: whatever this package
// accepts, x/mod accepts with the same hash, and what x/mod accepts and
// this package rejects is exactly the non-canonical spellings.
func FuzzParseHash(f *testing.F) {
	f.Add("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		xh, xerr := xtlog.ParseHash(s)
		switch {
		case err == nil && (xerr != nil || Hash(xh) != h || h.String() != s):
			t.Fatalf("ParseHash(%q) = %v; x/mod %v, %v", s, h, xh, xerr)
		case err != nil && xerr == nil && xh.String() == s:
			t.Fatalf("ParseHash rejects the canonical %q: %v", s, err)
		}
		var jh Hash
		js, _ := json.Marshal(s)
		if jerr := json.Unmarshal(js, &jh); (jerr == nil) != (err == nil) || jh != h {
			t.Fatalf("UnmarshalJSON(%s) = %v, %v; ParseHash %v", js, jh, jerr, err)
		}
	})
}

// FuzzStoredHashIndex checks StoredHashIndex against x/mod on every input
// (x/mod's arithmetic wraps; so must ours), and SplitStoredHashIndex as its
// inverse.
func FuzzStoredHashIndex(f *testing.F) {
	f.Add(0, int64(0), int64(0))
	f.Add(3, int64(5), int64(1<<63-2))
	f.Fuzz(func(t *testing.T, level int, n int64, index int64) {
		if level >= -300 && level <= 300 {
			if got, want := StoredHashIndex(level, n), xtlog.StoredHashIndex(level, n); got != want {
				t.Fatalf("StoredHashIndex(%d, %d) = %d, x/mod %d", level, n, got, want)
			}
		}
		l, m := SplitStoredHashIndex(index)
		if index < 0 {
			if l != -1 || m != -1 {
				t.Fatalf("SplitStoredHashIndex(%d) = %d, %d", index, l, m)
			}
			return
		}
		if StoredHashIndex(l, m) != index {
			t.Fatalf("SplitStoredHashIndex(%d) = %d, %d: not an inverse", index, l, m)
		}
		if index < 1<<50 {
			if xl, xm := xtlog.SplitStoredHashIndex(index); xl != l || xm != m {
				t.Fatalf("SplitStoredHashIndex(%d) = %d, %d; x/mod %d, %d", index, l, m, xl, xm)
			}
			if StoredHashCount(index) != xtlog.StoredHashCount(index) {
				t.Fatalf("StoredHashCount(%d) differs", index)
			}
		}
	})
}

// mutate changes p (a copy) as directed by the fuzzer's bytes.
func mutate(p []Hash, mut []byte) []Hash {
	q := append([]Hash(nil), p...)
	for len(mut) >= 3 {
		op, pos, bit := mut[0]%4, int(mut[1]), int(mut[2])
		mut = mut[3:]
		switch {
		case op == 0 && len(q) > 0:
			q[pos%len(q)][bit/8%HashSize] ^= 1 << (bit % 8)
		case op == 1 && len(q) > 0:
			q = q[:len(q)-1]
		case op == 2:
			q = append(q, Hash{byte(bit)})
		case op == 3 && len(q) > 1:
			i := pos % (len(q) - 1)
			q[i], q[i+1] = q[i+1], q[i]
		}
	}
	return q
}

// fuzzTree returns a consistent virtual tree of size tsz in [1, 2^40] and
// indexes n, old below it.
func fuzzTree(seed, tsz, n uint64) (v *vtree, T, N int64) {
	tsz = tsz%(1<<40) + 1
	n %= tsz
	rng := rand.New(rand.NewPCG(seed, tsz))
	return newVtree(rng, n, tsz-1, n+1, rng.Uint64N(tsz)), int64(tsz), int64(n)
}

// FuzzCheckRecord proves a record with both libraries, checks the proof,
// then mutates it and the question and requires the same decision from
// both, and a rejection whenever the proof changed.
func FuzzCheckRecord(f *testing.F) {
	f.Add(uint64(1), uint64(7), uint64(3), int64(0), []byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, seed, tsz, n uint64, dn int64, mut []byte) {
		v, T, N := fuzzTree(seed, tsz, n)
		th, leaf := v.mth(0, uint64(T)), v.leaf(uint64(N))
		p, err := ProveRecord(T, N, v)
		xp, xerr := xtlog.ProveRecord(T, N, v.x())
		if err != nil || xerr != nil || !equalHashes(p, xp) {
			t.Fatalf("ProveRecord(%d, %d) differs: %v %v", T, N, err, xerr)
		}
		if !checkRecordBoth(t, p, T, th, N, leaf) {
			t.Fatalf("CheckRecord(%d, %d) rejects a valid proof", T, N)
		}
		q := mutate(p, mut)
		changed := len(q) != len(p)
		for i := range min(len(p), len(q)) {
			changed = changed || q[i] != p[i]
		}
		ok := checkRecordBoth(t, q, T, th, N+dn%4, leaf)
		if ok && changed {
			t.Fatalf("CheckRecord(%d, %d) accepts a mutated proof", T, N+dn%4)
		}
	})
}

// FuzzCheckTree does the same for consistency proofs.
func FuzzCheckTree(f *testing.F) {
	f.Add(uint64(1), uint64(7), uint64(3), int64(0), []byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, seed, tsz, n uint64, dn int64, mut []byte) {
		v, T, N := fuzzTree(seed, tsz, n)
		N++ // 1 <= N <= T
		th, oh := v.mth(0, uint64(T)), v.mth(0, uint64(N))
		p, err := ProveTree(T, N, v)
		xp, xerr := xtlog.ProveTree(T, N, v.x())
		if err != nil || xerr != nil || !equalHashes(p, xp) {
			t.Fatalf("ProveTree(%d, %d) differs: %v %v", T, N, err, xerr)
		}
		if !checkTreeBoth(t, p, T, th, N, oh) {
			t.Fatalf("CheckTree(%d, %d) rejects a valid proof", T, N)
		}
		q := mutate(p, mut)
		changed := len(q) != len(p)
		for i := range min(len(p), len(q)) {
			changed = changed || q[i] != p[i]
		}
		ok := checkTreeBoth(t, q, T, th, N+dn%4, oh)
		if ok && changed {
			t.Fatalf("CheckTree(%d, %d) accepts a mutated proof", T, N+dn%4)
		}
	})
}

// FuzzAppender resumes an Appender at a size of the shared x/mod-built log
// and appends the rest in batches cut where the fuzzer says, comparing
// every stored hash and tree hash with x/mod's.
func FuzzAppender(f *testing.F) {
	f.Add(uint16(0), []byte{1, 2, 3, 200}, false)
	f.Fuzz(func(t *testing.T, n0 uint16, cuts []byte, parallel bool) {
		m, th := smallLog()
		n := int64(n0) % (exhaustiveN + 1)
		a, err := NewAppender(n, m)
		if err != nil {
			t.Fatal(err)
		}
		if parallel {
			a.minParallel = 1
		}
		for _, c := range cuts {
			k := min(exhaustiveN-n, int64(c))
			leaves := make([]Hash, k)
			for i := range leaves {
				leaves[i] = m[StoredHashIndex(0, n+int64(i))]
			}
			start, hashes, err := a.AppendHashes(leaves)
			if err != nil || start != StoredHashCount(n) || int64(len(hashes)) != StoredHashCount(n+k)-start {
				t.Fatalf("AppendHashes(%d at %d): %d, %d hashes, %v", k, n, start, len(hashes), err)
			}
			for i, h := range hashes {
				if h != m[start+int64(i)] {
					t.Fatalf("AppendHashes(%d at %d): hash %d differs", k, n, i)
				}
			}
			n += k
			if a.TreeHash() != th[n] {
				t.Fatalf("TreeHash(%d) differs", n)
			}
		}
	})
}

// FuzzBatchHashes cuts the input into records and compares the batch
// hashes with x/mod's one-at-a-time RecordHash and NodeHash.
func FuzzBatchHashes(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), byte('\n'))
	f.Fuzz(func(t *testing.T, data []byte, sep byte) {
		recs := bytes.Split(data, []byte{sep})
		leaves := AppendRecordHashes(nil, recs)
		if len(leaves) != len(recs) {
			t.Fatalf("%d records, %d hashes", len(recs), len(leaves))
		}
		for i, r := range recs {
			if leaves[i] != Hash(xtlog.RecordHash(r)) || leaves[i] != RecordHash(r) {
				t.Fatalf("record %d (%q): hash differs", i, r)
			}
		}
		nodes := AppendNodeHashes(leaves[:1:1], leaves)
		if len(nodes) != 1+len(leaves)/2 {
			t.Fatalf("%d hashes, %d nodes", len(leaves), len(nodes)-1)
		}
		for i := range nodes[1:] {
			if nodes[1+i] != Hash(xtlog.NodeHash(xtlog.Hash(leaves[2*i]), xtlog.Hash(leaves[2*i+1]))) {
				t.Fatalf("node %d differs", i)
			}
		}
	})
}
