package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/irgen/irgen/internal/catalog/pgcat"
	"github.com/irgen/irgen/internal/train"
)

// embedMethods are the methods whose gallery embeddings 'irgen embed'
// computes.
var embedMethods = []string{"irt", "irt-o", "mrl", "bovw"}

// embedFlags are the flags of 'irgen embed'.
type embedFlags struct {
	dir, method, url, shard string
	export, fresh           bool
}

func embedCmd(ctx context.Context, args []string) error {
	var f embedFlags
	fs := newFlags("embed", "--model MODEL --method irt|irt-o|mrl|bovw --catalog postgres://… (--shard i/N | --export)")
	fs.StringVar(&f.dir, "model", "", "model directory (gallery assigned, the method trained)")
	fs.StringVar(&f.method, "method", "", "the method whose gallery embeddings to compute: irt, irt-o, mrl or bovw (its word counts)")
	fs.StringVar(&f.url, "catalog", "", "the PostgreSQL catalog the workers share (postgres://USER@HOST:PORT/DB)")
	fs.StringVar(&f.shard, "shard", "", "embed shard i of N (0 ≤ i < N) of the gallery; run one worker per shard")
	fs.BoolVar(&f.export, "export", false, "once every shard is done: write the embeddings from the catalog to the model")
	fs.BoolVar(&f.fresh, "fresh", false, "with --shard: discard the method's vectors in the catalog (computed by other weights) first")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	em, err := openEmbedder(f.dir, f.method)
	if err != nil {
		return err
	}
	c, err := pgcat.Open(ctx, f.url)
	if err != nil {
		return err
	}
	defer c.Close()
	if f.export {
		return exportVectors(ctx, c, em)
	}
	return embedShard(ctx, c, em, f)
}

// check reports bad flags as usage errors, before any work.
func (f embedFlags) check() error {
	switch {
	case !slices.Contains(embedMethods, f.method):
		return fmt.Errorf("%w: --method %q: want one of %v (hnsw and dsi: see 'Beyond one machine' in the README)", errUsage, f.method, embedMethods)
	case !pgcat.IsURL(f.url):
		return fmt.Errorf("%w: --catalog %q: want a postgres:// URL that the workers share", errUsage, pgcat.Redact(f.url))
	case f.export == (f.shard != ""):
		return fmt.Errorf("%w: give either --shard i/N (a worker) or --export (once every shard is done)", errUsage)
	case f.fresh && f.export:
		return fmt.Errorf("%w: --fresh goes with --shard", errUsage)
	}
	if f.shard != "" {
		_, _, err := parseShard(f.shard)
		return err
	}
	return nil
}

// embedShard embeds the images of shard f.shard that the catalog lacks,
// chunk by chunk, each chunk in one transaction.
func embedShard(ctx context.Context, c *pgcat.Catalog, em *galleryEmbedder, f embedFlags) error {
	i, n, _ := parseShard(f.shard)
	sh, err := pgcat.NewShard(i, n, em.set.Total)
	if err != nil {
		return err
	}
	if err := c.BeginVectors(ctx, em.set, f.fresh); err != nil {
		return err
	}
	missing, err := c.MissingVectors(ctx, em.set.Method, sh)
	if err != nil {
		return err
	}
	p := train.NewProgress(stderr, "embed "+em.set.Method, len(missing), 0, "img")
	for lo := 0; lo < len(missing); lo += shardChunk {
		chunk := missing[lo:min(lo+shardChunk, len(missing))]
		data, err := em.embed(ctx, chunk)
		if err != nil {
			return err
		}
		if err := c.PutVectors(ctx, em.set, chunk, data); err != nil {
			return err
		}
		p.Update(lo+len(chunk), "")
	}
	p.Done(len(missing), "")
	fmt.Fprintf(stderr, "irgen: %s shard %d/%d: ids [%d, %d), %d embedded now, %d there already; export with 'irgen embed --export' once every shard is done\n",
		em.set.Method, i, n, sh.Lo, sh.Hi, len(missing), sh.Hi-sh.Lo-len(missing))
	return nil
}

// exportVectors writes the method's vectors from the catalog to the
// model.
func exportVectors(ctx context.Context, c *pgcat.Catalog, em *galleryEmbedder) error {
	data, err := c.Vectors(ctx, em.set)
	if err != nil {
		return err
	}
	if err := em.write(data); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: %d %s gallery embeddings of %d values from %s → %s%s\n",
		em.set.Total, em.set.Method, em.set.Dim, c.Where(), em.file, em.next)
	return nil
}
