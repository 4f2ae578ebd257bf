package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/irgen/irgen/internal/baseline/dsi"
	"github.com/irgen/irgen/internal/store"
)

// forgetDSI removes what --fresh retrains, what: "" (nothing),
// "retrieval" (the retrieval phase) or "all" (everything of ViT-DSI),
// from the model in dir and its manifest.
func forgetDSI(dir, what string) error {
	if what == "" {
		return nil
	}
	b, err := loadBundle(dir)
	if err != nil {
		return err
	}
	sub := dsi.RetrievalDir
	if what == "all" {
		sub = dsi.Dir
	}
	var files []string
	for _, f := range b.Files() {
		if strings.HasPrefix(f, sub+"/") {
			files = append(files, f)
		}
	}
	b.Forget(files)
	if err := b.Save(); err != nil {
		return err
	}
	return os.RemoveAll(b.Path(sub))
}

// dsiIDs returns the IDs saved in the model, or assigns and saves them.
// Saved IDs made with other settings or for another gallery are refused.
func dsiIDs(b *store.Bundle, ac dsi.AssignConfig, labels []int32, features []float32, dim int, keys []string) (*dsi.IDs, error) {
	digest := store.KeysDigest(keys)
	ids, err := dsi.LoadIDs(b.Dir())
	switch {
	case err == nil:
		if ids.Scheme != ac.Scheme || ids.Gallery != digest {
			return nil, fmt.Errorf("%s holds ViT-DSI IDs by scheme %s for %d images; to change them delete %s",
				b.Dir(), ids.Scheme, ids.Len(), b.Path(dsi.Dir))
		}
		return ids, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	if ids, err = dsi.Assign(ac, labels, features, dim); err != nil {
		return nil, err
	}
	ids.Gallery = digest
	if err := os.MkdirAll(b.Path(dsi.Dir), 0o755); err != nil {
		return nil, err
	}
	err = store.WriteFileAtomic(b.Path(dsi.IDsFile), func(w io.Writer) error {
		_, err := ids.WriteTo(w)
		return err
	})
	return ids, err
}
