package dataset

import (
	"bufio"
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// lineErr returns an ErrFormat error located at path:line.
func lineErr(path string, line int, format string, args ...any) error {
	return fmt.Errorf("%w: %s:%d: %s", ErrFormat, path, line, fmt.Sprintf(format, args...))
}

// someRows returns the rows read from the file named name, or err, the
// error reading them; a file without rows is an error.
func someRows[T any](name string, rows []T, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: %s: no rows", ErrFormat, name)
	}
	return rows, nil
}

// readLines calls fn with the 1-based number and trimmed text of every
// non-blank line of path.
func readLines(path string, fn func(line int, text string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if err := fn(line, text); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %s:%d: %w", ErrFormat, path, line+1, err)
	}
	return nil
}

// fieldsN splits s on white space into exactly n fields, the last one
// taking the rest of the line (so it may contain spaces).
func fieldsN(s string, n int) ([]string, bool) {
	out := make([]string, 0, n)
	for len(out) < n-1 {
		s = strings.TrimLeft(s, " \t")
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return nil, false
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false
	}
	return append(out, s), true
}

// classIndex returns the distinct names sorted (numerically when all are
// integers) and the index of each.
func classIndex(names []string) ([]string, map[string]int) {
	idx := make(map[string]int)
	var classes []string
	numeric := true
	for _, n := range names {
		if _, ok := idx[n]; ok {
			continue
		}
		idx[n] = 0
		classes = append(classes, n)
		if _, err := strconv.ParseInt(n, 10, 64); err != nil {
			numeric = false
		}
	}
	if numeric {
		slices.SortFunc(classes, func(a, b string) int {
			x, _ := strconv.ParseInt(a, 10, 64)
			y, _ := strconv.ParseInt(b, 10, 64)
			return cmp.Compare(x, y)
		})
	} else {
		slices.Sort(classes)
	}
	for i, c := range classes {
		idx[c] = i
	}
	return classes, idx
}

// builder collects (path, class name) items and turns them into Files
// splits with a shared class index.
type builder struct {
	root   string
	opt    Options
	names  []string
	splits map[string]*rawSplit
}

type rawSplit struct {
	paths, classes []string
}

func newBuilder(root string, opt Options) *builder {
	return &builder{root: root, opt: opt, splits: map[string]*rawSplit{}}
}

func (b *builder) add(split, path, class string) {
	s := b.splits[split]
	if s == nil {
		s = &rawSplit{}
		b.splits[split] = s
	}
	s.paths = append(s.paths, path)
	s.classes = append(s.classes, class)
	b.names = append(b.names, class)
}

// build returns the classes and one Files per split name, in order.
func (b *builder) build(splits ...string) ([]string, []*Files) {
	classes, idx := classIndex(b.names)
	out := make([]*Files, len(splits))
	for i, name := range splits {
		f := &Files{Root: b.root, Limits: b.opt.Limits}
		if s := b.splits[name]; s != nil {
			f.Paths = s.paths
			f.Labels = make([]int, len(s.classes))
			for j, c := range s.classes {
				f.Labels[j] = idx[c]
			}
		}
		out[i] = f
	}
	return classes, out
}
