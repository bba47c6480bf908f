// Package note signs and verifies signed notes, the texts that transparency
// logs publish their tree heads in, and parses the tree heads themselves
// (checkpoints).
//
// It is compatible with golang.org/x/mod/sumdb/note, the format of the Go
// checksum database (sum.golang.org), and follows the C2SP specifications
// c2sp.org/signed-note, c2sp.org/tlog-checkpoint and
// c2sp.org/tlog-cosignature. It uses only the standard library and
// [github.com/tlogkit/tlogkit/tlog].
//
// # Signed notes
//
// A signed note is a text followed by a blank line and one or more
// signature lines:
//
//	go.sum database tree                          ┐
//	66398721                                      │ text: the signed bytes,
//	5oXTdOltbW8oy+WAHSPYkUE7FskIY/5ZJCYGy+buJ3g=  ┘ ending in a newline
//	                                                blank line
//	— sum.golang.org Az3grkwAPWdf0j0Q…iyB8t4v4WQU=   signature line(s)
//
// A signature line is an em dash (U+2014), a space, the key name, a space,
// and the standard base64 encoding of the 4-byte big-endian key hash
// followed by the signature bytes. The whole note must be valid UTF-8
// without ASCII control characters other than newline; the text may itself
// contain blank lines, because it ends at the last blank line.
//
// [Open] parses a note and checks its signatures against the keys the
// caller trusts ([Verifiers], usually a [VerifierList]). Signatures by
// unknown keys are ignored (kept in Note.UnverifiedSigs); a signature by a
// known key that does not verify rejects the whole note
// ([InvalidSignatureError]); a note without any verified signature is
// rejected ([UnverifiedNoteError]). Only the text of a note that Open
// returned without error may be trusted. [Sign] writes a note.
//
// Limits: Open rejects notes larger than [MaxNoteSize] (1 MiB) and notes
// with more than [MaxSignatures] (100) signature lines, counting unknown and
// repeated lines; C2SP requires accepting at least 16.
//
// # Keys
//
// A key has a name (non-empty UTF-8 without spaces or '+'; by convention
// a schema-less URL such as "example.com/log") and a 32-bit key hash, the
// first four bytes of SHA-256(name || "\n" || type || public key), where
// type is the signature type byte. Keys are written as text:
//
//	verifier key: <name>+<hash as 8 hex digits>+<base64(type || public key)>
//	signer key:   PRIVATE+KEY+<name>+<hash>+<base64(type || private seed)>
//
// for example sum.golang.org's verifier key
//
//	sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8
//
// Type 0x01 is Ed25519 over the note text ([GenerateKey], [NewSigner],
// [NewVerifier], [NewEd25519VerifierKey]). The signer key is a secret.
//
// # Cosignatures
//
// Type 0x04 is a timestamped Ed25519 cosignature (c2sp.org/tlog-cosignature),
// made by witnesses to state that, at a given time, this checkpoint was the
// largest consistent one they had seen of the log. The signed message is
//
//	cosignature/v1
//	time <POSIX seconds>
//	<checkpoint text>
//
// and the signature in the note is the 8-byte big-endian timestamp followed
// by the 64-byte Ed25519 signature. [GenerateCosignerKey], [NewCosigner]
// (a [Signer]) and [NewCosignatureVerifier] (a [Verifier], to use in a
// VerifierList beside the log's own key) handle them; [CosignatureTimestamp]
// reads the time from a verified signature.
//
// # Checkpoints
//
// A checkpoint (c2sp.org/tlog-checkpoint) is a note text of the form
//
//	<origin>
//	<tree size in decimal>
//	<base64 root hash>
//	[extension lines]
//
// [ParseCheckpoint] accepts only the canonical form that
// [Checkpoint.Format] writes, so Format(Parse(x)) == x. The Go checksum
// database's tree head is a checkpoint with origin [SumDBOrigin]
// ("go.sum database tree"); [FormatTree] and [ParseTree] are the x/mod
// compatible functions for it. [OpenCheckpoint] opens a note and parses its
// checkpoint in one step.
//
// # Records
//
// [FormatRecord] and [ParseRecord] read and write the record format of the
// checksum database's lookup responses: the record id in decimal on one
// line, the record text (lines without control characters, no blank line),
// then a blank line.
//
// # Differences from golang.org/x/mod/sumdb/note and sumdb/tlog
//
// Notes signed by either package open with the other (up to MaxNoteSize),
// and both give the same result for the same input, except for these
// rejections: Open rejects notes over MaxNoteSize, a
// known key's signature in non-canonical base64, and a second, different
// signature line of a known key that does not verify (x/mod ignores it);
// Sign refuses to write a note that Open would reject; key generation
// refuses invalid names; ParseRecord and FormatRecord refuse ids that are
// not canonical decimal in [0, 2^63) and record texts over MaxRecordSize.
// Errors are sentinel values (check them with errors.Is) or the same typed
// errors as x/mod, which also match sentinels: [UnknownVerifierError]
// matches [ErrUnknownKey], [UnverifiedNoteError] [ErrUnverifiedNote] and
// [InvalidSignatureError] [ErrInvalidSignature].
//
// # Example
//
// A log signs its checkpoint, and a client that trusts the log's key opens
// it:
//
//	skey, vkey, err := note.GenerateKey(rand.Reader, "example.com/log")
//	signer, err := note.NewSigner(skey)
//	text, err := note.Checkpoint{Origin: "example.com/log", N: 5, Hash: root}.Format()
//	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
//
//	verifier, err := note.NewVerifier(vkey)
//	cp, n, err := note.OpenCheckpoint(msg, "example.com/log", note.VerifierList(verifier))
//	// cp.N == 5, cp.Hash == root, n.Sigs[0].Name == "example.com/log"
//
// See the package examples for runnable versions.
package note
