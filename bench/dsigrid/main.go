// Command dsigrid builds the databases of seed 002's Table 1 grid (issue
// #17) from Fashion-MNIST's 10,000 test images (Debian's
// dataset-fashion-mnist), which no other irgen model trains on:
//
//	dsi512, dsi1024, dsi2048   a database (the indexed gallery) of N
//	                           images and a retrieval set of 0.75·N other
//	                           images, drawn at random (seeded) from the
//	                           test images; the retrieval set split 0.8 /
//	                           0.1 / 0.1 into train, validation and test
//	                           queries as seed 002 §3.2 does
//
// Each is a CSV manifest over one shared folder of PNGs: the database rows
// are "trainval" (indexed, and trained on by irgen's tokenizer), the
// retrieval train and validation rows "train" (irgen train-dsi holds the
// validation ninth out itself), the test rows "query".
//
// Usage: go run ./bench/dsigrid -out DIR        (build the databases)
//
//	go run ./bench/dsigrid -table DIR       (print the grid bench/dsi-table.sh ran in DIR)
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"image/png"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/store"
)

// sizes are Table 1's database sizes.
var sizes = []int{512, 1024, 2048}

func main() {
	out := flag.String("out", "dsigrid", "folder to write the databases into")
	seed := flag.Uint64("seed", 1, "seed of the random draw")
	table := flag.String("table", "", "print the table of the grid run in this folder instead")
	flag.Parse()
	if *table != "" {
		if err := printTable(os.Stdout, *table); err != nil {
			log.Fatal(err)
		}
		return
	}
	fm, err := dataset.Open(dataset.FashionMNIST, dataset.Options{})
	if err != nil {
		log.Fatal(err)
	}
	q := fm.Query
	perm := rand.New(rand.NewPCG(*seed, 17)).Perm(q.Len())
	largest := sizes[len(sizes)-1]
	need := largest + largest*3/4
	if err := os.MkdirAll(filepath.Join(*out, "images"), 0o755); err != nil {
		log.Fatal(err)
	}
	for i := range need {
		if err := writeImage(*out, q, perm[i]); err != nil {
			log.Fatal(err)
		}
	}
	for _, n := range sizes {
		if err := writeDB(*out, q, perm, n, fm.Classes); err != nil {
			log.Fatal(err)
		}
	}
}

func imagePath(i int) string { return filepath.Join("images", fmt.Sprintf("%05d.png", i)) }

func writeImage(dir string, s dataset.Split, i int) error {
	path := filepath.Join(dir, imagePath(i))
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	img, err := s.Load(i)
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// writeDB writes dir/dsiN.csv: the first n images of perm are the
// database, the next 0.75·n the retrieval set (90% train, 10% query).
func writeDB(dir string, s dataset.Split, perm []int, n int, classes []string) error {
	r := n * 3 / 4
	test := r / 10
	rows := [][]string{{"path", "label", "split"}}
	for k, i := range perm[:n+r] {
		split := "trainval"
		switch {
		case k >= n+r-test:
			split = "query"
		case k >= n:
			split = "train"
		}
		rows = append(rows, []string{imagePath(i), classes[s.Label(i)], split})
	}
	name := filepath.Join(dir, fmt.Sprintf("dsi%d.csv", n))
	err := store.WriteFileAtomic(name, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.WriteAll(rows)
		return cw.Error()
	})
	fmt.Printf("%s: database %d, retrieval train+validation %d, test queries %d\n", name, n, r-test, test)
	return err
}
