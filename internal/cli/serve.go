package cli

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/catalog/pgcat"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/server"
)

// maxBatch bounds --max-batch: each power of two up to it compiles its
// own encoder and decoder graphs.
const maxBatch = 64

func serveCmd(ctx context.Context, args []string) error {
	cfg := server.DefaultConfig()
	fs := newFlags("serve", "--model MODEL [--addr 127.0.0.1:8080]")
	dir := fs.String("model", "", "model directory")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	catPath := fs.String("catalog", "", "catalog: a SQLite file (default MODEL/"+catalog.File+
		"), or postgres://USER@HOST:PORT/DB for a catalog shared by replicas (password in $PGPASSWORD or ~/.pgpass)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body", cfg.MaxBodyBytes, "largest request body in bytes")
	fs.Int64Var(&cfg.Limits.MaxPixels, "max-pixels", cfg.Limits.MaxPixels, "largest uploaded image in pixels (width × height)")
	fs.Int64Var(&cfg.Limits.MaxDecodedBytes, "max-decoded", cfg.Limits.MaxDecodedBytes, "largest uploaded image decoded, in bytes (pixels × bytes a pixel)")
	fs.Int64Var(&cfg.MaxCatalogBytes, "max-catalog", cfg.MaxCatalogBytes, "most bytes of image files the catalog keeps (0 = no bound)")
	fs.Int64Var(&cfg.MaxBodyMemory, "max-body-memory", cfg.MaxBodyMemory, "request bodies held in memory at once, in bytes")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "longest a search or add may take, waiting included")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "searches and adds run at once")
	fs.DurationVar(&cfg.BatchWindow, "batch-window", cfg.BatchWindow, "longest a search waits for others of the same method, k and beam arriving with it, to run them in one engine call (only while others are on their way; 0 = each alone)")
	fs.IntVar(&cfg.MaxBatch, "max-batch", cfg.MaxBatch, "most searches one engine call answers")
	fs.StringVar(&cfg.Access.Token, "token", config.Token(), "bearer token that adds and deletes need (default $"+config.EnvToken+"); required beyond loopback")
	fs.BoolVar(&cfg.Access.ReadOnly, "read-only", false, "refuse every add and delete")
	hosts := fs.String("allow-host", "", "comma-separated host names a loopback server also answers (behind a local proxy)")
	open := fs.Bool("open-writes", false, "listen beyond loopback without a token, letting anyone add and delete images")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg.Limits.MaxBytes = cfg.MaxBodyBytes
	if cfg.BatchWindow < 0 || cfg.BatchWindow > time.Second || cfg.MaxBatch < 1 || cfg.MaxBatch > maxBatch {
		return fmt.Errorf("%w: --batch-window %v, --max-batch %d: want a window of 0 to 1s and 1 to %d searches", errUsage, cfg.BatchWindow, cfg.MaxBatch, maxBatch)
	}
	if *hosts != "" {
		cfg.Access.Hosts = strings.Split(*hosts, ",")
	}
	tcp, err := net.ResolveTCPAddr("tcp", *addr)
	if err != nil {
		return fmt.Errorf("%w: --addr: %v", errUsage, err)
	}
	if err := cfg.Access.CheckListen(tcp, *open); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg.Access.Loopback = server.IsLoopback(tcp)
	b, e, err := openModel(*dir)
	if err != nil {
		return err
	}
	// A server encodes one image per request, or the requests of a batch
	// (in batches of their own size): a batch of one costs about 1/50 of
	// the default batch of 64 (or 16 queries for the decoder).
	e.Tokenizer.Batch, e.QueryBatch = 1, 1
	cat, where, err := attachCatalog(ctx, e, *dir, *catPath)
	if err != nil {
		return err
	}
	defer cat.Close()
	cfg.Originals = originals(b.Dir(), e)
	srv := server.New(e, cat, cfg)
	if err := srv.Warm(); err != nil {
		return err
	}
	limit := server.SetMemoryLimit(cfg)
	slog.Info("serve: memory", "go_limit_mib", limit>>20, "request_bound_mib", server.MemoryBound(cfg)>>20)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	st := e.Stats()
	fmt.Fprintf(stderr, "irgen: serving %s (%d images, %d IDs, catalog %s) on http://%s\n", *dir, st.Images, st.IDs, where, ln.Addr())
	return srv.Serve(ctx, ln)
}

// servedCatalog is a catalog that 'irgen serve' closes when it ends.
type servedCatalog interface {
	server.Catalog
	Close() error
}

// attachCatalog attaches the catalog that spec names to e: a PostgreSQL
// URL, or a SQLite file (default MODEL/catalog.db). It also returns the
// catalog's name for messages, without a password.
func attachCatalog(ctx context.Context, e *engine.Engine, dir, spec string) (servedCatalog, string, error) {
	if pgcat.IsURL(spec) {
		c, err := pgcat.Attach(ctx, e, spec)
		if err != nil {
			return nil, "", err
		}
		return c, c.Where(), nil
	}
	if spec == "" {
		spec = filepath.Join(dir, catalog.File)
	}
	c, err := catalog.Attach(e, spec)
	if err != nil {
		return nil, "", err
	}
	return c, spec, nil
}

// originals loads data set images for GET /v1/images/{id}: the data set
// the model was built from is opened at the first request (without the
// scan of every image that training does); image id is its gallery
// image id when the keys agree, else the one with the same key.
func originals(dir string, e *engine.Engine) func(id int, key string) (image.Image, error) {
	var (
		once  sync.Once
		split dataset.Split
		index map[string]int
		err   error
	)
	return func(id int, key string) (image.Image, error) {
		once.Do(func() {
			var di dataInfo
			if err = e.Bundle.Config(cfgData, &di); err != nil {
				return
			}
			var ds *dataset.Dataset
			if ds, err = dataset.Open(di.Spec, dataOptions()); err != nil {
				slog.Warn("serve: data set images unavailable", "model", dir, "err", err)
				return
			}
			split = ds.Gallery
			index = make(map[string]int, split.Len())
			for i := range split.Len() {
				index[split.Key(i)] = i
			}
		})
		if err != nil {
			return nil, err
		}
		i, ok := index[key]
		if id < split.Len() && split.Key(id) == key {
			i, ok = id, true
		}
		if !ok {
			return nil, fmt.Errorf("not in the data set")
		}
		return split.Load(i)
	}
}
