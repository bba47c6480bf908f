// Package benchmarks holds side-by-side measurements of tlogkit against
// golang.org/x/mod/sumdb: the same operation on the same input, in one run,
// so that ratios are meaningful on a shared, noisy machine.
//
// Run them with
//
//	go test ./benchmarks -run '^$' -bench . -count 5 | tee bench.txt
//	benchstat bench.txt
package benchmarks
