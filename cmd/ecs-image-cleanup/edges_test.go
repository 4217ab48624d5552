package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// The edges of issue 12: outputs, inputs, the terminal and the flags. Each case runs the real
// command in-process against the emulator and checks the exit code, the message, and that no
// request was sent where none may be.

// edgeRun runs the command with args after "--endpoint URL" and returns the exit code, stdout
// and stderr. The emulator's calls are in srv.Calls().
func edgeRun(t *testing.T, srv *ecstest.Server, args ...string) (int, string, string) {
	t.Helper()
	saved := tty
	t.Cleanup(func() { tty = saved })
	tty.stdinTerminal = func() bool { return false }
	tty.stderrTerminal = func() bool { return false }
	if args[0] != "validate" {
		args = append(args, "--endpoint", srv.URL(), "--log-level", "error")
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// policyCopy copies the demo policy into a temporary directory and returns its path.
func policyCopy(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOutputPathsRefusedBeforeAnyRequest(t *testing.T) {
	dir := t.TempDir()
	pol := policyCopy(t)
	polBefore, _ := os.ReadFile(pol)
	existing := filepath.Join(dir, "existing.json")
	if err := os.WriteFile(existing, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.json")
	if err := os.Link(existing, hard); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "noreader.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.sock")
	if fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0); err == nil {
		_ = syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock})
		defer syscall.Close(fd)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing parent", []string{"--report", filepath.Join(dir, "no/such/dir/r.json")}, "does not exist"},
		{"a directory", []string{"--report", dir}, "a directory"},
		{"the policy", []string{"--report", pol}, "is the --policy file"},
		{"summary is the report", []string{"--report", existing, "--summary", existing}, "are the same file"},
		{"summary is a hard link to the report", []string{"--report", existing, "--summary", hard}, "are the same file"},
		{"both new and the same", []string{"--report", filepath.Join(dir, "n.json"), "--summary", filepath.Join(dir, "n.json")}, "are the same file"},
		{"both on stdout", []string{"--report", "-", "--summary", "-"}, "are the same file"},
		{"a FIFO with no reader", []string{"--report", fifo}, "a FIFO with no reader"},
		{"a socket", []string{"--report", sock}, "a socket"},
		{"the summary in a missing dir", []string{"--summary", filepath.Join(dir, "nope/s.txt"), "--report", filepath.Join(dir, "r.json")}, "--summary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := confirmSetup(t)
			args := append([]string{"apply", "--yes", "--policy", pol}, tc.args...)
			code, _, stderr := edgeRun(t, srv, args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\n%s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "nothing was sent") {
				t.Errorf("stderr does not say %q and that nothing was sent:\n%s", tc.want, stderr)
			}
			if n := len(srv.Calls()); n != 0 {
				t.Errorf("%d requests were sent before refusing", n)
			}
		})
	}
	if after, _ := os.ReadFile(pol); !bytes.Equal(after, polBefore) {
		t.Error("the policy file changed")
	}
	if st, err := os.Stat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO is no longer a FIFO: %v %v", st, err)
	}
}

