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
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/semid"

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

// Meta describes the gallery a catalog holds.
type Meta struct {
	Dim, M, L int
	Classes   []string
	// Model identifies the tokenizer and gallery the features and IDs
	// were made with (see Attach).
	Model string
	// Next is the id the next added image gets.
	Next int
}

// Image is one catalog row.
type Image struct {
	ID      int
	Key     string
	Label   int32
	Code    semid.ID
	Data    []byte // the uploaded file, nil for data set images
	Type    string // Data's media type
	Created time.Time
}

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

// Meta returns the catalog's description, and false when it was never
// filled.
func (c *Catalog) Meta() (Meta, bool, error) {
	rows, err := c.db.Query(`SELECT key, value FROM meta`)
	if err != nil {
		return Meta{}, false, fmt.Errorf("catalog: read meta: %w", err)
	}
	defer rows.Close()
	kv := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return Meta{}, false, fmt.Errorf("catalog: read meta: %w", err)
		}
		kv[k] = v
	}
	if err := rows.Err(); err != nil {
		return Meta{}, false, fmt.Errorf("catalog: read meta: %w", err)
	}
	if len(kv) == 0 {
		return Meta{}, false, nil
	}
	if v := kv["version"]; v != strconv.Itoa(formatVersion) {
		if n, err := strconv.Atoi(v); err == nil && n > formatVersion {
			return Meta{}, false, fmt.Errorf("%w %d (this build reads %d)", ErrVersion, n, formatVersion)
		}
		return Meta{}, false, fmt.Errorf("%w: version %q", ErrFormat, v)
	}
	var m Meta
	ints := []struct {
		key string
		dst *int
	}{{"dim", &m.Dim}, {"m", &m.M}, {"l", &m.L}, {"next_id", &m.Next}}
	for _, f := range ints {
		n, err := strconv.Atoi(kv[f.key])
		if err != nil || n < 0 {
			return Meta{}, false, fmt.Errorf("%w: meta %s = %q", ErrFormat, f.key, kv[f.key])
		}
		*f.dst = n
	}
	if err := json.Unmarshal([]byte(kv["classes"]), &m.Classes); err != nil {
		return Meta{}, false, fmt.Errorf("%w: meta classes: %v", ErrFormat, err)
	}
	m.Model = kv["model"]
	if m.Dim == 0 || m.M == 0 || m.L == 0 || m.M > semid.MaxLen {
		return Meta{}, false, fmt.Errorf("%w: dim %d, M %d, L %d", ErrFormat, m.Dim, m.M, m.L)
	}
	return m, true, nil
}

// Fill writes every image of g and the catalog's meta data in one
// transaction. model identifies the tokenizer and gallery (see Meta). It
// fails on a catalog that was filled already.
func (c *Catalog) Fill(g *gallery.Gallery, model string) error {
	if err := g.Check(); err != nil {
		return fmt.Errorf("catalog: fill: %w", err)
	}
	classes, err := json.Marshal(g.Classes)
	if err != nil {
		return fmt.Errorf("catalog: fill: %w", err)
	}
	return c.tx(func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM meta`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errors.New("the catalog is filled already")
		}
		meta := map[string]string{
			"version": strconv.Itoa(formatVersion), "dim": strconv.Itoa(g.Dim), "m": strconv.Itoa(g.M),
			"l": strconv.Itoa(g.L), "classes": string(classes), "model": model, "next_id": strconv.Itoa(g.Len()),
		}
		for k, v := range meta {
			if _, err := tx.Exec(`INSERT INTO meta (key, value) VALUES (?, ?)`, k, v); err != nil {
				return err
			}
		}
		ins, err := tx.Prepare(`INSERT INTO images (id, key, label, semid, feature, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		now := timestamp(time.Now())
		buf := make([]byte, 4*g.Dim)
		for i := range g.Len() {
			code := semid.ID(g.Code(i)).String()
			if _, err := ins.Exec(i, g.Keys[i], g.Labels[i], code, putFeature(buf, g.Feature(i)), now); err != nil {
				return fmt.Errorf("image %d: %w", i, err)
			}
		}
		return nil
	}, "fill")
}

