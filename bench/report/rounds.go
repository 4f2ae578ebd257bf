package main

import "strings"

// roundFields identify a measurement across rounds: everything that says
// what was measured, nothing that says how long it took.
var roundFields = []string{"bench", "mode", "impl", "backend", "size", "batch", "phase", "part", "n"}

// bestOfRounds keeps, of the encoder, skeleton and matmul measurements that
// bench/run.sh repeats in ROUNDS interleaved rounds, the fastest round of
// each (lowest "ms", itself a median over the calls of that round), and
// adds to it "rounds" (how many there were) and "ms_rounds" (each round's
// ms, in order). Other records pass through unchanged and in order.
func bestOfRounds(recs []rec) []rec {
	repeated := func(r rec) bool {
		switch r.s("bench") {
		case "encoder", "skeleton", "matmul":
			return true
		}
		return false
	}
	key := func(r rec) string {
		var b strings.Builder
		for _, f := range roundFields {
			b.WriteString(f + "=" + r.s(f) + ";")
		}
		return b.String()
	}
	best := map[string]int{} // key → index in out
	var out []rec
	for _, r := range recs {
		if !repeated(r) {
			out = append(out, r)
			continue
		}
		k := key(r)
		i, ok := best[k]
		if !ok {
			c := rec{}
			for f, v := range r {
				c[f] = v
			}
			c["rounds"] = 1.0
			c["ms_rounds"] = []any{r["ms"]}
			best[k] = len(out)
			out = append(out, c)
			continue
		}
		prev := out[i]
		rounds, msRounds := prev.f("rounds")+1, append(prev["ms_rounds"].([]any), r["ms"])
		if r.f("ms") < prev.f("ms") {
			c := rec{}
			for f, v := range r {
				c[f] = v
			}
			out[i] = c
		}
		out[i]["rounds"] = rounds
		out[i]["ms_rounds"] = msRounds
	}
	return out
}
