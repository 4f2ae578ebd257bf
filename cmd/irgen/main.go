// Command irgen indexes an image collection for generative retrieval,
// searches it and evaluates retrieval methods side by side.
package main

import (
	"os"

	"github.com/irgen/irgen/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
