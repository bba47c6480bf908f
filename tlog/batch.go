package tlog

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// minParallelHashes is the smallest number of hashes that the batch
// functions split over several goroutines.
const minParallelHashes = 4096

// AppendRecordHashes appends RecordHash(records[i]) for every record to dst
// and returns the extended slice. It interleaves independent hashes where
// the CPU allows and, for large batches, spreads them over GOMAXPROCS
// goroutines.
func AppendRecordHashes(dst []Hash, records [][]byte) []Hash {
	dst, out := grow(dst, len(records))
	if !useParallel(len(out), minParallelHashes) {
		leafHashes(out, records)
		return dst
	}
	parallel(len(out), minParallelHashes, func(lo, hi int) {
		leafHashes(out[lo:hi], records[lo:hi])
	})
	return dst
}

// AppendNodeHashes appends NodeHash(level[2i], level[2i+1]) for every pair
// of level to dst and returns the extended slice: given the hashes of
// consecutive nodes at one level of the tree, starting with a left child,
// it computes their parents, the next level up. A trailing odd hash has no
// sibling and no complete parent, so it is ignored. Like
// [AppendRecordHashes], it interleaves and parallelises.
func AppendNodeHashes(dst []Hash, level []Hash) []Hash {
	dst, out := grow(dst, len(level)/2)
	if !useParallel(len(out), minParallelHashes) {
		nodeHashes(out, level)
		return dst
	}
	parallel(len(out), minParallelHashes, func(lo, hi int) {
		nodeHashes(out[lo:hi], level[2*lo:2*hi])
	})
	return dst
}

// grow extends dst by n elements and returns it and the new elements.
func grow(dst []Hash, n int) (all, added []Hash) {
	dst = append(dst, make([]Hash, n)...)
	return dst, dst[len(dst)-n:]
}

// useParallel reports whether n hashes are worth spreading over goroutines.
func useParallel(n, minPar int) bool {
	return n >= minPar && runtime.GOMAXPROCS(0) > 1
}

// parallel calls fn on consecutive ranges covering [0, n): once, or, when
// useParallel(n, minPar), on pieces of about minPar/4 elements that
// GOMAXPROCS goroutines take in turn, so that a goroutine held up by the
// scheduler delays the others by at most one piece.
func parallel(n, minPar int, fn func(lo, hi int)) {
	if !useParallel(n, minPar) {
		fn(0, n)
		return
	}
	piece := max(1, minPar/4)
	pieces := (n + piece - 1) / piece
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= pieces {
				return
			}
			fn(i*piece, min((i+1)*piece, n))
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), pieces) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
