// Package pgtest starts a throwaway PostgreSQL server for tests and
// benchmarks: initdb in a temporary folder, the server on a loopback port,
// both run as a non-root user (PostgreSQL refuses to run as root: as root,
// the "postgres" user that Debian's package creates). A test that needs
// one calls Start; it is skipped where the binaries are absent, unless
// $IRGEN_REQUIRE_POSTGRES is 1 (CI), where it fails.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/irgen/irgen/internal/config"
)

// User is the database superuser that initdb creates; it authenticates
// by trust, on loopback only.
const User = "irgen"

// Server is a running PostgreSQL server in a temporary folder.
type Server struct {
	bin  string // folder of initdb and postgres
	dir  string // the temporary folder: data/, the socket, log
	port int
	cred *syscall.Credential // nil when not root
	cmd  *exec.Cmd
	done chan error // the server process's exit
	log  *os.File
}

// Start initializes and starts a server, stopped and removed when tb
// ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := binDir()
	if err != nil {
		if config.RequirePostgres() {
			tb.Fatalf("pgtest: %v ($%s=1)", err, config.EnvRequirePostgres)
		}
		tb.Skipf("pgtest: %v", err)
	}
	s, err := start(bin)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// shared is the server that the tests of one process share (Shared).
var shared struct {
	sync.Mutex
	s *Server
}

// Shared returns a server shared by the tests of this process, started
// on first use, and started again if a test left it stopped; tests take
// a database of their own (CreateDB). TestMain calls CloseShared after
// m.Run. It skips or fails tb as Start does.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.s == nil {
		bin, err := binDir()
		if err != nil {
			if config.RequirePostgres() {
				tb.Fatalf("pgtest: %v ($%s=1)", err, config.EnvRequirePostgres)
			}
			tb.Skipf("pgtest: %v", err)
		}
		if shared.s, err = start(bin); err != nil {
			tb.Fatal(err)
		}
	}
	if shared.s.cmd == nil {
		if err := shared.s.Start(); err != nil {
			tb.Fatal(err)
		}
	}
	return shared.s
}

// CloseShared stops the shared server, if any, and removes its folder.
func CloseShared() {
	shared.Lock()
	defer shared.Unlock()
	if shared.s != nil {
		shared.s.Close()
		shared.s = nil
	}
}

// binDir finds the newest /usr/lib/postgresql/*/bin, else the folder of
// postgres on $PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		return "", errors.New("no PostgreSQL binaries (initdb) in /usr/lib/postgresql/*/bin or $PATH; apt-get install postgresql")
	}
	return filepath.Dir(p), nil
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func start(bin string) (*Server, error) {
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root needs the system user postgres: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("", "irgen-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s.dir = dir
	if s.cred != nil {
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			s.Close()
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	if out, err := s.command("initdb", "-D", s.data(), "-U", User, "-A", "trust", "-E", "UTF8",
		"--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		s.Close()
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	if s.port, err = freePort(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// command runs a PostgreSQL program as the server's user.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true}
	return cmd
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// URL returns the connection URL of database db.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", User, s.port, db)
}

// dbSeq numbers the databases CreateDB makes.
var dbSeq atomic.Int64

// CreateDB creates a database named name and a number (so that tests run
// again, -count=N, get new ones) and returns its URL.
func (s *Server) CreateDB(tb testing.TB, name string) string {
	tb.Helper()
	name = fmt.Sprintf("%s_%d", name, dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatal(err)
	}
	return s.URL(name)
}
