package catalog

import (
	"database/sql"
	"errors"
	"fmt"
	"syscall"

	"modernc.org/sqlite"
)

// Storage errors: writes fail for the catalog's disk, not for the
// request. The server answers 507 for ErrFull and 503 for the others, and
// reports them in its health.
var (
	ErrFull     = errors.New("catalog: the disk is full")
	ErrReadOnly = errors.New("catalog: the database is read-only")
	ErrStorage  = errors.New("catalog: storage I/O error")
)

// ErrQuota reports an add refused by the bound on the image files a
// catalog keeps (serve --max-catalog), checked by the catalog itself when
// replicas share it. The server answers 507, as for its own check.
var ErrQuota = errors.New("catalog: the bound on stored images is reached")

// SQLite's primary result codes for the storage errors.
const (
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
)

// storageError marks err with the storage sentinel it stands for.
func storageError(err error) error {
	var se *sqlite.Error
	code := 0
	if errors.As(err, &se) {
		code = se.Code() & 0xff
	}
	switch {
	case code == sqliteFull || errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w: %w", ErrFull, err)
	case code == sqliteReadOnly || errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	case code == sqliteIOErr || code == sqliteCantOpen || errors.Is(err, syscall.EIO):
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return err
}

var errProbe = errors.New("probe")

// Writable checks that the catalog takes writes, by a write that is
// rolled back.
func (c *Catalog) Writable() error {
	err := c.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('write_probe', '1')`); err != nil {
			return err
		}
		return errProbe // roll back
	}, "write probe")
	if errors.Is(err, errProbe) {
		return nil
	}
	return err
}

// StoredBytes returns the size of the image files the catalog keeps.
func (c *Catalog) StoredBytes() (int64, error) {
	var n int64
	if err := c.db.QueryRow(`SELECT COALESCE(SUM(LENGTH(image)), 0) FROM images`).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog: stored bytes: %w", storageError(err))
	}
	return n, nil
}
