// Command report combines the JSON lines of bench/run.sh (bench/perf and
// the peers in bench/peers) into bench.json and bench.md: the machine,
// the versions, a table of irgen/peer ratios and, for each part, the
// measurements that explain them. Every number comes from the lines.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// rec is one measurement line.
type rec map[string]any

func (r rec) f(key string) float64 {
	v, _ := r[key].(float64)
	return v
}

func (r rec) s(key string) string {
	switch v := r[key].(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	}
	return ""
}

func (r rec) list(key string) []rec {
	raw, _ := r[key].([]any)
	var out []rec
	for _, x := range raw {
		if m, ok := x.(map[string]any); ok {
			out = append(out, rec(m))
		}
	}
	return out
}

// peakMiB is the process's peak resident set in MiB (VmHWM, else ru_maxrss).
func (r rec) peakMiB() float64 {
	if v := r.f("vm_hwm_kb"); v > 0 {
		return v / 1024
	}
	return r.f("ru_maxrss_kb") / 1024
}

// match reports whether r has every key=value of kv.
func (r rec) match(kv ...string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if r.s(kv[i]) != kv[i+1] {
			return false
		}
	}
	return true
}

type report struct {
	recs   []rec
	ratios []ratio
	md     strings.Builder
}

// ratio is one row of the headline table. Time and memory ratios are
// irgen / peer, so below 1 irgen is faster or smaller.
type ratio struct {
	Measurement string  `json:"measurement"`
	Unit        string  `json:"unit"`
	Irgen       float64 `json:"irgen"`
	Peer        float64 `json:"peer"`
	PeerName    string  `json:"peer_name"`
	PeerBLAS    string  `json:"peer_blas,omitempty"`
	Ratio       float64 `json:"ratio,omitempty"`        // irgen/peer time (or memory)
	NotCompared string  `json:"not_compared,omitempty"` // why there is no ratio
	IrgenPeak   float64 `json:"irgen_peak_mib"`
	PeerPeak    float64 `json:"peer_peak_mib"`
}

func (rp *report) find(kv ...string) rec {
	for _, r := range rp.recs {
		if r.match(kv...) {
			return r
		}
	}
	return nil
}

func (rp *report) all(kv ...string) []rec {
	var out []rec
	for _, r := range rp.recs {
		if r.match(kv...) {
			out = append(out, r)
		}
	}
	return out
}

func (rp *report) printf(format string, args ...any) { fmt.Fprintf(&rp.md, format, args...) }

func (rp *report) addRatio(name, unit string, irgen, peer float64, peerName string, ir, pr rec) {
	if irgen <= 0 || peer <= 0 {
		return
	}
	r := ratio{Measurement: name, Unit: unit, Irgen: irgen, Peer: peer, PeerName: peerName, PeerBLAS: blasOf(pr), Ratio: irgen / peer}
	if why := refusal(pr); why != "" {
		r.Ratio, r.NotCompared = 0, why
	}
	if ir != nil {
		r.IrgenPeak = ir.peakMiB()
	}
	if pr != nil {
		r.PeerPeak = pr.peakMiB()
	}
	rp.ratios = append(rp.ratios, r)
}

