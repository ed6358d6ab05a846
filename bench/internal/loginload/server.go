package loginload

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/forgeauth/forgeauth/bench/internal/loadstat"
)

// ErrNoAddress is returned, wrapped, by [StartServer] when the child exits
// or closes its output before printing "listening on ADDR".
var ErrNoAddress = errors.New("loginload: the server printed no address")

// stopGrace is how long Stop waits after SIGTERM before it kills.
const stopGrace = 10 * time.Second

// Server is a server running as a child process. Its methods are not safe
// for concurrent use.
type Server struct {
	addr string
	cmd  *exec.Cmd
	done chan error // the result of cmd.Wait

	stopped bool
	stopErr error
}

// StartServer runs path with args and env (nil: this process's
// environment) and waits until it prints a line "listening on ADDR" on its
// standard output, or ctx ends. The child's other output lines are dropped;
// its standard error goes to stderr (nil: discarded). The child is killed
// if this process dies first (Linux).
//
// It returns the error of starting the process, an error wrapping
// [ErrNoAddress] when the child ends or closes its output first, and
// ctx.Err() (the child then killed) when ctx ends first.
func StartServer(ctx context.Context, path string, args, env []string, stderr io.Writer) (*Server, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("loginload: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("loginload: starting the server: %w", err)
	}
	s := &Server{cmd: cmd, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addrc <- strings.TrimSpace(a)
				break
			}
		}
		close(addrc)
		// Keep draining so the child never blocks on a full pipe; the
		// pipe closes when it exits.
		_, _ = io.Copy(io.Discard, out)
		s.done <- cmd.Wait()
	}()
	select {
	case a, ok := <-addrc:
		if !ok {
			err := <-s.done
			return nil, fmt.Errorf("%w (exit: %v)", ErrNoAddress, err)
		}
		s.addr = a
		return s, nil
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-s.done
		return nil, ctx.Err()
	}
}

// Addr is the address the server printed, e.g. "127.0.0.1:41234".
func (s *Server) Addr() string { return s.addr }

// URL is "http://" + Addr.
func (s *Server) URL() string { return "http://" + s.addr }

// PID is the child's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// PeakRSS returns the child's peak resident set size in bytes (VmHWM); see
// [loadstat.PeakRSS] for its errors. Call it before Stop.
func (s *Server) PeakRSS() (int64, error) { return loadstat.PeakRSS(s.PID()) }

// Stop sends SIGTERM, waits up to ten seconds for the child to exit, then
// kills it. It returns nil when the child exited cleanly, the error of
// signalling it, or its exit error (a killed child's included); a second
// call returns the first call's result.
func (s *Server) Stop() error {
	if !s.stopped {
		s.stopped = true
		s.stopErr = s.stop()
	}
	return s.stopErr
}

func (s *Server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("loginload: %w", err)
	}
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case err := <-s.done:
		return err
	case <-t.C:
		_ = s.cmd.Process.Kill()
		return <-s.done
	}
}
