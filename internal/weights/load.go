package weights

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// maxDepth bounds the block indices taken from tensor names.
const maxDepth = 1024

// LoadViT reads the ViT weights in a local .safetensors file, detecting the
// naming convention. When a Hugging Face config.json sits in the same
// directory, the head count, activation and LayerNorm epsilon are taken
// from it (see Arch.ApplyHFConfig). Errors name the file and, where one is
// at fault, the tensor.
func LoadViT(path string) (*ViT, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	v, err := ReadViT(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("weights: load %q: %w", path, err)
	}
	cfgPath := filepath.Join(filepath.Dir(path), "config.json")
	cfg, err := os.ReadFile(cfgPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("weights: load %q: %w", path, err)
	default:
		if err := v.Arch.ApplyHFConfig(cfg); err != nil {
			return nil, fmt.Errorf("weights: load %q: %s: %w", path, cfgPath, err)
		}
	}
	return v, nil
}

// ReadViT reads ViT weights from a safetensors file of the given size. Only
// the header and the encoder's tensors are read.
func ReadViT(r io.ReaderAt, size int64) (*ViT, error) {
	f, err := openST(r, size)
	if err != nil {
		return nil, err
	}
	lay, prefix, err := detect(f)
	if err != nil {
		return nil, err
	}
	for _, name := range f.names() {
		rel, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		for _, u := range lay.unsupported {
			if strings.Contains(rel, u.substr) {
				return nil, fmt.Errorf("%w: tensor %q: %s", ErrUnsupported, name, u.reason)
			}
		}
	}
	v, err := convert(f, lay, prefix)
	if err != nil {
		return nil, err
	}
	if err := unused(f, lay, prefix); err != nil {
		return nil, err
	}
	return v, nil
}

// detect finds the convention and the model prefix from the patch
// embedding's name. A file holding two encoders is ambiguous.
func detect(f *stFile) (*layout, string, error) {
	var (
		found  *layout
		prefix string
	)
	for _, name := range f.names() {
		for _, lay := range layouts {
			p, ok := strings.CutSuffix(name, lay.patch.w)
			if !ok || (p != "" && !strings.HasSuffix(p, ".")) {
				continue
			}
			if found != nil {
				return nil, "", fmt.Errorf("%w: ambiguous: a %s encoder at %q and a %s encoder at %q",
					ErrUnknownModel, found.format, prefix, lay.format, p)
			}
			found, prefix = lay, p
		}
	}
	if found == nil {
		return nil, "", fmt.Errorf("%w: no patch embedding named like CLIP, timm or HF ViT among %d tensors", ErrUnknownModel, len(f.tensors))
	}
	return found, prefix, nil
}

// depth counts the transformer blocks: one more than the largest index.
func depth(f *stFile, blockPrefix string) int {
	n := 0
	for name := range f.tensors {
		rest, ok := strings.CutPrefix(name, blockPrefix)
		if !ok {
			continue
		}
		idx, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(idx)
		if err == nil && i >= 0 && i < maxDepth && i >= n {
			n = i + 1
		}
	}
	return n
}

// unused refuses tensors under the model prefix that were neither read nor
// ignored: they belong to a variant irgen would compute wrongly.
func unused(f *stFile, lay *layout, prefix string) error {
	for _, name := range f.names() {
		rel, ok := strings.CutPrefix(name, prefix)
		if !ok || f.used[name] {
			continue
		}
		ignored := false
		for _, ig := range lay.ignore {
			ignored = ignored || strings.HasPrefix(rel, ig)
		}
		if !ignored {
			return fmt.Errorf("%w: unexpected tensor %q in a %s checkpoint", ErrUnsupported, name, lay.format)
		}
	}
	return nil
}
