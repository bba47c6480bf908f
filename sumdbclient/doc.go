// Package sumdbclient is a verifying client for a Go checksum database
// (sum.golang.org and any server speaking its protocol), for use in a
// module proxy, an auditor or a CI job.
//
// Nothing the server says is trusted:
//
//   - A signed tree head (the note at /latest and at the end of every
//     /lookup response) is opened with the database's verifier key.
//   - The client keeps a timeline of tree heads. A new one must be
//     consistent with the latest: the client proves the older tree is a
//     prefix of the newer through tiles authenticated against the newer
//     tree (see tile.Verifier). If it is not, the client returns a
//     *[SecurityError] holding both signed notes and the proof, which a
//     third party can check without the server; the timeline does not move.
//   - [Client.Lookup] proves that the record in the /lookup response is
//     record number id of the latest tree, then returns go.sum lines taken
//     only from that record, and only if every line of the record names
//     the module version asked for and the line asked for is present.
//     Lines in the note, or anywhere else in the response, are never used.
//
// # Sources
//
// A [Source] is the server's URL space: an HTTP server ([NewHTTPSource])
// or a directory laid out the same way ([NewDirSource]), such as the go
// command's cache in $GOMODCACHE/cache/download/sumdb/sum.golang.org:
//
//	latest
//	lookup/<escaped module path>@<escaped version>
//	tile/8/<L>/<N>[.p/<W>]
//
// Responses are bounded in size ([Options.MaxBodySize]; tiles by their
// exact size) and time ([Options.Timeout]). A partial tile the source
// lacks is read as the prefix of the full tile, as the go command does.
//
// # Persistence
//
// With [Options.StateDir] set, the latest tree head is kept in
// StateDir/latest across runs. It is replaced atomically (temporary file,
// fsync, rename, fsync of the directory), so a crash leaves the old or
// the new tree head. A state file that does not verify is an error.
//
// # Example
//
//	src, _ := sumdbclient.NewSource("https://sum.golang.org")
//	c, err := sumdbclient.New(sumdbclient.Options{
//		Source:      src,
//		VerifierKey: "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
//		StateDir:    stateDir,
//	})
//	...
//	lines, err := c.Lookup(ctx, "rsc.io/quote", "v1.5.2")
//	// lines[0]: "rsc.io/quote v1.5.2 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y="
//	// lines[1]: "rsc.io/quote v1.5.2/go.mod h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0="
package sumdbclient
