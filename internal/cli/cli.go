// Package cli implements irgen's subcommands. commands.go lists them; each
// other file holds one command, which assembles its part of the pipeline
// from the internal packages.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/irgen/irgen/internal/train"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands maps a subcommand's name to it (commands.go).
var commands map[string]command

// stdout and stderr are variables so tests can capture them.
var (
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
)

// Main runs the subcommand named by args[0] and returns the exit code.
func Main(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "irgen: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cmd.run(ctx, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, train.ErrInterrupted):
		fmt.Fprintln(stderr, "irgen:", err)
		return 130
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "irgen:", err)
		return 2
	}
	fmt.Fprintln(stderr, "irgen:", err)
	return 1
}

// MainIO is Main writing to out and errOut instead of os.Stdout and
// os.Stderr, for tests that drive the CLI. It is not safe for concurrent
// use.
func MainIO(args []string, out, errOut io.Writer) int {
	stdout, stderr = out, errOut
	defer func() { stdout, stderr = os.Stdout, os.Stderr }()
	return Main(args)
}

var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "irgen: generative image retrieval (IRGen) and its baselines")
	fmt.Fprintln(w, "\nUsage: irgen <command> [flags]\n\nCommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'irgen <command> --help' for the flags of a command.")
}

// newFlags returns a flag set whose --help prints the command's summary
// and flags.
func newFlags(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: irgen %s %s\n\n%s.\n\nFlags:\n", name, args, commands[name].summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, allowing flags after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseFlags is parse for a command that takes no positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, pos)
	}
	return nil
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var k int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &k); err != nil || k <= 0 {
			return nil, fmt.Errorf("%w: %q is not a list of positive integers", errUsage, s)
		}
		out = append(out, k)
	}
	return out, nil
}

// flagDefiner is the part of *flag.FlagSet that flag groups use.
type flagDefiner interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	Float64Var(*float64, string, float64, string)
	Int64Var(*int64, string, int64, string)
	BoolVar(*bool, string, bool, string)
}
