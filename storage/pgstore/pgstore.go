package pgstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tlogkit/tlogkit/storage"
)

// SchemaVersion is the version of the tables this package creates and
// uses. Open refuses a database whose schema is newer.
const SchemaVersion = 1

// Defaults of Options.
const (
	DefaultLog   = "default"
	DefaultLease = 10 * time.Second
)

// ErrFenced: this writer lost its lease (another process took the log
// over, or the stored checkpoint is not the one it last committed); the
// commit was not applied, and none will be.
var ErrFenced = errors.New("pgstore: fenced: another writer holds the log")

// Options configure Open. The zero value of every field is a documented
// default.
type Options struct {
	// Log names the log within the database (its rows are keyed by it),
	// so that one database holds many logs. Default DefaultLog.
	Log string
	// Lease is how long the writer's lease lasts without renewal; it is
	// renewed every Lease/3 and by every commit. A standby takes the log
	// over within about Lease after the writer dies. Default DefaultLease.
	Lease time.Duration
	// Wait makes Open wait (until ctx ends) for a lease held by another
	// writer to expire, and then take the log over: a hot standby.
	// Without it, Open fails at once with an error wrapping
	// storage.ErrLocked.
	Wait bool
	// Holder names this writer in the lease table (default: host name,
	// process id and a random suffix).
	Holder string
	// MaxConns bounds the connection pool (default 8).
	MaxConns int32
	// ReadOnly opens the log for reading only, without a lease: Commit
	// fails, and any number of read-only Stores may serve the log beside
	// its writer (open the storage.Log with Options.ReadOnly).
	ReadOnly bool
}

// A Store is a storage.Backend (and storage.MultiGetter) on PostgreSQL.
// One Store per log holds the log's lease while open: it is the log's
// only writer.
type Store struct {
	pool     *pgxpool.Pool
	readOnly bool
	log      string
	holder   string
	lease    time.Duration
	epoch    int64

	mu     sync.RWMutex // guards closed (shared by operations)
	closed bool

	cmu      sync.Mutex // serializes commits, guards fence and fenced
	fence    []byte     // the stored checkpoint as this writer last read or wrote it (nil: none)
	fenced   error
	stopRenw chan struct{}
	renewed  sync.WaitGroup
}

// Open connects to the database at url (a PostgreSQL connection string
// or URL), creates or checks the schema, and takes the log's lease.
func Open(ctx context.Context, url string, o *Options) (*Store, error) {
	var opts Options
	if o != nil {
		opts = *o
	}
	if opts.Log == "" {
		opts.Log = DefaultLog
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Holder == "" {
		host, _ := os.Hostname()
		var r [4]byte
		rand.Read(r[:])
		opts.Holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:]))
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 8
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	cfg.MaxConns = opts.MaxConns
	if !opts.ReadOnly {
		// A writer paused (or cut off) inside a transaction holds the
		// lease row's lock, which would keep a standby from ever taking
		// the expired lease: the server ends such a session after a
		// lease of idleness in a transaction, releasing its locks.
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(max(opts.Lease.Milliseconds(), 1), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connecting: %w", err)
	}
	s := &Store{pool: pool, readOnly: opts.ReadOnly, log: opts.Log, holder: opts.Holder, lease: opts.Lease, stopRenw: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if opts.ReadOnly {
		close(s.stopRenw)
		return s, nil
	}
	if err := s.acquire(ctx, opts.Wait); err != nil {
		pool.Close()
		return nil, err
	}
	s.renewed.Add(1)
	go s.renew()
	return s, nil
}

// The schema. Keys are bytea, compared bytewise like storage keys.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS tlogkit_schema (id INT PRIMARY KEY, version INT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS tlogkit_kv (log TEXT NOT NULL, k BYTEA NOT NULL, v BYTEA NOT NULL, PRIMARY KEY (log, k))`,
	`CREATE TABLE IF NOT EXISTS tlogkit_lease (log TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch BIGINT NOT NULL, expires TIMESTAMPTZ NOT NULL)`,
	`INSERT INTO tlogkit_schema (id, version) VALUES (1, 1) ON CONFLICT (id) DO NOTHING`,
}

