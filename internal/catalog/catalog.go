// Package catalog keeps a served collection in an embedded SQLite database
// (modernc.org/sqlite, pure Go): one row per image with its key, label,
// semantic ID, tokenizer feature and, for images added through the API,
// the uploaded file.
//
// The catalog, not gallery.bin, is the collection's source of truth once
// it exists. It is filled from the model's gallery on first open, in one
// transaction; at start the engine's gallery, prefix tree and exact index
// are rebuilt from it (Attach), so images added or deleted through the API
// survive restarts. The database runs in WAL mode with synchronous=FULL:
// a change is acknowledged only after its transaction is committed and
// synced, so a crash (kill -9, power loss) loses no acknowledged change
// and leaves no half-made one.
package catalog

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/irgen/irgen/internal/engine"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// File is the catalog's file name inside a model directory.
const File = "catalog.db"

// formatVersion is the schema version recorded in the meta table.
const formatVersion = 1

var (
	// ErrNotFound reports an image id that is not in the catalog.
	ErrNotFound = errors.New("catalog: no such image")
	// ErrStale reports a catalog filled from another tokenizer or gallery
	// than the model's: its features and IDs do not match the model.
	ErrStale = errors.New("catalog: made for another model")
	// ErrFormat reports a database that is not an irgen catalog, or one
	// whose rows are damaged.
	ErrFormat = errors.New("catalog: not a valid catalog")
	// ErrVersion reports a catalog written by a newer irgen.
	ErrVersion = errors.New("catalog: unknown catalog version")
)

const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
	id         INTEGER PRIMARY KEY, -- the gallery index; never reused
	key        TEXT NOT NULL,       -- source path or data set key, "api/..." for uploads
	label      INTEGER NOT NULL,    -- class index, -1 for none
	semid      TEXT NOT NULL,       -- semantic ID, tokens joined by '-'
	feature    BLOB NOT NULL,       -- tokenizer feature, little-endian float32
	image      BLOB,                -- the uploaded file; NULL for data set images
	media_type TEXT,                -- its type, e.g. image/png
	created_at TEXT NOT NULL        -- RFC 3339, UTC
);`

// Catalog is an open catalog database. It is safe for concurrent use and
// implements engine.Journal.
type Catalog struct {
	db   *sql.DB
	path string
	lock *os.File // held by a catalog that serves (Attach)
}

var _ engine.Journal = (*Catalog)(nil)

// Open opens the catalog at path, creating an empty one if there is none.
func Open(path string) (*Catalog, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("catalog: open %q: path must not contain '?' or '#'", path)
	}
	dsn := path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog: open %q: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	c := &Catalog{db: db, path: path}
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog: open %q: %w", path, err)
	}
	return c, nil
}

// OpenReadOnly opens the catalog at path for reading only (every write
// fails with ErrReadOnly): to inspect a catalog another process serves.
func OpenReadOnly(path string) (*Catalog, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("catalog: open %q: path must not contain '?' or '#'", path)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("catalog: open %q: %w", path, err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog: open %q: %w", path, err)
	}
	return &Catalog{db: db, path: path}, nil
}

// Close closes the database.
func (c *Catalog) Close() error {
	if c.lock != nil {
		defer c.lock.Close()
	}
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("catalog: close %q: %w", c.path, err)
	}
	return nil
}

// Path returns the database file's path.
func (c *Catalog) Path() string { return c.path }

// Count returns the number of images.
func (c *Catalog) Count() (int, error) {
	var n int
	if err := c.db.QueryRow(`SELECT count(*) FROM images`).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog: count: %w", err)
	}
	return n, nil
}

// Pragma returns the value of a PRAGMA, for checks of the database's
// settings (journal_mode, synchronous).
func (c *Catalog) Pragma(name string) (string, error) {
	if strings.ContainsFunc(name, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z') }) {
		return "", fmt.Errorf("catalog: pragma %q: not a pragma name", name)
	}
	var v string
	if err := c.db.QueryRow(`PRAGMA ` + name).Scan(&v); err != nil {
		return "", fmt.Errorf("catalog: pragma %s: %w", name, err)
	}
	return v, nil
}

// tx runs fn in a write transaction and commits it; what names the
// change in errors.
func (c *Catalog) tx(fn func(tx *sql.Tx) error, what string) error {
	tx, err := c.db.Begin()
	if err != nil {
		return fmt.Errorf("catalog: %s: %w", what, storageError(err))
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("catalog: %s: %w", what, storageError(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog: %s: commit: %w", what, storageError(err))
	}
	return nil
}
