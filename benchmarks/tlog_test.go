package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"unsafe"

	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/tlogkit/tlogkit/tlog"
)

// The tlog benchmarks compare package tlog with golang.org/x/mod/sumdb/tlog
// on the same inputs. Readers of stored hashes are the same in-memory
// array for both, copying the requested hashes into a new slice, as a
// storage-backed reader would.

// benchRecord is a record of about the size of a go.sum record: 150 bytes,
// in an allocation of its own.
func benchRecord(i int) []byte {
	var buf [256]byte
	r := fmt.Appendf(buf[:0], "example.com/some/module%08d v1.2.%d h1:%s\n", i, i%100, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG=")
	for len(r) < 150 {
		r = append(r, 'x')
	}
	return append(make([]byte, 0, 150), r[:150]...)
}

// hashStore is the stored hashes of a log, readable by both libraries.
type hashStore []tlog.Hash

func (s hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = s[x]
	}
	return out, nil
}

// x views the store as x/mod hashes (the same [32]byte memory).
func (s hashStore) x() xStore {
	return unsafe.Slice((*xtlog.Hash)(unsafe.SliceData(s)), len(s))
}

type xStore []xtlog.Hash

func (s xStore) ReadHashes(indexes []int64) ([]xtlog.Hash, error) {
	out := make([]xtlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = s[x]
	}
	return out, nil
}

const bigN = 1000000

// bigLog is a log of bigN 150-byte records, built once.
var bigLog = sync.OnceValue(func() hashStore {
	recs := make([][]byte, bigN)
	for i := range recs {
		recs[i] = benchRecord(i)
	}
	var a tlog.Appender
	_, hashes, err := a.Append(recs)
	if err != nil {
		panic(err)
	}
	return hashStore(hashes)
})

func BenchmarkNodeHash(b *testing.B) {
	l, r := tlog.RecordHash([]byte("left")), tlog.RecordHash([]byte("right"))
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(65)
		h := l
		for b.Loop() {
			h = tlog.NodeHash(h, r)
		}
		_ = h
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(65)
		h, xr := xtlog.Hash(l), xtlog.Hash(r)
		for b.Loop() {
			h = xtlog.NodeHash(h, xr)
		}
		_ = h
	})
}

func BenchmarkRecordHash(b *testing.B) {
	rec := benchRecord(1)
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			h := tlog.RecordHash(rec)
			rec[0] = h[0]
		}
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			h := xtlog.RecordHash(rec)
			rec[0] = h[0]
		}
	})
}

// BenchmarkNodeHashes hashes one tree level of 1024 node pairs into the
// next (as when rebuilding a tile), reporting ns per 64-byte SHA-256 block
// (a node hash is two blocks).
func BenchmarkNodeHashes(b *testing.B) {
	const pairs = 1024
	level := make([]tlog.Hash, 2*pairs)
	for i := range level {
		level[i] = tlog.RecordHash(benchRecord(i))
	}
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(pairs * 65)
		dst := make([]tlog.Hash, 0, pairs)
		for b.Loop() {
			dst = tlog.AppendNodeHashes(dst[:0], level)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pairs*2), "ns/block")
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(pairs * 65)
		xl := hashStore(level).x()
		dst := make([]xtlog.Hash, pairs)
		for b.Loop() {
			for i := range dst {
				dst[i] = xtlog.NodeHash(xl[2*i], xl[2*i+1])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pairs*2), "ns/block")
	})
}

// BenchmarkAppend builds a log of 10^6 records of 150 bytes, computing and
// keeping all stored hashes: x/mod's StoredHashes loop, reading from the
// stored hashes, against an Appender fed batches of 65536 records. Run with
// -cpu 1,2 to see the batch path use the second core (BenchmarkAppendBatch
// has other batch sizes: batches well under a millisecond of work gain
// little from a second core, whose wake-up costs about 130µs on a VM).
func BenchmarkAppend(b *testing.B) {
	recs := make([][]byte, bigN)
	for i := range recs {
		recs[i] = benchRecord(i)
	}
	b.Run("impl=tlogkit", func(b *testing.B) {
		benchAppender(b, recs, 65536)
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(bigN * 150)
		for b.Loop() {
			log := make(xStore, 0, 2*bigN)
			for i, rec := range recs {
				h, err := xtlog.StoredHashes(int64(i), rec, log)
				if err != nil {
					b.Fatal(err)
				}
				log = append(log, h...)
			}
		}
		b.ReportMetric(float64(b.N*bigN)/b.Elapsed().Seconds(), "records/s")
	})
}

