package sha256x

import (
	"crypto/sha256"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

var sinkHash [32]byte

// BenchmarkNode compares one interior-node hash: this package, x/mod's
// tlog.NodeHash, and crypto/sha256 on a ready 65-byte buffer.
func BenchmarkNode(b *testing.B) {
	var left, right [32]byte
	for i := range left {
		left[i], right[i] = byte(i), byte(3*i)
	}
	b.Run("impl=sha256x", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(65)
		for b.Loop() {
			sinkHash = Node(&left, &right)
		}
	})
	if useAsm {
		b.Run("impl=sha256x-generic", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(65)
			for b.Loop() {
				sinkHash = nodeGeneric(&left, &right)
			}
		})
	}
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(65)
		for b.Loop() {
			sinkHash = tlog.NodeHash(left, right)
		}
	})
	b.Run("impl=stdlib", func(b *testing.B) {
		var buf [65]byte
		buf[0] = 0x01
		copy(buf[1:], left[:])
		copy(buf[33:], right[:])
		b.ReportAllocs()
		b.SetBytes(65)
		for b.Loop() {
			sinkHash = sha256.Sum256(buf[:])
		}
	})
}

// BenchmarkLeaf150 compares the leaf hash of a 150-byte record (about the
// size of a go.sum record pair) with x/mod's tlog.RecordHash.
func BenchmarkLeaf150(b *testing.B) {
	data := make([]byte, 150)
	for i := range data {
		data[i] = byte(i)
	}
	b.Run("impl=sha256x", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			sinkHash = Leaf(data)
		}
	})
	if useAsm {
		b.Run("impl=sha256x-generic", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				sinkHash = leafGeneric(data)
			}
		})
	}
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			sinkHash = tlog.RecordHash(data)
		}
	})
	b.Run("impl=stdlib", func(b *testing.B) {
		buf := append([]byte{0x00}, data...)
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			sinkHash = sha256.Sum256(buf)
		}
	})
}

const batch = 1024

// BenchmarkNodes hashes one tree level of 2048 hashes into 1024 nodes.
func BenchmarkNodes(b *testing.B) {
	src := make([][32]byte, 2*batch)
	for i := range src {
		src[i][0], src[i][1] = byte(i), byte(i>>8)
	}
	dst := make([][32]byte, batch)
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/batch, "ns/node")
	}
	b.Run("impl=sha256x", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(65 * batch)
		for b.Loop() {
			Nodes(dst, src)
		}
		report(b)
	})
	if useAsm {
		b.Run("impl=sha256x-loop", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(65 * batch)
			for b.Loop() {
				for i := range dst {
					dst[i] = Node(&src[2*i], &src[2*i+1])
				}
			}
			report(b)
		})
	}
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(65 * batch)
		for b.Loop() {
			for i := range dst {
				dst[i] = tlog.NodeHash(src[2*i], src[2*i+1])
			}
		}
		report(b)
	})
}

// BenchmarkLeaves hashes 1024 records of 150 bytes.
func BenchmarkLeaves(b *testing.B) {
	data := make([][]byte, batch)
	for i := range data {
		data[i] = make([]byte, 150)
		data[i][0], data[i][1] = byte(i), byte(i>>8)
	}
	dst := make([][32]byte, batch)
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/batch, "ns/leaf")
	}
	b.Run("impl=sha256x", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(150 * batch)
		for b.Loop() {
			Leaves(dst, data)
		}
		report(b)
	})
	if useAsm {
		b.Run("impl=sha256x-loop", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(150 * batch)
			for b.Loop() {
				for i := range dst {
					dst[i] = Leaf(data[i])
				}
			}
			report(b)
		})
	}
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(150 * batch)
		for b.Loop() {
			for i := range dst {
				dst[i] = tlog.RecordHash(data[i])
			}
		}
		report(b)
	})
}

// BenchmarkLeavesMixed hashes 1024 records of varied lengths (100 to 299
// bytes, like go.sum record pairs of different module paths), where
// records of the same shape are not neighbours.
func BenchmarkLeavesMixed(b *testing.B) {
	data := make([][]byte, batch)
	for i := range data {
		data[i] = make([]byte, 100+(i*37)%200)
		data[i][0] = byte(i)
	}
	var total int64
	for _, d := range data {
		total += int64(len(d))
	}
	dst := make([][32]byte, batch)
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/batch, "ns/leaf")
	}
	b.Run("impl=sha256x", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(total)
		for b.Loop() {
			Leaves(dst, data)
		}
		report(b)
	})
	b.Run("impl=xmod", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(total)
		for b.Loop() {
			for i := range dst {
				dst[i] = tlog.RecordHash(data[i])
			}
		}
		report(b)
	})
}
