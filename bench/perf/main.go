// Command perf is the irgen side of the side-by-side benchmark in bench/:
// one measurement per invocation, selected by -mode, printed as one JSON
// line on standard output so that each measurement's peak memory is its
// own. bench/run.sh runs it next to the PyTorch and FAISS peers in
// bench/peers and bench/report combines the lines into a table.
//
// Modes:
//
//	versions  the Go toolchain and GoMLX module versions built in
//	config    print an encoder size's configuration, for the peers
//	gen       write synthetic clustered unit vectors (or a trained
//	          gallery's features) as .npy files that both sides read
//	encoder   ViT forward (images/s) or one AdamW train step (ms)
//	skeleton  the same ViT's matmuls and convolutions alone
//	matmul    one large square matmul: the backend's achievable GFLOP/s
//	exact     exact top-k with internal/knn
//	hnsw      build and search internal/hnsw at several efSearch
//	beam      decoder-only beam search per query over a trie of n IDs
//	state     bytes per gallery image of the serving state
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/irgen/irgen/internal/encoder"
)

// options holds every flag; each mode reads the ones it needs.
type options struct {
	mode       string
	backend    string
	size       string
	batch      int
	phase      string
	part       string
	iters      int
	warmup     int
	n, dim     int
	clusters   int
	noise      float64
	seed       uint64
	data       string
	queries    string
	numQueries int
	gallery    string
	out, qout  string
	k          int
	threads    string
	threadList []int
	metric     string
	hnswM      int
	efC        int
	efs        string
	width      int
	idM, idL   int
	qbatch     int
	cpuprofile string
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "", "versions|config|gen|encoder|skeleton|matmul|exact|hnsw|beam|state")
	flag.StringVar(&o.backend, "backend", "", "GoMLX backend configuration (\"\": the pure-Go default; onnx:cpu needs -tags onnx)")
	flag.StringVar(&o.size, "size", "mini-hybrid", "encoder size (internal/encoder)")
	flag.IntVar(&o.batch, "batch", 128, "images per encoder call")
	flag.StringVar(&o.phase, "phase", "train", "encoder phase: forward or train")
	flag.StringVar(&o.part, "part", "all", "skeleton: all, or stem for the convolutional stem alone")
	flag.IntVar(&o.iters, "iters", 5, "timed repetitions (encoder, matmul, beam)")
	flag.IntVar(&o.warmup, "warmup", 1, "untimed repetitions after compilation")
	flag.IntVar(&o.n, "n", 10000, "gallery size (gen, beam, state); matmul side (matmul)")
	flag.IntVar(&o.dim, "d", 128, "feature dimension")
	flag.IntVar(&o.clusters, "clusters", 1000, "clusters of the synthetic features")
	flag.Float64Var(&o.noise, "noise", 0.5, "per-dimension spread of a synthetic feature around its cluster centre, relative to the centre's per-dimension scale")
	flag.Uint64Var(&o.seed, "seed", 1, "random seed")
	flag.StringVar(&o.data, "data", "", "gallery features, .npy float32 [n, d]")
	flag.StringVar(&o.queries, "queries", "", "query features, .npy float32 [q, d]")
	flag.IntVar(&o.numQueries, "q", 1000, "number of queries (gen, beam)")
	flag.StringVar(&o.gallery, "gallery", "", "gen: take features from this gallery.bin of a trained model instead of synthesizing them")
	flag.StringVar(&o.out, "out", "", "gen: gallery .npy to write")
	flag.StringVar(&o.qout, "qout", "", "gen: queries .npy to write")
	flag.IntVar(&o.k, "k", 10, "neighbours per query")
	flag.StringVar(&o.threads, "threads", "1", "search thread counts, comma-separated (goroutines; GOMAXPROCS is the largest)")
	flag.StringVar(&o.metric, "metric", "ip", "knn metric: ip or cosine")
	flag.IntVar(&o.hnswM, "M", 16, "HNSW M")
	flag.IntVar(&o.efC, "efc", 200, "HNSW efConstruction")
	flag.StringVar(&o.efs, "ef", "16,32,64,128,256", "HNSW efSearch values")
	flag.IntVar(&o.width, "width", 30, "beam width")
	flag.IntVar(&o.idM, "id-m", 4, "tokens per semantic ID")
	flag.IntVar(&o.idL, "id-l", 256, "codewords per level")
	flag.IntVar(&o.qbatch, "qbatch", 1, "beam: queries per decoder call")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the timed part to this file")
	flag.Parse()
	var err error
	if o.threadList, err = parseInts(o.threads); err != nil || len(o.threadList) == 0 {
		fmt.Fprintf(os.Stderr, "perf: -threads: %v\n", err)
		os.Exit(2)
	}

	rec, err := run(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf: %s: %v\n", o.mode, err)
		os.Exit(1)
	}
	rec["impl"] = "irgen"
	rec["mode"] = o.mode
	addMemory(rec)
	line, err := json.Marshal(rec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(string(line))
}

// record is one measurement: parameters and results.
type record map[string]any

func run(o options) (record, error) {
	switch o.mode {
	case "config":
		cfg, err := encoder.Size(o.size)
		return record{"bench": "config", "size": o.size, "config": cfg, "gflops_forward_per_image": cfg.GFLOPs(),
			"stem_gflops_per_image": stemGFLOPs(cfg)}, err
	case "versions":
		return versions(), nil
	case "gen":
		return runGen(o)
	case "encoder":
		return runEncoder(o)
	case "skeleton":
		return runSkeleton(o)
	case "matmul":
		return runMatmul(o)
	case "exact":
		return runExact(o)
	case "hnsw":
		return runHNSW(o)
	case "beam":
		return runBeam(o)
	case "state":
		return runState(o)
	}
	return nil, fmt.Errorf("unknown mode %q", o.mode)
}

// versions reports the toolchain and the GoMLX modules this binary holds.
func versions() record {
	rec := record{"bench": "versions", "go": runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			switch m.Path {
			case "github.com/gomlx/gomlx", "github.com/gomlx/compute", "github.com/gomlx/compute-onnx":
				rec[m.Path[len("github.com/gomlx/"):]] = m.Version
			}
		}
		for _, s := range bi.Settings {
			if s.Key == "GOEXPERIMENT" || s.Key == "-tags" {
				rec[s.Key] = s.Value
			}
		}
	}
	return rec
}

// profile starts the CPU profile when path is set and returns its stop.
func profile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// addMemory records the process's peak resident set: ru_maxrss and the
// kernel's VmHWM, both in KiB.
func addMemory(rec record) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		rec["ru_maxrss_kb"] = ru.Maxrss
	}
	if kb, ok := vmHWM(); ok {
		rec["vm_hwm_kb"] = kb
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rec["go_heap_sys_kb"] = ms.HeapSys / 1024
}

func vmHWM() (int64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}

// seconds is d in seconds, for JSON.
func seconds(d time.Duration) float64 { return d.Seconds() }

// parseInts parses a comma-separated list of positive integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad value %q in %q", f, s)
		}
		out = append(out, v)
	}
	return out, nil
}
