package main

import (
	"fmt"
	"slices"
	"strings"
)

// notCompared is the ratio cell of a peer that ran on the reference BLAS
// (issue #15): Debian's libblas3 made PyTorch's ViT-Tiny forward 24× and
// FAISS's exact batch search 16× slower than OpenBLAS did, so a ratio
// against it measures the packaging, not the peer.
const notCompared = "peer on reference BLAS: not compared"

// refusal says why irgen is not compared with the peer's measurement pr
// (the record that holds its "blas" field), or "" if it is.
func refusal(pr rec) string {
	if pr != nil && pr.s("blas") == "reference" {
		return notCompared
	}
	return ""
}

// blasOf is the BLAS a peer's measurement reports, for the ratio table.
func blasOf(pr rec) string {
	if pr == nil || !isPeer(pr) {
		return ""
	}
	if b := pr.s("blas"); b != "" {
		return b
	}
	return "BLAS not recorded"
}

// isPeer reports whether r is a peer's line (it carries a peer's version).
func isPeer(r rec) bool {
	return r.s("torch") != "" || r.s("faiss") != ""
}

// peerBLAS is one BLAS library a peer reported.
type peerBLAS struct {
	Impl string `json:"impl"`
	BLAS string `json:"blas"`
	Path string `json:"blas_path,omitempty"`
	// Build is the BLAS the peer was built for (torch's BLAS_INFO).
	Build string `json:"blas_build,omitempty"`
}

// peerBLASes lists the distinct BLAS libraries each peer reported, in the
// order of the lines; a peer's line without one counts as "not recorded".
func (rp *report) peerBLASes() []peerBLAS {
	var out []peerBLAS
	for _, r := range rp.recs {
		if !isPeer(r) {
			continue
		}
		p := peerBLAS{Impl: r.s("impl"), BLAS: r.s("blas"), Path: r.s("blas_path"), Build: r.s("blas_build")}
		if p.BLAS == "" {
			p.BLAS = "not recorded"
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// blasNote says which BLAS each peer loaded and, if one loaded the
// reference BLAS, why its ratios are missing and how to get them.
func (rp *report) blasNote() string {
	peers := rp.peerBLASes()
	if len(peers) == 0 {
		return ""
	}
	var parts []string
	reference := false
	for _, p := range peers {
		s := p.Impl + " " + p.BLAS
		if p.Path != "" {
			s += " (`" + p.Path + "`)"
		}
		if p.Build != "" {
			s += fmt.Sprintf(", built for BLAS_INFO=%s", p.Build)
		}
		parts = append(parts, s)
		reference = reference || p.BLAS == "reference"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nPeers' BLAS, the library that provided sgemm_ after their first matmul or search (bench/peers/blas.py): %s.\n", strings.Join(parts, "; "))
	if reference {
		b.WriteString("\n**A peer ran on the reference BLAS, so its ratios are not reported** (\"" + notCompared + "\"): it made the peers 16 to 30 times slower than OpenBLAS (issue #15), and the ratio would measure the packaging, not the peer. Install an optimized BLAS (bench/run.sh installs `libopenblas0-pthread`, which Debian makes the `libblas.so.3` alternative unless it was set by hand: `update-alternatives --display libblas.so.3-x86_64-linux-gnu`) and run again.\n")
	}
	return b.String()
}
