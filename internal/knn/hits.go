package knn

// Hits returns how many results of got are among want's, by ID: the hits
// behind the recall of an approximate search (got) against exact search
// (want) for one query.
func Hits(want, got []Result) int {
	ids := make(map[int]bool, len(want))
	for _, r := range want {
		ids[r.ID] = true
	}
	n := 0
	for _, r := range got {
		if ids[r.ID] {
			n++
		}
	}
	return n
}
