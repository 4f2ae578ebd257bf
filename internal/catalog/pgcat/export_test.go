package pgcat

import "context"

// Stall holds the lock under which changes are applied, as a replica that
// stops following (a long pause, a cut connection) would, until resume.
func (c *Catalog) Stall() (resume func()) {
	c.syncMu.Lock()
	return c.syncMu.Unlock
}

// Rebuilds counts the snapshots reloaded after falling behind the horizon.
func (c *Catalog) Rebuilds() int64 { return c.rebuilds.Load() }

// Name is this replica's row in irgen_replicas.
func (c *Catalog) Name() string { return c.name }

// Heartbeat records the last change this replica applied now.
func (c *Catalog) Heartbeat(ctx context.Context) error { return c.heartbeat(ctx) }
