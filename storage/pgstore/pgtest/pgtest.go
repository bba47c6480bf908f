// Package pgtest starts a throwaway PostgreSQL server for tests, from the
// binaries installed on the machine (Debian's postgresql package: initdb,
// pg_ctl and postgres, found through pg_config --bindir or
// /usr/lib/postgresql/*/bin). The server listens only on a Unix socket in
// a temporary directory, with fsync and synchronous_commit on.
//
// Without the binaries the test is skipped, saying why, unless the
// environment variable TLOGKIT_REQUIRE_POSTGRES is 1 (as .ci/run sets it),
// which makes it fail instead.
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A Server is a running PostgreSQL server.
type Server struct {
	bin, data, sock string
	cred            *syscall.Credential
	// URL connects to database "postgres" as user "postgres" over the
	// socket.
	URL string
}

// Start starts a new server for t and stops it (and removes its files)
// when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := findBin()
	if err != nil {
		if os.Getenv("TLOGKIT_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("pgtest: %v (TLOGKIT_REQUIRE_POSTGRES=1)", err)
		}
		t.Skipf("pgtest: no PostgreSQL server here: %v", err)
	}
	s := &Server{bin: bin}
	// PostgreSQL refuses to run as root: run it as the postgres user
	// (or nobody), in a directory that user owns.
	dir, err := os.MkdirTemp("", "tlogkit-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		cred, err := serverUser()
		if err != nil {
			t.Fatalf("pgtest: running as root and %v", err)
		}
		s.cred = cred
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	s.data = filepath.Join(dir, "data")
	s.sock = dir
	if out, err := s.run("initdb", "-D", s.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	s.URL = "postgres://postgres@/postgres?host=" + dir + "&sslmode=disable"
	return s
}

// Stop stops the server immediately (as a crash would, -m immediate).
func (s *Server) Stop() {
	s.run("pg_ctl", "-D", s.data, "-m", "immediate", "-w", "-t", "30", "stop")
}

// Restart starts the server (again).
func (s *Server) Restart() error {
	opts := strings.Join([]string{
		"-k", s.sock, "-c", "listen_addresses=''",
		"-c", "fsync=on", "-c", "synchronous_commit=on",
		"-c", "max_connections=200", "-c", "shared_buffers=128MB",
		"-c", "unix_socket_permissions=0777",
	}, " ")
	out, err := s.run("pg_ctl", "-D", s.data, "-o", opts, "-l", filepath.Join(s.sock, "log"), "-w", "-t", "60", "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.sock, "log"))
		return fmt.Errorf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return nil
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Dir = s.sock
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	// pg_ctl keeps the server's output open: do not wait on pipes.
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// findBin returns the directory of initdb, pg_ctl and postgres.
func findBin() (string, error) {
	binOnce.Do(func() {
		var dirs []string
		if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
			dirs = append(dirs, strings.TrimSpace(string(out)))
		}
		vers, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(vers, func(i, j int) bool { return pgVersion(vers[i]) > pgVersion(vers[j]) })
		dirs = append(dirs, vers...)
		for _, d := range dirs {
			ok := true
			for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
				if _, err := os.Stat(filepath.Join(d, b)); err != nil {
					ok = false
				}
			}
			if ok {
				binDir = d
				return
			}
		}
		binErr = fmt.Errorf("no initdb, pg_ctl and postgres (pg_config --bindir, /usr/lib/postgresql/*/bin); install the postgresql package")
	})
	return binDir, binErr
}

func pgVersion(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func serverUser() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
		}
	}
	return nil, fmt.Errorf("no postgres or nobody user to run the server as")
}

// ExpireLease makes the lease of log in the database at url expire now,
// as if its writer had been paused past it.
func ExpireLease(ctx context.Context, url, log string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `UPDATE tlogkit_lease SET expires = now() - interval '1 second' WHERE log = $1`, log)
	return err
}
