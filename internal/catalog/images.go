package catalog

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/semid"
)

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

// Fill writes every image of g and the catalog's meta data in one
// transaction. model identifies the tokenizer and gallery (see Meta). It
// fails on a catalog that was filled already.
func (c *Catalog) Fill(g *gallery.Gallery, model string) error {
	if err := g.Check(); err != nil {
		return fmt.Errorf("catalog: fill: %w", err)
	}
	meta, err := MetaPairs(g, model)
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
			if _, err := ins.Exec(i, g.Keys[i], g.Labels[i], code, PutFeature(buf, g.Feature(i)), now); err != nil {
				return fmt.Errorf("image %d: %w", i, err)
			}
		}
		return nil
	}, "fill")
}

// MetaPairs returns the meta key-value pairs of a catalog filled from g
// for model (see ParseMeta).
func MetaPairs(g *gallery.Gallery, model string) (map[string]string, error) {
	classes, err := json.Marshal(g.Classes)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"version": strconv.Itoa(formatVersion), "dim": strconv.Itoa(g.Dim), "m": strconv.Itoa(g.M),
		"l": strconv.Itoa(g.L), "classes": string(classes), "model": model, "next_id": strconv.Itoa(g.Len()),
	}, nil
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
		GetFeature(g.Features[id*m.Dim:(id+1)*m.Dim], feat)
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
	feat := PutFeature(make([]byte, 4*len(r.Feature)), r.Feature)
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

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// PutFeature writes f into buf (4 bytes a value, little-endian), the
// catalog's form of a feature, and returns buf.
func PutFeature(buf []byte, f []float32) []byte {
	buf = buf[:4*len(f)]
	for i, v := range f {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	return buf
}

// GetFeature reads the feature in buf (PutFeature's form) into dst.
func GetFeature(dst []float32, buf []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
	}
}
