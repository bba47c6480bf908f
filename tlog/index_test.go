package tlog

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	xtlog "golang.org/x/mod/sumdb/tlog"
)

func TestStoredHashIndexMatchesXmod(t *testing.T) {
	for i := int64(0); i < 20000; i++ {
		l, n := SplitStoredHashIndex(i)
		xl, xn := xtlog.SplitStoredHashIndex(i)
		if l != xl || n != xn || StoredHashIndex(l, n) != i {
			t.Fatalf("SplitStoredHashIndex(%d) = %d, %d; x/mod %d, %d", i, l, n, xl, xn)
		}
		if StoredHashCount(i) != xtlog.StoredHashCount(i) {
			t.Fatalf("StoredHashCount(%d) differs", i)
		}
	}
	// Every (level, n) for small n, and odd arguments where x/mod's
	// arithmetic wraps: the results must be the same.
	rng := rand.New(rand.NewPCG(11, 12))
	levels := []int{-70, -64, -1, 0, 1, 2, 7, 8, 30, 61, 62, 63, 64, 65, 200}
	ns := []int64{-1 << 63, -5, -1, 0, 1, 2, 3, 1 << 20, 1<<61 - 1, 1 << 62, 1<<63 - 1}
	for range 200 {
		ns = append(ns, int64(rng.Uint64()))
	}
	for _, l := range levels {
		for _, n := range ns {
			if got, want := StoredHashIndex(l, n), xtlog.StoredHashIndex(l, n); got != want {
				t.Fatalf("StoredHashIndex(%d, %d) = %d, x/mod %d", l, n, got, want)
			}
		}
	}
	for l := 0; l < 63; l++ {
		for n := int64(0); n < 300; n++ {
			if n<<uint(l) >= maxStoredTreeSize {
				break
			}
			if got, want := StoredHashIndex(l, n), xtlog.StoredHashIndex(l, n); got != want {
				t.Fatalf("StoredHashIndex(%d, %d) = %d, x/mod %d", l, n, got, want)
			}
		}
	}
}

// TestStoredHashIndexLarge covers indexes up to the largest, 2^63-2, where
// naive arithmetic overflows.
func TestStoredHashIndexLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	idx := []int64{1<<63 - 1, 1<<63 - 2, 1<<63 - 3, 1<<63 - 64, 1 << 62, 1<<62 - 1}
	for range 5000 {
		idx = append(idx, int64(rng.Uint64()>>1))
	}
	for _, i := range idx {
		l, n := SplitStoredHashIndex(i)
		if l < 0 || l > 63 || n < 0 || StoredHashIndex(l, n) != i {
			t.Fatalf("SplitStoredHashIndex(%d) = %d, %d; back: %d", i, l, n, StoredHashIndex(l, n))
		}
		if i < 1<<40 {
			xl, xn := xtlog.SplitStoredHashIndex(i)
			if l != xl || n != xn {
				t.Fatalf("SplitStoredHashIndex(%d) = %d, %d; x/mod %d, %d", i, l, n, xl, xn)
			}
		}
	}
	if got := StoredHashCount(maxStoredTreeSize); got != 1<<63-1 {
		t.Fatalf("StoredHashCount(2^62) = %d", got)
	}
	if l, n := SplitStoredHashIndex(1<<63 - 2); l != 62 || n != 0 {
		t.Fatalf("the last stored hash of a 2^62 tree is (%d, %d), want (62, 0)", l, n)
	}
	for _, i := range []int64{-1, -2, -1 << 63} {
		if l, n := SplitStoredHashIndex(i); l != -1 || n != -1 {
			t.Fatalf("SplitStoredHashIndex(%d) = %d, %d", i, l, n)
		}
	}
	for _, n := range []int64{0, -1, -1 << 63} {
		if StoredHashCount(n) != 0 {
			t.Fatalf("StoredHashCount(%d) != 0", n)
		}
	}
}

