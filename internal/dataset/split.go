package dataset

import (
	"fmt"
	"image"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/irgen/irgen/internal/imageproc"
)

// Files is a split of image files on disk.
type Files struct {
	// Root is the directory relative paths are resolved against.
	Root string
	// Paths are slash-separated, relative to Root unless absolute. They are
	// the keys.
	Paths  []string
	Labels []int
	// Limits bounds the decoding of each file.
	Limits imageproc.Limits
}

// Len returns the number of files.
func (f *Files) Len() int { return len(f.Paths) }

// Label returns the class index of file i.
func (f *Files) Label(i int) int { return f.Labels[i] }

// Key returns the path of file i as listed (relative to Root unless absolute).
func (f *Files) Key(i int) string { return f.Paths[i] }

// Path returns the file system path of file i.
func (f *Files) Path(i int) string {
	p := filepath.FromSlash(f.Paths[i])
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(f.Root, p)
}

// Load decodes file i within f.Limits.
func (f *Files) Load(i int) (image.Image, error) {
	if i < 0 || i >= f.Len() {
		return nil, fmt.Errorf("%w: %d not in [0, %d)", ErrIndex, i, f.Len())
	}
	img, err := imageproc.DecodeFile(f.Path(i), f.Limits)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	return img, nil
}

// Config decodes only the header of file i.
func (f *Files) Config(i int) (image.Config, error) {
	if i < 0 || i >= f.Len() {
		return image.Config{}, fmt.Errorf("%w: %d not in [0, %d)", ErrIndex, i, f.Len())
	}
	cfg, _, err := imageproc.DecodeConfigFile(f.Path(i), f.Limits)
	if err != nil {
		return cfg, fmt.Errorf("dataset: %w", err)
	}
	return cfg, nil
}

// subset is the generic result of Sub and Limit.
type subset struct {
	s   Split
	idx []int
}

func (s *subset) Len() int         { return len(s.idx) }
func (s *subset) Label(i int) int  { return s.s.Label(s.idx[i]) }
func (s *subset) Key(i int) string { return s.s.Key(s.idx[i]) }
func (s *subset) Load(i int) (image.Image, error) {
	if i < 0 || i >= len(s.idx) {
		return nil, fmt.Errorf("%w: %d not in [0, %d)", ErrIndex, i, len(s.idx))
	}
	return s.s.Load(s.idx[i])
}

// Labels returns the class index of every item of s.
func Labels(s Split) []int32 {
	out := make([]int32, s.Len())
	for i := range out {
		out[i] = int32(s.Label(i))
	}
	return out
}

// Sub returns the items idx of s, in that order; keys are unchanged. A *Files
// or *Gray split gives a split of the same type. Sub panics if an index is out
// of range, like slice indexing.
func Sub(s Split, idx []int) Split {
	n := s.Len()
	for _, j := range idx {
		if j < 0 || j >= n {
			panic(fmt.Sprintf("dataset: Sub index %d out of range [0, %d)", j, n))
		}
	}
	switch v := s.(type) {
	case *Files:
		out := &Files{Root: v.Root, Limits: v.Limits, Paths: make([]string, len(idx)), Labels: make([]int, len(idx))}
		for i, j := range idx {
			out.Paths[i], out.Labels[i] = v.Paths[j], v.Labels[j]
		}
		return out
	case *Gray:
		return v.sub(idx)
	case *subset:
		out := &subset{s: v.s, idx: make([]int, len(idx))}
		for i, j := range idx {
			out.idx[i] = v.idx[j]
		}
		return out
	}
	return &subset{s: s, idx: append([]int(nil), idx...)}
}

// Limit returns the first n items of s (all of s if it has fewer). A *Files
// or *Gray split gives a split of the same type sharing memory with s.
func Limit(s Split, n int) Split {
	n = max(n, 0)
	if n >= s.Len() {
		return s
	}
	switch v := s.(type) {
	case *Files:
		return &Files{Root: v.Root, Limits: v.Limits, Paths: v.Paths[:n:n], Labels: v.Labels[:n:n]}
	case *Gray:
		return v.limit(n)
	case *subset:
		return &subset{s: v.s, idx: v.idx[:n:n]}
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return &subset{s: s, idx: idx}
}

// Scan checks every item of split and returns the split without the bad
// ones, and one error per bad item, naming it. Files are checked by decoding
// their headers within opt.Limits (missing, unreadable, non-image, oversized
// and header-corrupt files are caught; a damaged body still fails at Load);
// in-memory *Gray splits need no check; other splits are loaded. opt.Report, if set, is called for each bad item in
// index order. When nothing is bad, good is split itself.
func Scan(split Split, opt Options) (good Split, bad []error) {
	var check func(i int) error
	switch v := split.(type) {
	case *Gray:
		return split, nil
	case *Files:
		check = func(i int) error {
			_, _, err := imageproc.DecodeConfigFile(v.Path(i), opt.Limits)
			return err
		}
	default:
		check = func(i int) error {
			_, err := split.Load(i)
			return err
		}
	}
	n := split.Len()
	errs := make([]error, n)
	workers := min(2*runtime.GOMAXPROCS(0), 16, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				errs[i] = check(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()

	keep := make([]int, 0, n)
	for i, err := range errs {
		if err == nil {
			keep = append(keep, i)
			continue
		}
		err = fmt.Errorf("dataset: skip %s: %w", split.Key(i), err)
		bad = append(bad, err)
		if opt.Report != nil {
			opt.Report(split.Key(i), err)
		}
	}
	if len(bad) == 0 {
		return split, nil
	}
	return Sub(split, keep), bad
}