func (s *Store) migrate(ctx context.Context) error {
	var err error
	for try := 0; try < 5; try++ {
		// Concurrent CREATE TABLE IF NOT EXISTS can collide: retry.
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			for _, q := range schema {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(try+1) * 20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("pgstore: creating the schema: %w", err)
	}
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT version FROM tlogkit_schema WHERE id = 1`).Scan(&v); err != nil {
		return fmt.Errorf("pgstore: reading the schema version: %w", err)
	}
	if v > SchemaVersion {
		return fmt.Errorf("pgstore: database schema version %d is newer than this package's %d", v, SchemaVersion)
	}
	return nil
}

// acquire takes the lease: a new row, or an expired (or released) one,
// whose epoch then grows by one. With wait, it polls until it can.
func (s *Store) acquire(ctx context.Context, wait bool) error {
	for {
		var epoch int64
		err := s.pool.QueryRow(ctx, `
			INSERT INTO tlogkit_lease AS l (log, holder, epoch, expires)
			VALUES ($1, $2, 1, now() + $3::interval)
			ON CONFLICT (log) DO UPDATE SET holder = $2, epoch = l.epoch + 1, expires = now() + $3::interval
			WHERE l.expires < now()
			RETURNING epoch`, s.log, s.holder, s.lease.String()).Scan(&epoch)
		switch {
		case err == nil:
			s.epoch = epoch
			// The fence: the checkpoint as stored when the lease was taken.
			return s.readFence(ctx)
		case !errors.Is(err, pgx.ErrNoRows) && !retryable(err):
			return fmt.Errorf("pgstore: taking the lease of log %q: %w", s.log, err)
		}
		if !wait {
			var holder string
			s.pool.QueryRow(ctx, `SELECT holder FROM tlogkit_lease WHERE log = $1`, s.log).Scan(&holder)
			return fmt.Errorf("pgstore: log %q is held by %s: %w", s.log, holder, storage.ErrLocked)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgstore: waiting for the lease of log %q: %w", s.log, ctx.Err())
		case <-time.After(s.lease / 10):
		}
	}
}

func (s *Store) readFence(ctx context.Context) error {
	v, err := s.get(ctx, storage.CheckpointKey())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		s.fence = nil
	case err != nil:
		return err
	default:
		s.fence = v
	}
	return nil
}

// renew extends the lease every lease/3 until Close; a renewal that finds
// another epoch fences the store.
func (s *Store) renew() {
	defer s.renewed.Done()
	t := time.NewTicker(s.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-s.stopRenw:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.lease/3)
		tag, err := s.pool.Exec(ctx, `UPDATE tlogkit_lease SET expires = now() + $3::interval WHERE log = $1 AND epoch = $2`,
			s.log, s.epoch, s.lease.String())
		cancel()
		if err == nil && tag.RowsAffected() == 0 {
			s.cmu.Lock()
			if s.fenced == nil {
				s.fenced = fmt.Errorf("%w (lease of log %q lost at epoch %d)", ErrFenced, s.log, s.epoch)
			}
			s.cmu.Unlock()
			return
		}
		// A failed renewal (database unreachable) is retried; commits
		// check the lease themselves.
	}
}

func (s *Store) enter() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fmt.Errorf("pgstore: %w", storage.ErrClosed)
	}
	return nil
}

// Get implements storage.Backend.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	return s.get(ctx, key)
}

func (s *Store) get(ctx context.Context, key []byte) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT v FROM tlogkit_kv WHERE log = $1 AND k = $2`, s.log, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: %q: %w", key, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get: %w", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// GetMany implements storage.MultiGetter, with one query.
func (s *Store) GetMany(ctx context.Context, keys [][]byte) ([][]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			return nil, fmt.Errorf("%w: GetMany keys not in increasing order", storage.ErrInvalid)
		}
	}
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT k, v FROM tlogkit_kv WHERE log = $1 AND k = ANY($2::bytea[]) ORDER BY k`, s.log, keys)
	if err != nil {
		return nil, fmt.Errorf("pgstore: get many: %w", err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var k, v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("pgstore: get many: %w", err)
		}
		for i < len(keys) && bytes.Compare(keys[i], k) < 0 {
			i++
		}
		if i == len(keys) || !bytes.Equal(keys[i], k) {
			return nil, fmt.Errorf("pgstore: get many: unexpected key %q", k)
		}
		if v == nil {
			v = []byte{}
		}
		out[i] = v
		i++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: get many: %w", err)
	}
	return out, nil
}

// Scan implements storage.Backend: the rows come from one REPEATABLE READ
// snapshot, streamed (memory does not grow with the range).
func (s *Store) Scan(ctx context.Context, start, end []byte, fn func(key, value []byte) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if start == nil {
		start = []byte{}
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("pgstore: scan: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var rows pgx.Rows
	if end == nil {
		rows, err = tx.Query(ctx, `SELECT k, v FROM tlogkit_kv WHERE log = $1 AND k >= $2 ORDER BY k`, s.log, start)
	} else {
		rows, err = tx.Query(ctx, `SELECT k, v FROM tlogkit_kv WHERE log = $1 AND k >= $2 AND k < $3 ORDER BY k`, s.log, start, end)
	}
	if err != nil {
		return fmt.Errorf("pgstore: scan: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		raw := rows.RawValues()
		if len(raw) != 2 {
			return fmt.Errorf("pgstore: scan: %d columns", len(raw))
		}
		// Binary format: bytea values are the bytes themselves.
		v := raw[1]
		if v == nil {
			v = []byte{}
		}
		if err := fn(raw[0], v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgstore: scan: %w", err)
	}
	return nil
}

// Commit implements storage.Backend: one transaction that checks and
// extends this writer's lease, checks that the stored checkpoint is the
// one this writer last read or committed (the fence), and writes the
// batch. A fenced commit is not applied and fails with ErrFenced, as do
// all commits after it. A serialization failure (SQLSTATE 40001) is
// retried; any other error may or may not have applied the batch.
func (s *Store) Commit(ctx context.Context, b *storage.Batch) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if s.readOnly {
		return fmt.Errorf("pgstore: commit to log %q opened read-only: %w", s.log, storage.ErrReadOnly)
	}
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.fenced != nil {
		return s.fenced
	}
	// The last operation on each key wins.
	ops := b.Ops()
	last := make(map[string]int, len(ops))
	for i, op := range ops {
		last[string(op.Key)] = i
	}
	var setK, setV, delK [][]byte
	newFence := s.fence
	for i, op := range ops {
		if last[string(op.Key)] != i {
			continue
		}
		isFence := bytes.Equal(op.Key, storage.CheckpointKey())
		if op.Delete {
			delK = append(delK, op.Key)
			if isFence {
				newFence = nil
			}
			continue
		}
		v := op.Value
		if v == nil {
			v = []byte{}
		}
		setK, setV = append(setK, op.Key), append(setV, v)
		if isFence {
			newFence = op.Value
		}
	}
	var err error
	for try := 0; ; try++ {
		err = s.commitTx(ctx, setK, setV, delK)
		if err == nil || !retryable(err) || try == 4 || ctx.Err() != nil {
			break
		}
	}
	if err != nil && !errors.Is(err, ErrFenced) {
		// The session may have been ended under a writer that paused
		// past its lease (idle_in_transaction_session_timeout): say
		// fenced if another writer has the lease now.
		var epoch int64
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.lease)
		if s.pool.QueryRow(qctx, `SELECT epoch FROM tlogkit_lease WHERE log = $1`, s.log).Scan(&epoch) == nil && epoch != s.epoch {
			err = fmt.Errorf("%w (lease of log %q is at epoch %d, not %d; the commit failed: %w)", ErrFenced, s.log, epoch, s.epoch, err)
		}
		cancel()
	}
	if errors.Is(err, ErrFenced) {
		s.fenced = err
	}
	if err != nil {
		return err
	}
	s.fence = newFence
	return nil
}

func (s *Store) commitTx(ctx context.Context, setK, setV, delK [][]byte) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var batch pgx.Batch
	batch.Queue(`UPDATE tlogkit_lease SET expires = now() + $3::interval WHERE log = $1 AND epoch = $2`, s.log, s.epoch, s.lease.String())
	batch.Queue(`SELECT v FROM tlogkit_kv WHERE log = $1 AND k = $2`, s.log, storage.CheckpointKey())
	if len(delK) > 0 {
		batch.Queue(`DELETE FROM tlogkit_kv WHERE log = $1 AND k = ANY($2::bytea[])`, s.log, delK)
	}
	if len(setK) > 0 {
		batch.Queue(`INSERT INTO tlogkit_kv (log, k, v) SELECT $1, k, v FROM unnest($2::bytea[], $3::bytea[]) AS t(k, v)
			ON CONFLICT (log, k) DO UPDATE SET v = EXCLUDED.v`, s.log, setK, setV)
	}
	br := tx.SendBatch(ctx, &batch)
	tag, err := br.Exec()
	if err == nil && tag.RowsAffected() != 1 {
		err = fmt.Errorf("%w (lease of log %q is no longer at epoch %d)", ErrFenced, s.log, s.epoch)
	}
	if err == nil {
		// The stored checkpoint must be the one this writer last read or
		// committed (a checkpoint is never empty: nil and empty both mean
		// none).
		var stored []byte
		if err = br.QueryRow().Scan(&stored); errors.Is(err, pgx.ErrNoRows) {
			err, stored = nil, nil
		}
		if err == nil && !bytes.Equal(stored, s.fence) {
			err = fmt.Errorf("%w (the stored checkpoint is not the one this writer last committed)", ErrFenced)
		}
	}
	for n := 0; err == nil && n < batchLen(delK, setK); n++ {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, ErrFenced) || retryable(err) {
			return err
		}
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	return nil
}

func batchLen(delK, setK [][]byte) int {
	n := 0
	if len(delK) > 0 {
		n++
	}
	if len(setK) > 0 {
		n++
	}
	return n
}

// retryable reports a serialization failure (SQLSTATE 40001), after which
// a transaction is retried from the start.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "40001"
}

// Close releases the lease (so another writer can take the log over at
// once) and closes the connections. Every method fails after Close.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("pgstore: %w", storage.ErrClosed)
	}
	s.closed = true
	s.mu.Unlock()
	if s.readOnly {
		s.pool.Close()
		return nil
	}
	close(s.stopRenw)
	s.renewed.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.pool.Exec(ctx, `UPDATE tlogkit_lease SET expires = now() - interval '1 second' WHERE log = $1 AND epoch = $2`, s.log, s.epoch)
	s.pool.Close()
	if err != nil {
		return fmt.Errorf("pgstore: releasing the lease: %w", err)
	}
	return nil
}