// BenchmarkAppendBatch is BenchmarkAppend's Appender for other batch sizes.
func BenchmarkAppendBatch(b *testing.B) {
	recs := make([][]byte, bigN)
	for i := range recs {
		recs[i] = benchRecord(i)
	}
	for _, batch := range []int{1, 256, 4096, 16384, bigN} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			benchAppender(b, recs, batch)
		})
	}
}

func benchAppender(b *testing.B, recs [][]byte, batch int) {
	b.ReportAllocs()
	b.SetBytes(int64(len(recs)) * 150)
	for b.Loop() {
		var a tlog.Appender
		kept := make([][]tlog.Hash, 0, len(recs)/batch+1)
		for i := 0; i < len(recs); i += batch {
			_, h, err := a.Append(recs[i:min(i+batch, len(recs))])
			if err != nil {
				b.Fatal(err)
			}
			kept = append(kept, h)
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}

// randomIndexes returns k pseudo-random record indexes below n.
func randomIndexes(k int, n int64) []int64 {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]int64, k)
	for i := range out {
		out[i] = rng.Int64N(n)
	}
	return out
}

func BenchmarkTreeHash(b *testing.B) {
	s := bigLog()
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tlog.TreeHash(bigN, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		xs := s.x()
		for b.Loop() {
			if _, err := xtlog.TreeHash(bigN, xs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkProveRecord(b *testing.B) {
	s := bigLog()
	idx := randomIndexes(1024, bigN)
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := tlog.ProveRecord(bigN, idx[i%len(idx)], s); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		xs := s.x()
		i := 0
		for b.Loop() {
			if _, err := xtlog.ProveRecord(bigN, idx[i%len(idx)], xs); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkCheckRecord(b *testing.B) {
	s := bigLog()
	idx := randomIndexes(1024, bigN)
	th, _ := tlog.TreeHash(bigN, s)
	proofs := make([]tlog.RecordProof, len(idx))
	xproofs := make([]xtlog.RecordProof, len(idx))
	for i, n := range idx {
		proofs[i], _ = tlog.ProveRecord(bigN, n, s)
		xproofs[i], _ = xtlog.ProveRecord(bigN, n, s.x())
	}
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := i % len(idx)
			if err := tlog.CheckRecord(proofs[k], bigN, th, idx[k], s[tlog.StoredHashIndex(0, idx[k])]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		xs := s.x()
		i := 0
		for b.Loop() {
			k := i % len(idx)
			if err := xtlog.CheckRecord(xproofs[k], bigN, xtlog.Hash(th), idx[k], xs[xtlog.StoredHashIndex(0, idx[k])]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkProveTree(b *testing.B) {
	s := bigLog()
	idx := randomIndexes(1024, bigN)
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := tlog.ProveTree(bigN, 1+idx[i%len(idx)], s); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		xs := s.x()
		i := 0
		for b.Loop() {
			if _, err := xtlog.ProveTree(bigN, 1+idx[i%len(idx)], xs); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkCheckTree(b *testing.B) {
	s := bigLog()
	idx := randomIndexes(1024, bigN)
	th, _ := tlog.TreeHash(bigN, s)
	olds := make([]tlog.Hash, len(idx))
	proofs := make([]tlog.TreeProof, len(idx))
	xproofs := make([]xtlog.TreeProof, len(idx))
	for i, n := range idx {
		olds[i], _ = tlog.TreeHash(n+1, s)
		proofs[i], _ = tlog.ProveTree(bigN, n+1, s)
		xproofs[i], _ = xtlog.ProveTree(bigN, n+1, s.x())
	}
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := i % len(idx)
			if err := tlog.CheckTree(proofs[k], bigN, th, idx[k]+1, olds[k]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := i % len(idx)
			if err := xtlog.CheckTree(xproofs[k], bigN, xtlog.Hash(th), idx[k]+1, xtlog.Hash(olds[k])); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkParseHash(b *testing.B) {
	s := tlog.RecordHash([]byte("x")).String()
	b.Run("impl=tlogkit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tlog.ParseHash(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := xtlog.ParseHash(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
