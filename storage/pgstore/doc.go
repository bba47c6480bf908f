// Package pgstore is a [storage.Backend] on PostgreSQL, through pgx, for
// logs served by more than one process: one writer that sequences and
// signs, hot standbys that take over when it dies, and read-only replicas,
// all on one database, which may hold many logs.
//
// # Tables
//
// Open creates the tables if they are missing (in one transaction, with
// CREATE TABLE IF NOT EXISTS) and refuses a database whose schema version
// is newer than [SchemaVersion]:
//
//	tlogkit_schema (id INT PRIMARY KEY, version INT NOT NULL)
//	    one row: the schema version.
//	tlogkit_kv (log TEXT, k BYTEA, v BYTEA, PRIMARY KEY (log, k))
//	    the storage.Backend's keys and values, per log: its primary key
//	    orders a log's keys bytewise, as storage requires.
//	tlogkit_lease (log TEXT PRIMARY KEY, holder TEXT, epoch BIGINT, expires TIMESTAMPTZ)
//	    who writes each log, until when.
//
// A log is named by Options.Log (its rows are keyed by it), so one
// database, and one process, holds any number of logs.
//
// # One writer
//
// A writable Store takes the log's lease at Open: it inserts the lease
// row, or takes over an expired one, raising its epoch by one. It renews
// the lease every third of Options.Lease. Every Commit is one transaction
// (sent as one pipelined batch of statements) that
//
//   - extends the lease with an UPDATE conditioned on this Store's epoch,
//     which also locks the lease row until the transaction ends, so that
//     commits of two writers on one log never run at once;
//   - reads the stored checkpoint and requires it to be the one this
//     Store read at Open or last committed (a compare-and-swap on the
//     checkpoint, the fence);
//   - writes the batch (DELETE … = ANY, INSERT … unnest … ON CONFLICT DO
//     UPDATE).
//
// If the lease is no longer this Store's, or the checkpoint is not the
// fence, the transaction is rolled back and Commit fails with an error
// wrapping [ErrFenced], as does every later Commit: a storage.Log on it
// fail-stops. So a writer that was paused, partitioned or slow past its
// lease can never commit after another took the log over, and the log
// never forks. A serialization failure (SQLSTATE 40001) is retried.
//
// With Options.Wait, Open waits for a held lease to expire and then takes
// the log over: a hot standby, which then reads the right edge from the
// database and checks it against the signed checkpoint (storage.Open)
// before it appends. Close releases the lease, so a standby takes over at
// once after a clean shutdown, and within about Options.Lease (plus a
// tenth of it, its polling interval) after a crash. A writer paused in
// the middle of a transaction would hold the lease row's lock past its
// lease and keep a standby waiting for ever; so a writer's sessions set
// idle_in_transaction_session_timeout to the lease, and the server ends
// such a session (its transaction rolled back), letting the standby in
// within about two leases. The resumed writer's next Commit then fails
// with an error wrapping ErrFenced once it sees the new epoch.
//
// # Replicas
//
// A Store opened with Options.ReadOnly takes no lease and refuses
// commits; open a storage.Log on it with storage.Options.ReadOnly, which
// follows the writer's checkpoints (see storage.Log.Refresh). Scan reads
// from one REPEATABLE READ snapshot.
//
// # Databases
//
// The tests run against PostgreSQL (15 here; the package's own test
// helper, pgtest, starts a throwaway server from the installed binaries).
// The SQL keeps to what CockroachDB and YugabyteDB also document (row
// locks taken by UPDATE, INSERT … ON CONFLICT, unnest of arrays, retry on
// 40001), but no test runs against them, so no claim is made for them.
package pgstore
