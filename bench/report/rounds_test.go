package main

import "testing"

func TestBestOfRounds(t *testing.T) {
	recs := []rec{
		{"bench": "versions", "go": "1.26"},
		{"bench": "encoder", "backend": "go", "size": "tiny", "phase": "train", "ms": 1300.0, "peak": 1.0},
		{"bench": "encoder", "backend": "torch", "size": "tiny", "phase": "train", "ms": 450.0},
		{"bench": "encoder", "backend": "go", "size": "tiny", "phase": "forward", "ms": 400.0},
		{"bench": "search", "impl": "irgen", "ms": 5.0},
		{"bench": "encoder", "backend": "go", "size": "tiny", "phase": "train", "ms": 1200.0, "peak": 2.0},
		{"bench": "encoder", "backend": "torch", "size": "tiny", "phase": "train", "ms": 500.0},
		{"bench": "search", "impl": "irgen", "ms": 4.0},
		{"bench": "encoder", "backend": "go", "size": "tiny", "phase": "train", "ms": 1250.0},
	}
	got := bestOfRounds(recs)
	if len(got) != 6 {
		t.Fatalf("got %d records; want 6 (versions, 3 encoder, 2 search): %v", len(got), got)
	}
	check := func(i int, ms, rounds float64, peak float64) {
		t.Helper()
		r := got[i]
		if r.f("ms") != ms || r.f("rounds") != rounds || r.f("peak") != peak {
			t.Errorf("record %d = %v; want ms %v, rounds %v, peak %v", i, r, ms, rounds, peak)
		}
		if n := len(r["ms_rounds"].([]any)); float64(n) != rounds {
			t.Errorf("record %d has %d ms_rounds; want %v", i, n, rounds)
		}
	}
	if got[0].s("bench") != "versions" {
		t.Errorf("first record %v; want the versions line", got[0])
	}
	check(1, 1200, 3, 2) // the fastest round's record, whole
	check(2, 450, 2, 0)
	check(3, 400, 1, 0)
	if got[4].f("ms") != 5 || got[5].f("ms") != 4 {
		t.Errorf("search records %v, %v; want both, unchanged and in order", got[4], got[5])
	}
	if recs[1].f("rounds") != 0 {
		t.Error("bestOfRounds changed its input")
	}
}