// Load reads the gallery back: every slot up to Meta.Next, with live[i]
// false for deleted images (whose slots hold a zero feature, a zero ID
// and label -1).
func (c *Catalog) Load() (*gallery.Gallery, []bool, error) {
	m, ok, err := c.Meta()
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("catalog: load %q: the catalog is empty", c.path)
	}
	n := m.Next
	g := &gallery.Gallery{Dim: m.Dim, M: m.M, L: m.L, Classes: m.Classes,
		Keys: make([]string, n), Labels: make([]int32, n), Features: make([]float32, n*m.Dim), Codes: make([]int32, n*m.M)}
	for i := range g.Labels {
		g.Labels[i] = -1
	}
	live := make([]bool, n)
	rows, err := c.db.Query(`SELECT id, key, label, semid, feature FROM images ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: load: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id    int
			key   string
			label int32
			code  string
			feat  []byte
		)
		if err := rows.Scan(&id, &key, &label, &code, &feat); err != nil {
			return nil, nil, fmt.Errorf("catalog: load: %w", err)
		}
		if id < 0 || id >= n {
			return nil, nil, fmt.Errorf("%w: image id %d outside [0, %d)", ErrFormat, id, n)
		}
		sid, err := semid.Parse(code)
		if err != nil || len(sid) != m.M || len(feat) != 4*m.Dim {
			return nil, nil, fmt.Errorf("%w: image %d: ID %q, feature of %d bytes", ErrFormat, id, code, len(feat))
		}
		g.Keys[id], g.Labels[id], live[id] = key, label, true
		copy(g.Codes[id*m.M:], sid)
		getFeature(g.Features[id*m.Dim:(id+1)*m.Dim], feat)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("catalog: load: %w", err)
	}
	if err := g.Check(); err != nil {
		return nil, nil, fmt.Errorf("catalog: load: %w", err)
	}
	return g, live, nil
}

// Add inserts image r and advances the next id past it, in one
// transaction. It returns once the transaction is committed.
func (c *Catalog) Add(r engine.Record) error {
	code := semid.ID(r.Code).String()
	feat := putFeature(make([]byte, 4*len(r.Feature)), r.Feature)
	var data any // NULL unless the file is kept
	if r.Data != nil {
		data = r.Data
	}
	return c.tx(func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO images (id, key, label, semid, feature, image, media_type, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Key, r.Label, code, feat, data, r.Type, timestamp(time.Now()))
		if err != nil {
			return err
		}
		res, err := tx.Exec(`UPDATE meta SET value = ? WHERE key = 'next_id' AND CAST(value AS INTEGER) <= ?`,
			strconv.Itoa(r.ID+1), r.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("id %d is below the next id", r.ID)
		}
		return nil
	}, "add image "+strconv.Itoa(r.ID))
}

// Delete removes image id, with its stored file. It returns ErrNotFound
// when there is no such image.
func (c *Catalog) Delete(id int) error {
	return c.tx(func(tx *sql.Tx) error {
		res, err := tx.Exec(`DELETE FROM images WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	}, "delete image "+strconv.Itoa(id))
}

// Image returns image id with its stored file, if any.
func (c *Catalog) Image(ctx context.Context, id int) (Image, error) {
	var (
		im      Image
		code    string
		typ     sql.NullString
		created string
	)
	err := c.db.QueryRowContext(ctx, `SELECT id, key, label, semid, image, media_type, created_at FROM images WHERE id = ?`, id).
		Scan(&im.ID, &im.Key, &im.Label, &code, &im.Data, &typ, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Image{}, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	if err != nil {
		return Image{}, fmt.Errorf("catalog: image %d: %w", id, err)
	}
	im.Type = typ.String
	if im.Code, err = semid.Parse(code); err != nil {
		return Image{}, fmt.Errorf("%w: image %d: %v", ErrFormat, id, err)
	}
	im.Created, _ = time.Parse(time.RFC3339Nano, created)
	return im, nil
}

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

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// putFeature writes f into buf (4 bytes a value, little-endian) and
// returns buf.
func putFeature(buf []byte, f []float32) []byte {
	buf = buf[:4*len(f)]
	for i, v := range f {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	return buf
}

func getFeature(dst []float32, buf []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
	}
}
