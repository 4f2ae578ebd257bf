package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Start starts the server process and waits until it takes connections.
func (s *Server) Start() error {
	if s.cmd != nil {
		return errors.New("pgtest: the server runs already")
	}
	log, err := os.OpenFile(filepath.Join(s.dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	cmd := s.command("postgres", "-D", s.data(), "-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "shared_buffers=64MB")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	s.cmd, s.log, s.done = cmd, log, make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	return s.waitReady(30 * time.Second)
}

// waitReady polls the server until a connection succeeds.
func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case werr := <-s.done:
			s.done <- werr
			return fmt.Errorf("pgtest: postgres exited (%v):\n%s", werr, s.Log())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: postgres not ready after %v: %v\n%s", limit, err, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the server down: a fast shutdown (open transactions are
// rolled back, clients disconnected), then SIGKILL after 30 s.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	var err error
	select {
	case err = <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		err = <-s.done
	}
	s.cmd = nil
	s.log.Close()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("pgtest: postgres stopped: %w", err)
	}
	return nil
}

// Restart stops the server and starts it again on the same port.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

// Log returns the server's log.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "log"))
	return string(b)
}

// Close stops the server and removes its folder.
func (s *Server) Close() {
	s.Stop()
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}
