// Package sumdbserver serves a Go checksum database (the protocol of
// sum.golang.org, golang.org/x/mod/sumdb) over HTTP from a transparency log,
// and fills the log on demand from an upstream module proxy.
//
// # The idea
//
// A checksum database is a Merkle log whose records are the go.sum lines of
// module versions, one record per module version:
//
//	golang.org/x/text v0.3.0 h1:g61tztE5qeGQ89tm6NTjjM9VPIm088od1l6aSorWRWg=
//	golang.org/x/text v0.3.0/go.mod h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=
//
// The go command asks the database for the lines of a module version it
// downloads, checks them against what it downloaded, and checks with tiles
// of the hash tree that the record is in a signed tree consistent with every
// tree it saw before. A [Server] answers these requests from a [Log]; when a
// module version is not in the log yet, its [Source] (usually a [Proxy])
// downloads the module, computes the two lines exactly as the go command
// does, and the server logs them before it answers.
//
// # Wire format
//
// The server answers GET and HEAD (405 with Allow otherwise) for:
//
//	/latest                     signed tree head (a note), text/plain
//	/lookup/<path>@<version>    record id, record text, blank line, signed tree
//	                            head; path and version !-escaped as in GOPROXY
//	/tile/8/<L>/<N>[.p/<W>]     hash tile: W (256 if full) hashes of 32 bytes
//	/tile/8/data/<N>[.p/<W>]    data tile: each record text then a blank line
//
// and, with [Config].C2SP, the c2sp.org/tlog-tiles read paths of the same log:
//
//	/checkpoint                 the same signed tree head
//	/tile/<L>/<N>[.p/<W>]       the same hash tiles
//	/tile/entries/<N>[.p/<W>]   entry bundles: records with uint16 lengths
//
// N is written in three-digit groups, "x001/x234/067" for 1234067. The
// bytes of every 200 response are exactly those golang.org/x/mod/sumdb's
// Server writes for the same log (the tests compare them).
//
// HTTP behaviour: full tiles are immutable and served with a long
// Cache-Control ("immutable") and an ETag honoured in If-None-Match; /latest
// and /checkpoint are cacheable for 5 seconds, partial tiles and lookups for
// 60 seconds; errors are not cacheable. Malformed paths, bad !-escaping,
// invalid module paths and non-canonical versions are 400; a module version
// that does not exist upstream, a private module and a tile outside the
// published tree are 404; an upstream failure is 502. Parsing is bounded, so
// absurd numbers cost constant work, and bad input never yields a 500.
//
// # The go.sum source
//
// A lookup of a version the log does not hold calls [Source].GoSum once per
// module version however many clients ask at the same time (the others wait
// for the same result); failures are not remembered, so a later lookup
// tries again. [Proxy] fetches <path>/@v/<version>.mod and .zip from a
// GOPROXY-protocol URL (https://, http:// or file://), bounds their sizes
// (500 MiB and 16 MiB, the go command's limits), checks the zip with
// golang.org/x/mod/zip.CheckZip and hashes it with dirhash.Hash1, as the go
// command does. Module paths matching [Config].Private (GOPRIVATE syntax) are
// answered 404 without any fetch. The record is appended under the key
// "<path>@<version>" and the answer is written only after [Log].AppendKeyed
// has made it durable and published.
//
// # Example
//
//	s, err := sumdbserver.NewServer(sumdbserver.Config{
//		Log:    log, // e.g. sumdbserver.StorageLog(storageLog)
//		Source: proxy, // sumdbserver.NewProxy("https://proxy.golang.org")
//	})
//	...
//	http.ListenAndServe("127.0.0.1:8080", s)
//
// and then, for the go command:
//
//	GOSUMDB="<verifier key> http://127.0.0.1:8080" go mod download ...
//
// The program examples/sumdb does all of this with a pebble store.
package sumdbserver
