package tlog

import (
	"fmt"
	"testing"
)

// Unit benchmarks of this package; the side-by-side comparisons with x/mod
// are in ../benchmarks.

func benchRecords(n, size int) [][]byte {
	recs := make([][]byte, n)
	for i := range recs {
		r := fmt.Appendf(nil, "example.com/mod%d v1.0.%d h1:", i, i)
		for len(r) < size {
			r = append(r, 'x')
		}
		recs[i] = r[:size]
	}
	return recs
}

func BenchmarkNodeHash(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(65)
	l, r := Hash{1}, Hash{2}
	for b.Loop() {
		l = NodeHash(l, r)
	}
}

func BenchmarkRecordHash(b *testing.B) {
	for _, size := range []int{64, 150, 1024} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			rec := benchRecords(1, size)[0]
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				h := RecordHash(rec)
				rec[0] = h[0]
			}
		})
	}
}

func BenchmarkAppendNodeHashes(b *testing.B) {
	for _, pairs := range []int{128, 1024, 65536} {
		b.Run(fmt.Sprintf("pairs=%d", pairs), func(b *testing.B) {
			level := AppendRecordHashes(nil, benchRecords(2*pairs, 100))
			dst := make([]Hash, 0, pairs)
			b.ReportAllocs()
			b.SetBytes(int64(pairs) * 65)
			for b.Loop() {
				dst = AppendNodeHashes(dst[:0], level)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pairs*2), "ns/block")
		})
	}
}

func BenchmarkAppendRecordHashes(b *testing.B) {
	for _, n := range []int{256, 65536} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			recs := benchRecords(n, 150)
			dst := make([]Hash, 0, n)
			b.ReportAllocs()
			b.SetBytes(int64(n) * 150)
			for b.Loop() {
				dst = AppendRecordHashes(dst[:0], recs)
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkAppender appends batches of 150-byte records to a tree of about
// a million records, keeping nothing.
func BenchmarkAppender(b *testing.B) {
	for _, batch := range []int{1, 16, 256, 1024, 2048, 4096, 16384, 65536} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			recs := benchRecords(batch, 150)
			a, err := NewAppender(1000003, HashReaderFunc(func(idx []int64) ([]Hash, error) {
				return make([]Hash, len(idx)), nil
			}))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(batch) * 150)
			for b.Loop() {
				if _, _, err := a.Append(recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func BenchmarkAppenderTreeHash(b *testing.B) {
	a := &Appender{}
	a.AppendHashes(make([]Hash, 1<<20-1))
	b.ReportAllocs()
	for b.Loop() {
		_ = a.TreeHash()
	}
}

func BenchmarkCheckRecord(b *testing.B) {
	m, th := smallLog()
	p, _ := ProveRecord(exhaustiveN, 300, m)
	leaf := m[StoredHashIndex(0, 300)]
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckRecord(p, exhaustiveN, th[exhaustiveN], 300, leaf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckTree(b *testing.B) {
	m, th := smallLog()
	p, _ := ProveTree(exhaustiveN-1, 300, m)
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckTree(p, exhaustiveN-1, th[exhaustiveN-1], 300, th[300]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitStoredHashIndex(b *testing.B) {
	b.ReportAllocs()
	var s int64
	for i := int64(0); b.Loop(); i++ {
		l, n := SplitStoredHashIndex(i * 7919)
		s += int64(l) + n
	}
	_ = s
}

func BenchmarkParseHash(b *testing.B) {
	s := RecordHash(nil).String()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseHash(s); err != nil {
			b.Fatal(err)
		}
	}
}
