package catalog

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/irgen/irgen/internal/semid"
)

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
	return ParseMeta(kv)
}

// ParseMeta reads a catalog's meta key-value pairs (next_id included),
// and returns false when there are none: a catalog never filled. Another
// catalog store (pgcat) keeps the same pairs.
func ParseMeta(kv map[string]string) (Meta, bool, error) {
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