func TestParseHash(t *testing.T) {
	h := RecordHash([]byte("hello"))
	s := h.String()
	got, err := ParseHash(s)
	if err != nil || got != h {
		t.Fatalf("ParseHash(%q) = %v, %v", s, got, err)
	}
	// Non-canonical forms that x/mod accepts: embedded newlines, nonzero
	// unused bits.
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", s[42])
	noncanon := []string{
		s[:20] + "\n" + s[20:],
		s[:20] + "\r\n" + s[20:],
		s[:42] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[last|1]) + "=",
	}
	for _, bad := range noncanon {
		if bad == s {
			continue
		}
		if _, err := xtlog.ParseHash(bad); err != nil {
			t.Fatalf("x/mod rejects %q: %v", bad, err)
		}
		if _, err := ParseHash(bad); !errors.Is(err, ErrMalformedHash) {
			t.Fatalf("ParseHash(%q) = %v, want ErrMalformedHash", bad, err)
		}
	}
	for _, bad := range []string{"", s[:43], s + "=", s[:43] + "A", s[:40] + "====", strings.Repeat("A", 44), "-" + s[1:], s[:43] + " "} {
		if _, err := ParseHash(bad); !errors.Is(err, ErrMalformedHash) {
			t.Fatalf("ParseHash(%q) = %v, want ErrMalformedHash", bad, err)
		}
	}
	// JSON.
	js, err := json.Marshal(h)
	if err != nil || string(js) != `"`+s+`"` {
		t.Fatalf("json.Marshal = %s, %v", js, err)
	}
	xjs, _ := json.Marshal(xtlog.Hash(h))
	if string(js) != string(xjs) {
		t.Fatalf("JSON differs from x/mod: %s vs %s", js, xjs)
	}
	var back Hash
	if err := json.Unmarshal(js, &back); err != nil || back != h {
		t.Fatalf("json.Unmarshal: %v", err)
	}
	back = Hash{7}
	for _, bad := range []string{`""`, `"` + s[:43] + `"`, `"` + noncanon[0] + `"`, `1`, `"` + s + `x"`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil || back != (Hash{7}) {
			t.Fatalf("json.Unmarshal(%s) = %v, changed hash %v", bad, err, back)
		}
	}
}

// badReader returns c hashes whatever it is asked, or an error.
func badReader(c int, err error) HashReader {
	return HashReaderFunc(func([]int64) ([]Hash, error) {
		if err != nil {
			return nil, err
		}
		return make([]Hash, c), nil
	})
}

func TestBadInputs(t *testing.T) {
	m, th := smallLog()
	inv := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, ErrInvalidInput) || !strings.HasPrefix(err.Error(), "tlog: ") {
			t.Errorf("%s: %v, want ErrInvalidInput", name, err)
		}
	}
	big := int64(1<<63 - 1)
	for _, c := range [][2]int64{{-1, 0}, {0, 0}, {5, 5}, {5, -1}, {5, 6}, {big, 0}, {maxStoredTreeSize + 1, 0}, {-1 << 63, -1 << 63}} {
		_, err := ProveRecord(c[0], c[1], m)
		inv("ProveRecord", err)
	}
	for _, c := range [][2]int64{{0, 0}, {5, 0}, {5, 6}, {-1, -1}, {5, -1}, {big, 1}, {maxStoredTreeSize + 1, 1}} {
		_, err := ProveTree(c[0], c[1], m)
		inv("ProveTree", err)
	}
	for _, n := range []int64{-1, maxStoredTreeSize + 1, big, -1 << 63} {
		_, err := TreeHash(n, m)
		inv("TreeHash", err)
		_, err = StoredHashes(n, nil, m)
		inv("StoredHashes", err)
		_, err = StoredHashesForRecordHash(n, Hash{}, m)
		inv("StoredHashesForRecordHash", err)
	}
	_, err := StoredHashes(maxStoredTreeSize, nil, m)
	inv("StoredHashes(2^62)", err)
	for _, c := range [][2]int64{{0, 0}, {-1, 0}, {5, 5}, {5, -1}, {big, big}, {-1 << 63, 0}} {
		inv("CheckRecord", CheckRecord(nil, c[0], Hash{}, c[1], Hash{}))
	}
	for _, c := range [][2]int64{{0, 0}, {5, 0}, {5, 6}, {-1, 1}, {big, 0}, {1, big}} {
		inv("CheckTree", CheckTree(nil, c[0], Hash{}, c[1], Hash{}))
	}
	// Readers that return the wrong number of hashes or fail.
	boom := errors.New("boom")
	for _, r := range []HashReader{badReader(0, nil), badReader(1, nil), badReader(100, nil), badReader(0, boom)} {
		for name, err := range map[string]error{
			"TreeHash":     second(TreeHash(300, r)),
			"ProveRecord":  second(ProveRecord(300, 17, r)),
			"ProveTree":    second(ProveTree(300, 17, r)),
			"StoredHashes": second(StoredHashes(255, nil, r)),
			"NewAppender":  second(NewAppender(300, r)),
		} {
			if !errors.Is(err, ErrHashCount) && !errors.Is(err, boom) {
				t.Errorf("%s with a bad reader: %v", name, err)
			}
		}
	}
	// Proofs in a one-record tree need no reads at all.
	if p, err := ProveRecord(1, 0, badReader(0, boom)); err != nil || p == nil || len(p) != 0 {
		t.Errorf("ProveRecord(1, 0) = %v, %v", p, err)
	}
	if p, err := ProveTree(9, 9, badReader(0, boom)); err != nil || p == nil || len(p) != 0 {
		t.Errorf("ProveTree(9, 9) = %v, %v", p, err)
	}
	if err := CheckTree(nil, 9, th[9], 9, th[9]); err != nil {
		t.Errorf("CheckTree(9, 9): %v", err)
	}
	if err := CheckTree(TreeProof{th[9]}, 9, th[9], 9, th[9]); !errors.Is(err, ErrProofFailed) {
		t.Errorf("CheckTree(9, 9) with extra hash: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
