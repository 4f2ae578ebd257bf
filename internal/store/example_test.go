package store_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/irgen/irgen/internal/store"
)

func Example() {
	dir, err := os.MkdirTemp("", "irgen-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	model := filepath.Join(dir, "models", "tiny")

	b, err := store.Create(model)
	if err != nil {
		log.Fatal(err)
	}
	err = b.WriteFile("rq.bin", func(w io.Writer) error {
		_, err := w.Write([]byte("IRGENRQ\x01 codebooks"))
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.SetConfig("rq", map[string]int{"levels": 3, "codebook": 256}); err != nil {
		log.Fatal(err)
	}
	b.SetDataset(store.Dataset{Name: "cifar10", Digest: "sha256:0123"})
	if err := b.Save(); err != nil {
		log.Fatal(err)
	}

	o, err := store.Open(model)
	if err != nil {
		log.Fatal(err)
	}
	var rq struct{ Levels, Codebook int }
	if err := o.Config("rq", &rq); err != nil {
		log.Fatal(err)
	}
	fmt.Println(o.Files(), rq.Levels, rq.Codebook, o.VerifyAll())

	// A truncated artifact is caught before it is used.
	if err := os.Truncate(o.Path("rq.bin"), 3); err != nil {
		log.Fatal(err)
	}
	_, err = o.ReadFile("rq.bin")
	fmt.Println(errors.Is(err, store.ErrCorrupt))
	// Output:
	// [rq.bin] 3 256 <nil>
	// true
}
