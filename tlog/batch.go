package tlog

import (
	"runtime"
	"sync"
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
// n >= minPar and GOMAXPROCS > 1, once per goroutine on one range each.
func parallel(n, minPar int, fn func(lo, hi int)) {
	if !useParallel(n, minPar) {
		fn(0, n)
		return
	}
	workers := min(runtime.GOMAXPROCS(0), max(1, n/(minPar/4)))
	var wg sync.WaitGroup
	step := (n + workers - 1) / workers
	for lo := step; lo < n; lo += step {
		wg.Go(func() { fn(lo, min(lo+step, n)) })
	}
	fn(0, min(step, n))
	wg.Wait()
}