func TestOutputsThatAreNotRegularFilesAreWrittenThrough(t *testing.T) {
	t.Run("/dev/null stays a device", func(t *testing.T) {
		srv, _ := confirmSetup(t)
		code, _, stderr := edgeRun(t, srv, "plan", "--policy", "../../examples/demo.yaml", "--report", os.DevNull, "--summary", os.DevNull)
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		st, err := os.Stat(os.DevNull)
		if err != nil || st.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("/dev/null is no longer a character device: %v %v", st, err)
		}
	})
	t.Run("a FIFO with a reader gets the report", func(t *testing.T) {
		srv, _ := confirmSetup(t)
		fifo := filepath.Join(t.TempDir(), "r.fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		// The reader opens without blocking, so that it is there before the job checks.
		rf, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer rf.Close()
		// Before the job opens its end, a read finds no writer and returns at once: read on
		// until the job has ended and its end is closed.
		var got bytes.Buffer
		jobDone := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for {
				n, err := rf.Read(buf)
				got.Write(buf[:n])
				if n == 0 || err != nil {
					select {
					case <-jobDone:
						if n == 0 {
							return
						}
					case <-time.After(time.Millisecond):
					}
				}
			}
		})
		code, _, stderr := edgeRun(t, srv, "plan", "--policy", "../../examples/demo.yaml", "--report", fifo)
		close(jobDone)
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		wg.Wait()
		var rep report.Report
		if err := json.Unmarshal(got.Bytes(), &rep); err != nil || rep.Summary.WouldDelete == 0 {
			t.Fatalf("the FIFO carried no report (%v): %.200s", err, got.String())
		}
		if st, err := os.Stat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("the FIFO was replaced: %v %v", st, err)
		}
	})
	t.Run("a symlink stays a link", func(t *testing.T) {
		srv, _ := confirmSetup(t)
		dir := t.TempDir()
		target := filepath.Join(dir, "real.json")
		if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "link.json")
		if err := os.Symlink("real.json", link); err != nil {
			t.Fatal(err)
		}
		dangling := filepath.Join(dir, "dangling.json")
		if err := os.Symlink("later.json", dangling); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := edgeRun(t, srv, "plan", "--policy", "../../examples/demo.yaml", "--report", link, "--summary", dangling)
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		for _, l := range []string{link, dangling} {
			if st, err := os.Lstat(l); err != nil || st.Mode()&os.ModeSymlink == 0 {
				t.Errorf("%s is no longer a symlink: %v %v", l, st, err)
			}
		}
		if data, _ := os.ReadFile(target); !bytes.Contains(data, []byte(`"schema_version"`)) {
			t.Errorf("the link's target did not get the report: %.100s", data)
		}
		if data, _ := os.ReadFile(filepath.Join(dir, "later.json")); !bytes.Contains(data, []byte("cn-hangzhou")) {
			t.Errorf("the dangling link's target did not get the summary: %.100s", data)
		}
	})
	t.Run("- is stdout", func(t *testing.T) {
		srv, _ := confirmSetup(t)
		wd, _ := os.Getwd()
		code, stdout, stderr := edgeRun(t, srv, "plan", "--policy", "../../examples/demo.yaml", "--report", "-")
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if !strings.Contains(stdout, `"schema_version"`) {
			t.Errorf("no report on stdout: %.100s", stdout)
		}
		if _, err := os.Stat(filepath.Join(wd, "-")); err == nil {
			t.Error("a file named - was written")
		}
	})
}

func TestInputsAreBoundedAndNeverBlock(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "policy.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), maxReportFile+1), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"plan --policy /dev/zero", []string{"plan", "--policy", "/dev/zero"}, "a character device, not a regular file"},
		{"apply --policy FIFO", []string{"apply", "--yes", "--policy", fifo}, "a FIFO, not a regular file"},
		{"validate --policy FIFO", []string{"validate", "--policy", fifo}, "a FIFO, not a regular file"},
		{"validate --policy /dev/zero", []string{"validate", "--policy", "/dev/zero"}, "a character device"},
		{"--policy a directory", []string{"plan", "--policy", dir}, "a directory"},
		{"--retry-from /dev/zero", []string{"plan", "--policy", "../../examples/demo.yaml", "--retry-from", "/dev/zero"}, "a character device"},
		{"--retry-from FIFO", []string{"plan", "--policy", "../../examples/demo.yaml", "--retry-from", fifo}, "a FIFO"},
		{"--retry-from too big", []string{"plan", "--policy", "../../examples/demo.yaml", "--retry-from", big}, "more than the 256 MiB allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := confirmSetup(t)
			done := make(chan struct{})
			var code int
			var stderr string
			go func() {
				defer close(done)
				code, _, stderr = edgeRun(t, srv, tc.args...)
			}()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("the command blocked on its input")
			}
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d saying %q:\n%s", code, exitUsage, tc.want, stderr)
			}
			if n := len(srv.Calls()); n != 0 {
				t.Errorf("%d requests were sent", n)
			}
		})
	}
}

func TestNumericFlagsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		flag, value, want string
	}{
		{"--max-rate", "-1", "--max-rate -1"},
		{"--max-rate", "NaN", "--max-rate NaN"},
		{"--max-rate", "0", "--max-rate 0"},
		{"--max-rate", "1e-9", "from 0.1 up"},
		{"--max-rate", "+Inf", "--max-rate +Inf"},
		{"--request-timeout", "0", "--request-timeout 0s: want a duration above 0"},
		{"--request-timeout", "-5s", "above 0"},
		{"--request-timeout", "11m", "at most 10m0s"},
		{"--request-timeout", "30", "did you mean 30s?"},
		{"--request-timeout", "soon", "is not a duration"},
	} {
		t.Run(tc.flag+"="+tc.value, func(t *testing.T) {
			srv, _ := confirmSetup(t)
			code, _, stderr := edgeRun(t, srv, "plan", "--policy", "../../examples/demo.yaml", tc.flag+"="+tc.value)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d saying %q:\n%s", code, exitUsage, tc.want, stderr)
			}
			if n := len(srv.Calls()); n != 0 {
				t.Errorf("%d requests were sent", n)
			}
		})
	}
}

func TestDevNullIsNotATerminal(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Fatal("/dev/null counts as a terminal")
	}
	// And so apply with stdin from /dev/null, no --yes, refuses before any request.
	saved := tty
	t.Cleanup(func() { tty = saved })
	tty.stdinTerminal = func() bool { return isTerminal(f) }
	tty.stderrTerminal = func() bool { return false }
	srv, args := confirmSetup(t)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "pass --yes") {
		t.Fatalf("exit %d, want %d asking for --yes:\n%s", code, exitUsage, stderr.String())
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}

// syncBuffer is a bytes.Buffer safe for the prompt's writer and the test's reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSignalAtThePromptEndsTheRun: Ctrl-C (or SIGTERM) while apply waits for "yes" ends the run
// at once with 130 (143), the report written and every image not_attempted, nothing deleted.
func TestSignalAtThePromptEndsTheRun(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			saved := tty
			t.Cleanup(func() { tty = saved })
			pr, pw := io.Pipe() // a person who never answers
			defer pw.Close()
			tty.stdin = pr
			tty.stdinTerminal = func() bool { return true }
			tty.stderrTerminal = func() bool { return false }
			srv, args := confirmSetup(t)
			reportPath := args[len(args)-3]
			var stdout bytes.Buffer
			var stderr syncBuffer
			done := make(chan int, 1)
			go func() { done <- run(context.Background(), args, &stdout, &stderr) }()
			deadline := time.Now().Add(time.Minute)
			for !strings.Contains(stderr.String(), "Type yes") {
				if time.Now().After(deadline) {
					t.Fatalf("no prompt:\n%s", stderr.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			var code int
			select {
			case code = <-done:
			case <-time.After(time.Minute):
				t.Fatal("the prompt did not end on the signal")
			}
			if code != signalExit(sig) {
				t.Fatalf("exit %d, want %d\n%s", code, signalExit(sig), stderr.String())
			}
			if n := realDeletes(srv); n != 0 {
				t.Errorf("%d real deletes", n)
			}
			data, err := os.ReadFile(reportPath)
			if err != nil {
				t.Fatal(err)
			}
			var rep report.Report
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Status != report.StatusInterrupted {
				t.Errorf("status %q, want interrupted", rep.Status)
			}
			for _, e := range rep.Images {
				if e.Outcome == report.Deleted || e.Code == "NotConfirmed" {
					t.Errorf("%s: %s %s", e.ImageID, e.Outcome, e.Code)
				}
			}
			if rep.Summary.NotAttempted == 0 {
				t.Errorf("no image not_attempted: %+v", rep.Summary)
			}
		})
	}
}
