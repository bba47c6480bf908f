package sumdbclient

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/tlogkit/tlogkit/tlog"
)

// A SecurityError is proof that the database misbehaved: two tree heads,
// both signed by its key, that cannot both be true, like the go command's
// "SECURITY ERROR".
//
// Older and Newer are the signed tree heads (Older.Tree.N <=
// Newer.Tree.N). HashInNewer is the hash that Newer's tree gives for its
// first Older.Tree.N records, and Proof proves that (tlog.CheckTree(Proof,
// Newer.Tree.N, Newer.Tree.Hash, Older.Tree.N, HashInNewer) succeeds),
// while HashInNewer != Older.Tree.Hash. For two trees of the same size,
// the two notes alone are the proof and Proof is empty.
type SecurityError struct {
	Older, Newer TreeHead
	HashInNewer  tlog.Hash
	Proof        tlog.TreeProof
}

// Error returns a report that a third party can check without asking the
// server again.
func (e *SecurityError) Error() string {
	var b strings.Builder
	indent := func(msg []byte) string {
		return string(bytes.ReplaceAll(bytes.TrimSuffix(msg, []byte("\n")), []byte("\n"), []byte("\n\t")))
	}
	fmt.Fprintf(&b, "sumdbclient: SECURITY ERROR\ngo.sum database server misbehavior detected!\n\n")
	fmt.Fprintf(&b, "old database:\n\t%s\n\n", indent(e.Older.Note))
	fmt.Fprintf(&b, "new database:\n\t%s\n\n", indent(e.Newer.Note))
	fmt.Fprintf(&b, "proof of misbehavior:\n\ttree %d in tree %d hashes to %v, not %v", e.Older.Tree.N, e.Newer.Tree.N, e.HashInNewer, e.Older.Tree.Hash)
	for _, h := range e.Proof {
		fmt.Fprintf(&b, "\n\t%v", h)
	}
	return b.String()
}

// Unwrap returns ErrSecurity.
func (e *SecurityError) Unwrap() error { return ErrSecurity }

// Verify checks that e really proves misbehaviour, given the database's
// trees as the caller authenticated them from the notes: it reports
// whether Proof links HashInNewer to Newer and HashInNewer differs from
// Older's hash.
func (e *SecurityError) Verify() bool {
	if e.Older.Tree.N > e.Newer.Tree.N || e.HashInNewer == e.Older.Tree.Hash {
		return false
	}
	if e.Older.Tree.N == e.Newer.Tree.N {
		return e.HashInNewer == e.Newer.Tree.Hash
	}
	return tlog.CheckTree(e.Proof, e.Newer.Tree.N, e.Newer.Tree.Hash, e.Older.Tree.N, e.HashInNewer) == nil
}

// A LookupError is the error of a failed [Client.Lookup]. Err tells why;
// errors.Is and errors.As see through it.
type LookupError struct {
	Module, Version string
	Err             error
}

func (e *LookupError) Error() string {
	return "sumdbclient: lookup " + e.Module + "@" + e.Version + ": " + strings.TrimPrefix(e.Err.Error(), "sumdbclient: ")
}

// Unwrap returns e.Err.
func (e *LookupError) Unwrap() error { return e.Err }