func main() {
	raw := flag.String("raw", "bench/results/raw.jsonl", "measurement lines")
	jsonOut := flag.String("json", "bench/results/bench.json", "results JSON to write")
	mdOut := flag.String("md", "bench/results/bench.md", "results Markdown to write")
	profiles := flag.String("profiles", "", "folder of pprof -top text files to quote")
	flag.Parse()
	recs, err := readLines(*raw)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	rp := &report{recs: bestOfRounds(recs)}
	machine := machineInfo()
	versions := rp.versions()
	rp.header(machine, versions)
	enc := rp.encoder()
	rp.search()
	rp.beamVsKNN()
	rp.state()
	rp.profiles(*profiles)

	table := rp.ratioTable()
	md := "# irgen side by side: PyTorch and FAISS\n\n" + table + "\n" + rp.md.String()
	out := map[string]any{"machine": machine, "versions": versions, "peer_blas": rp.peerBLASes(), "ratios": rp.ratios, "encoder_breakdown": enc, "records": rp.recs}
	data, _ := json.MarshalIndent(out, "", "  ")
	if err := os.WriteFile(*jsonOut, append(data, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*mdOut, []byte(md), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	fmt.Print(table)
	fmt.Printf("\nwrote %s and %s\n", *jsonOut, *mdOut)
}

func readLines(path string) ([]rec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []rec
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r rec
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// machineInfo reads the CPU model, flags of interest and memory.
func machineInfo() map[string]any {
	m := map[string]any{"cores": runtime.NumCPU(), "goos": runtime.GOOS, "goarch": runtime.GOARCH}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch k {
			case "model name":
				m["cpu"] = v
			case "flags":
				var simd []string
				for _, f := range []string{"avx2", "fma", "avx512f", "avx512_vnni", "amx_tile"} {
					if slices.Contains(strings.Fields(v), f) {
						simd = append(simd, f)
					}
				}
				m["simd"] = strings.Join(simd, " ")
			}
			if _, done := m["simd"]; done && m["cpu"] != nil {
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb float64
				fmt.Sscan(rest, &kb)
				m["memory_gib"] = kb / (1 << 20)
			}
		}
	}
	return m
}

func (rp *report) versions() map[string]string {
	v := map[string]string{}
	if r := rp.find("bench", "versions"); r != nil {
		for _, k := range []string{"go", "gomlx", "compute", "compute-onnx", "GOEXPERIMENT", "-tags"} {
			if s := r.s(k); s != "" {
				v[k] = s
			}
		}
	}
	if r := rp.find("bench", "meta"); r != nil && r.s("onnxruntime") != "" {
		v["onnxruntime"] = r.s("onnxruntime")
	}
	for _, r := range rp.recs {
		for _, k := range []string{"torch", "faiss", "numpy"} {
			if s := r.s(k); s != "" {
				v[k] = s
			}
		}
	}
	return v
}

func (rp *report) header(machine map[string]any, versions map[string]string) {
	rp.printf("## Machine and versions\n\n")
	meta := rp.find("bench", "meta")
	if meta != nil {
		rp.printf("- date: %s (load average at start %.2f%s)\n", meta.s("date"), meta.f("load_avg_start"),
			map[bool]string{true: ", QUICK smoke run: sizes cut, not for comparison", false: ""}[meta.s("quick") == "1"])
		if p := meta.s("omp_wait_policy"); p != "" {
			rp.printf("- peers' OpenMP: OMP_WAIT_POLICY=%s\n", p)
		}
		if l := meta.s("libblas"); l != "" {
			rp.printf("- system libblas.so.3: `%s` (what each peer loaded is under the ratio table)\n", l)
		}
	}
	rp.printf("- CPU: %v, %v cores (%v), %.1f GiB memory\n", machine["cpu"], machine["cores"], machine["simd"], machine["memory_gib"])
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(versions)) {
		parts = append(parts, k+" "+versions[k])
	}
	rp.printf("- versions: %s\n\n", strings.Join(parts, ", "))
}

func (rp *report) ratioTable() string {
	var b strings.Builder
	b.WriteString("| measurement | unit | irgen | peer | irgen/peer | peak MiB irgen | peak MiB peer |\n|---|---|--:|--:|--:|--:|--:|\n")
	for _, r := range rp.ratios {
		peer, cell := r.PeerName, fmt.Sprintf("**%.2f**", r.Ratio)
		if r.PeerBLAS != "" {
			peer += "; " + r.PeerBLAS
		}
		if r.NotCompared != "" {
			cell = r.NotCompared
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s (%s) | %s | %.0f | %.0f |\n", r.Measurement, r.Unit, num(r.Irgen), num(r.Peer), peer, cell, r.IrgenPeak, r.PeerPeak)
	}
	b.WriteString("\nRatios are irgen time (or memory) over the peer's on the same data and shapes: below 1, irgen is faster. Throughputs enter as time per query or per image.\n")
	b.WriteString(rp.blasNote())
	return b.String()
}

func num(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func (rp *report) profiles(dir string) {
	if dir == "" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	if len(files) == 0 {
		return
	}
	rp.printf("## CPU profiles of the irgen runs\n\nTop functions by flat time (`go tool pprof -top`); the .pprof files are next to them.\n\n")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.Split(string(data), "\n")
		start := slices.IndexFunc(lines, func(s string) bool { return strings.Contains(s, "flat%") })
		if start < 0 {
			continue
		}
		end := min(len(lines), start+13)
		rp.printf("<details><summary>%s</summary>\n\n```\n%s\n```\n</details>\n\n", filepath.Base(f), strings.Join(lines[max(0, start-3):end], "\n"))
	}
}
