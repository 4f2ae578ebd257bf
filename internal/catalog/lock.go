package catalog

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrLocked reports a catalog another process serves.
var ErrLocked = errors.New("catalog: in use by another process")

// lock takes the exclusive lock of the catalog at path, held until the
// returned file is closed (or the process ends), and writes its pid into
// the lock file for the message another process gets.
func lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("catalog: lock %q: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is served by process %s; stop it, or give this server another --catalog",
				ErrLocked, path, strings.TrimSpace(string(pid)))
		}
		return nil, fmt.Errorf("catalog: lock %q: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
