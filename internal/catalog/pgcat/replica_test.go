package pgcat_test

import (
	"bufio"
	"bytes"
	"image/png"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/cli"
	"github.com/irgen/irgen/internal/pgtest"
	"github.com/irgen/irgen/internal/testmodel"
)

// envReplica makes the test binary run 'irgen serve' as a replica
// instead of running the tests: "MODEL_DIR CATALOG_URL".
const envReplica = "IRGEN_PGCAT_TEST_REPLICA"

// token is the replicas' write token.
const token = "replica-test-token"

func TestMain(m *testing.M) {
	if v := os.Getenv(envReplica); v != "" {
		dir, url, _ := strings.Cut(v, " ")
		os.Exit(cli.Main([]string{"serve", "--model", dir, "--catalog", url, "--addr", "127.0.0.1:0",
			"--token", token, "--timeout", "5s"}))
	}
	code := m.Run()
	pgtest.CloseShared()
	os.Exit(code)
}

// replica is a replica process.
type replica struct {
	cmd    *exec.Cmd
	base   string // http://ADDR
	client *api.Client
	exited chan struct{}
}

// startReplica starts a replica of the model in dir over url and waits
// until it listens.
func startReplica(t testing.TB, dir, url string) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envReplica+"="+dir+" "+url)
	var stderr bytes.Buffer
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if stderr.Len() < 1<<16 {
				stderr.WriteString(line + "\n")
			}
			// "irgen: serving MODEL (… catalog postgres://…) on http://ADDR"
			if _, a, ok := strings.Cut(line, ") on http://"); ok && strings.HasPrefix(line, "irgen: serving ") {
				addr <- a
			}
		}
		cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(r.kill)
	select {
	case a := <-addr:
		hc := &http.Client{Timeout: 10 * time.Second}
		r.base = "http://" + a
		if r.client, err = api.NewClient(r.base, hc); err != nil {
			t.Fatal(err)
		}
		r.client.Token = token
	case <-r.exited:
		t.Fatalf("replica exited: %s", stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatal("replica not listening after 2 minutes")
	}
	return r
}

// kill SIGKILLs the replica and waits for it to end.
func (r *replica) kill() {
	r.cmd.Process.Kill()
	<-r.exited
}

// slot holds the current process of a replica that may be restarted.
type slot struct{ p atomic.Pointer[replica] }

func (s *slot) get() *replica  { return s.p.Load() }
func (s *slot) set(r *replica) { s.p.Store(r) }
func newSlot(r *replica) *slot { s := &slot{}; s.set(r); return s }

// pngOf encodes a synthetic image of class as PNG; seed makes it unique.
func pngOf(class int, seed uint64) []byte {
	var buf bytes.Buffer
	png.Encode(&buf, testmodel.Image(class, rand.New(rand.NewPCG(seed, seed^0x9e37))))
	return buf.Bytes()
}
