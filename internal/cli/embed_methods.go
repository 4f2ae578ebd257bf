package cli

import (
	"context"
	"fmt"
	"io"
	"path"

	"github.com/irgen/irgen/internal/baseline/bovw"
	"github.com/irgen/irgen/internal/baseline/irt"
	"github.com/irgen/irgen/internal/baseline/mrl"
	"github.com/irgen/irgen/internal/catalog/pgcat"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/tokenizer"
)

// galleryEmbedder computes one method's gallery embeddings, for any
// images of the gallery, and writes the whole set to the model.
type galleryEmbedder struct {
	set   pgcat.VectorSet
	embed func(ctx context.Context, ids []int) ([]float32, error)
	write func(data []float32) error
	file  string // the model file write writes
	next  string // what to run next, for the message
}

// openEmbedder opens the model in dir, its gallery and data, and the
// trained model of method.
func openEmbedder(dir, method string) (*galleryEmbedder, error) {
	if method == string(bovw.Method) {
		b, err := loadBundle(dir)
		if err != nil {
			return nil, err
		}
		return bovwEmbedder(b)
	}
	b, e, err := openModel(dir)
	if err != nil {
		return nil, err
	}
	g, err := assigned(e, dir)
	if err != nil {
		return nil, fmt.Errorf("%w (after split workers: 'irgen assign --model %s --catalog URL --export-gallery')", err, dir)
	}
	ds, _, err := reopenData(b)
	if err != nil {
		return nil, err
	}
	if method == "mrl" {
		return mrlEmbedder(b, e, g, ds)
	}
	if ds.Gallery.Len() != g.Len() {
		return nil, fmt.Errorf("the data has %d gallery images, the model's gallery %d; rerun 'irgen assign --model %s'", ds.Gallery.Len(), g.Len(), dir)
	}
	return irtEmbedder(b, e, g, ds.Gallery, method == string(irt.OffTheShelf))
}

// irtEmbedder embeds with the fine-tuned IRT model (irt) or, with its
// configuration, the tokenizer's encoder (irt-o), as train-irt does.
func irtEmbedder(b *store.Bundle, e *engine.Engine, g *gallery.Gallery, split dataset.Split, off bool) (*galleryEmbedder, error) {
	tok := e.Tokenizer
	m, err := irt.LoadBundle(tok.Backend, b)
	if err != nil {
		return nil, fmt.Errorf("%w; train it first ('irgen train-irt --model %s --train-only')", err, b.Dir())
	}
	files := b.Manifest().Files
	cfg := m.Config
	em := &galleryEmbedder{file: irt.GalleryFile, next: "; evaluate with 'irgen eval --method irt'"}
	em.set = pgcat.VectorSet{Method: string(irt.FineTuned), Model: "irt:" + files[path.Join(irt.Dir, irt.WeightsFile)].SHA256,
		Gallery: store.KeysDigest(g.Keys), Dim: cfg.Dim(), Total: g.Len()}
	embedder := m.NewEmbedder()
	if off {
		em.file, em.next = irt.OffTheShelfFile, "; evaluate with 'irgen eval --method irt-o'"
		em.set.Method = string(irt.OffTheShelf)
		em.set.Model = fmt.Sprintf("tokenizer:%s feature:%s", files[tokenizer.WeightsFile].SHA256, cfg.Feature)
		embedder = &irt.Embedder{Backend: tok.Backend, Vars: tok.Vars, Config: cfg, Batch: tok.Batch}
	}
	em.embed = func(ctx context.Context, ids []int) ([]float32, error) {
		if off && cfg.Feature == irt.Head { // the tokenizer features assign computed
			return rows(g.Features, g.Dim, ids), nil
		}
		return embedGallery(ctx, em.set.Method, embedder, dataset.Sub(split, ids), e.Transform)
	}
	em.write = func(data []float32) error {
		if err := writeEmbeddings(b.Path(em.file), &irt.Embeddings{Dim: em.set.Dim, Data: data, Gallery: em.set.Gallery}); err != nil {
			return err
		}
		return recordOwn(b.Dir(), irt.Dir)
	}
	return em, nil
}

// mrlEmbedder embeds with the trained MRL model, as train-mrl does.
func mrlEmbedder(b *store.Bundle, e *engine.Engine, g *gallery.Gallery, ds *dataset.Dataset) (*galleryEmbedder, error) {
	m, err := mrl.LoadBundle(e.Tokenizer.Backend, b)
	if err != nil {
		return nil, fmt.Errorf("%w; train it first ('irgen train-mrl --model %s --train-only')", err, b.Dir())
	}
	idx, err := splitPositions(ds, g.Keys)
	if err != nil {
		return nil, err
	}
	weights := b.Manifest().Files[mrl.WeightsFile].SHA256
	em := &galleryEmbedder{file: mrl.EmbeddingsFile,
		next: "; build its HNSW graph with 'irgen train-mrl' and the flags it was trained with (training done, embeddings current)"}
	em.set = pgcat.VectorSet{Method: "mrl", Model: "mrl:" + weights, Gallery: store.KeysDigest(g.Keys), Dim: m.Config.Dim, Total: g.Len()}
	loader := dataset.NewLoader(ds.Gallery, e.Transform, config.Workers())
	em.embed = func(ctx context.Context, ids []int) ([]float32, error) {
		pos := make([]int, len(ids))
		for k, id := range ids {
			pos[k] = idx[id]
		}
		return mrl.EmbedImages(ctx, m, loader, pos, nil)
	}
	em.write = func(data []float32) error {
		emb := &mrl.Embeddings{N: g.Len(), Dim: em.set.Dim, Keys: em.set.Gallery, Model: weights, Data: data}
		_, err := writeFresh(b.Dir(), mrl.EmbeddingsFile, func(w io.Writer) error {
			_, err := emb.WriteTo(w)
			return err
		}, nil)
		return err
	}
	return em, nil
}

// rows returns rows ids of data (rows of dim values).
func rows(data []float32, dim int, ids []int) []float32 {
	out := make([]float32, 0, len(ids)*dim)
	for _, id := range ids {
		out = append(out, data[id*dim:(id+1)*dim]...)
	}
	return out
}
