// Package pgcat keeps a served collection in PostgreSQL, so that any
// number of 'irgen serve' replicas serve one collection: the images, their
// semantic IDs and features, and the files added through the API, in the
// same rows as the embedded SQLite catalog (package catalog), which stays
// the default for one machine.
//
// Every change is one transaction that takes the single row of
// irgen_state, so changes commit one at a time, each with the next change
// sequence number (seq) and, for an add, the next image id; it records
// itself in irgen_changes and notifies the channel irgen_changes. Each
// replica follows the changes in seq order (Follow): woken by
// LISTEN/NOTIFY, and catching up by seq after a reconnect, or once a
// second in any case. A replica's own add or delete returns once it is
// committed and applied to that replica's engine. A replica that starts
// rebuilds its gallery, prefix tree and exact index from one consistent
// snapshot of the catalog and follows from that snapshot's seq.
//
// When PostgreSQL is unreachable, writes fail with catalog.ErrStorage (the
// server answers 503), searches go on from memory, and the follower
// reconnects on its own.
package pgcat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/engine"
)

// channel is the LISTEN/NOTIFY channel of changes.
const channel = "irgen_changes"

// Timeout bounds one write or read of the catalog.
const Timeout = 10 * time.Second

// lockSchema is the advisory lock key that serializes creating the
// schema and filling the catalog.
const lockSchema = 0x69726765 // "irge"

const schema = `
CREATE TABLE IF NOT EXISTS irgen_meta (
	key   text PRIMARY KEY,
	value text NOT NULL
);
CREATE TABLE IF NOT EXISTS irgen_state (
	one          boolean PRIMARY KEY DEFAULT true CHECK (one),
	seq          bigint NOT NULL, -- the last change's sequence number
	next_id      bigint NOT NULL, -- the id the next added image gets
	stored_bytes bigint NOT NULL, -- bytes of the files in irgen_images.image
	horizon      bigint NOT NULL DEFAULT 0 -- changes up to it may be compacted away
);
CREATE TABLE IF NOT EXISTS irgen_images (
	id         bigint PRIMARY KEY, -- the gallery index; never reused
	key        text NOT NULL,
	label      integer NOT NULL,   -- class index, -1 for none
	semid      text NOT NULL,      -- semantic ID, tokens joined by '-'
	feature    bytea NOT NULL,     -- tokenizer feature, little-endian float32
	image      bytea,              -- the uploaded file; NULL for data set images
	media_type text,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS irgen_changes (
	seq      bigint PRIMARY KEY,
	op       text NOT NULL CHECK (op IN ('add', 'delete')),
	image_id bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS irgen_replicas (
	name    text PRIMARY KEY,     -- host, process and a random part
	applied bigint NOT NULL,      -- the last change the replica applied
	seen    timestamptz NOT NULL  -- when it said so (the server's clock)
);`

// Catalog is a PostgreSQL catalog. It is safe for concurrent use.
type Catalog struct {
	pool  *pgxpool.Pool
	where string // host, port, database and user: never the password

	e           *engine.Engine // set by Attach
	model       string         // the model e serves, set by Attach
	name        string         // this replica's row in irgen_replicas
	maxStored   atomic.Int64   // the bound on stored_bytes that Add keeps; 0: none
	syncMu      sync.Mutex     // serializes applying changes to e
	applied     int64          // the last change applied to e, under syncMu
	rebuilds    atomic.Int64   // snapshots reloaded after falling behind the horizon
	lastBeat    time.Time      // the follower's last heartbeat
	lastCompact time.Time      // the follower's last compaction
	stop        context.CancelFunc
	done        chan struct{} // closed when the follower ends
}

// IsURL reports whether s names a PostgreSQL catalog (postgres:// or
// postgresql://) rather than a SQLite file.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the catalog at url (postgres://user@host:port/db; a
// password is better given by $PGPASSWORD or ~/.pgpass than in the URL)
// and creates its tables if there are none. Errors and logs never show
// the password.
func Open(ctx context.Context, rawURL string) (*Catalog, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("pgcat: the catalog URL %s does not parse: %w", Redact(rawURL), err)
	}
	cfg.MaxConns = 8
	c := &Catalog{where: fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.ConnConfig.User, cfg.ConnConfig.Host,
		cfg.ConnConfig.Port, cfg.ConnConfig.Database)}
	if c.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, c.errorf("connect", err)
	}
	if err := c.createSchema(ctx); err != nil {
		c.pool.Close()
		return nil, err
	}
	return c, nil
}

// Redact returns url without its password.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}

func (c *Catalog) createSchema(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockSchema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, schema); err != nil {
			return err
		}
		return addHorizon(ctx, tx)
	})
	if err != nil {
		return c.errorf("create tables", err)
	}
	return nil
}

// addHorizon adds irgen_state.horizon to a catalog created before
// compaction. It alters the table only then: ALTER TABLE locks it, and
// would queue every write behind a replica's long snapshot read.
func addHorizon(ctx context.Context, tx pgx.Tx) error {
	var has bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'irgen_state' AND column_name = 'horizon')`).Scan(&has)
	if err != nil || has {
		return err
	}
	_, err = tx.Exec(ctx, `ALTER TABLE irgen_state ADD COLUMN horizon bigint NOT NULL DEFAULT 0`)
	return err
}

// Where names the catalog (without a password) for messages.
func (c *Catalog) Where() string { return c.where }

// Close stops following changes and closes the connections.
func (c *Catalog) Close() error {
	if c.stop != nil {
		c.stop()
		<-c.done
		c.forget()
	}
	c.pool.Close()
	return nil
}

// errorf wraps err from action with the catalog's name; errors that come
// from the database server's state or the connection, not from the
// request, wrap catalog.ErrStorage (ErrFull, ErrReadOnly), so that the
// server answers 503 (507) and reports them.
func (c *Catalog) errorf(action string, err error) error {
	return fmt.Errorf("pgcat: %s %s: %w", action, c.where, storageError(err))
}

func storageError(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		if errors.Is(err, catalog.ErrFormat) || errors.Is(err, catalog.ErrStale) || errors.Is(err, engine.ErrNotFound) ||
			errors.Is(err, ErrUnfinished) {
			return err
		}
		// No answer from the server: unreachable, restarting, a broken
		// connection, or no answer in time.
		return fmt.Errorf("%w: %w", catalog.ErrStorage, err)
	}
	switch {
	case pe.Code == "53100":
		return fmt.Errorf("%w: %w", catalog.ErrFull, err)
	case pe.Code == "25006":
		return fmt.Errorf("%w: %w", catalog.ErrReadOnly, err)
	case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "57P"), strings.HasPrefix(pe.Code, "53"),
		strings.HasPrefix(pe.Code, "58"), pe.Code == "40001", pe.Code == "40P01":
		return fmt.Errorf("%w: %w", catalog.ErrStorage, err)
	}
	return err
}
