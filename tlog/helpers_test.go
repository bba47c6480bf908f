package tlog

import (
	"fmt"
	"testing"

	xtlog "golang.org/x/mod/sumdb/tlog"
)

// memLog holds every stored hash of a log, in stored-hash order.
type memLog []Hash

// ReadHashes implements HashReader.
func (m memLog) ReadHashes(indexes []int64) ([]Hash, error) {
	out := make([]Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("memLog: index %d out of range [0, %d)", x, len(m))
		}
		out[i] = m[x]
	}
	return out, nil
}

// x returns m as an x/mod HashReader.
func (m memLog) x() xtlog.HashReader {
	return xtlog.HashReaderFunc(func(indexes []int64) ([]xtlog.Hash, error) {
		h, err := m.ReadHashes(indexes)
		return toX(h), err
	})
}

func toX(h []Hash) []xtlog.Hash {
	if h == nil {
		return nil
	}
	out := make([]xtlog.Hash, len(h))
	for i := range h {
		out[i] = xtlog.Hash(h[i])
	}
	return out
}

func fromX(h []xtlog.Hash) []Hash {
	if h == nil {
		return nil
	}
	out := make([]Hash, len(h))
	for i := range h {
		out[i] = Hash(h[i])
	}
	return out
}

// testRecord is the content of record i of the test logs.
func testRecord(i int64) []byte {
	return fmt.Appendf(nil, "example.com/mod%d v1.%d.0 h1:%044d\nexample.com/mod%d v1.%d.0/go.mod h1:%044d\n", i, i%7, i, i, i%7, i)
}

// buildXmod builds the log of records 0..n-1 with x/mod's StoredHashes.
func buildXmod(t testing.TB, n int64) memLog {
	var m memLog
	for i := int64(0); i < n; i++ {
		h, err := xtlog.StoredHashes(i, testRecord(i), m.x())
		if err != nil {
			t.Fatal(err)
		}
		m = append(m, fromX(h)...)
	}
	return m
}

func equalHashes(a []Hash, b []xtlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != Hash(b[i]) {
			return false
		}
	}
	return true
}

// flip returns a copy of p with one bit flipped in element i.
func flip(p []Hash, i, bit int) []Hash {
	q := append([]Hash(nil), p...)
	q[i][bit/8%HashSize] ^= 1 << (bit % 8)
	return q
}
