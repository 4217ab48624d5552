package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// TestStatusLineClearsBeforeLogLines: the status line is erased before any log line is written,
// and drawn again only by the next update.
func TestStatusLineClearsBeforeLogLines(t *testing.T) {
	var out bytes.Buffer
	s := &statusLine{w: &out}
	s.update(runner.Progress{Phase: "dry run", Done: 3, Total: 10, Throttled: 2, Elapsed: 4 * time.Second})
	if got := out.String(); got != clearLine+"dry run: 3/10 images, 2 throttled, 4s" {
		t.Fatalf("status line %q", got)
	}
	out.Reset()
	if _, err := s.Write([]byte("a log line\n")); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != clearLine+"a log line\n" {
		t.Fatalf("log line written as %q, want the status line cleared first", got)
	}
	out.Reset()
	if _, err := s.Write([]byte("another\n")); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "another\n" {
		t.Fatalf("second log line %q: nothing to clear", got)
	}
	// Updates within 200ms in the same phase are skipped, a new phase is drawn at once.
	out.Reset()
	s.update(runner.Progress{Phase: "dry run", Done: 4, Total: 10})
	s.update(runner.Progress{Phase: "delete", Done: 0, Total: 8})
	if got := out.String(); strings.Contains(got, "4/10") || !strings.Contains(got, "delete: 0/8 images") {
		t.Fatalf("updates drawn: %q", got)
	}
	s.clear()
	if !strings.HasSuffix(out.String(), clearLine) {
		t.Fatalf("clear left %q", out.String())
	}
}

func TestProgressText(t *testing.T) {
	got := progressText(runner.Progress{Phase: "delete", Done: 50, Total: 150, Throttled: 7, Elapsed: 90 * time.Second}, 10*time.Second)
	if want := "delete: 50/150 images, 5/s, about 20s left, 7 throttled, 1m30s"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if got := progressText(runner.Progress{Phase: "references", Elapsed: time.Second}, 0); got != "references, 0 throttled, 1s" {
		t.Errorf("%q", got)
	}
}

// TestProgressEventsWithoutATerminal: without a terminal, no status line is drawn (no escape
// codes anywhere) and the JSON log carries a progress event at every phase.
func TestProgressEventsWithoutATerminal(t *testing.T) {
	srv, _ := confirmSetup(t)
	saved := tty
	t.Cleanup(func() { tty = saved })
	tty.stdinTerminal = func() bool { return false }
	tty.stderrTerminal = func() bool { return false }
	var stdout, errBuf bytes.Buffer
	code := run(context.Background(), []string{"plan", "--policy", "../../examples/demo.yaml", "--report", t.TempDir() + "/r.json",
		"--endpoint", srv.URL(), "--log-level", "info", "--log-format", "json"}, &stdout, &errBuf)
	stderr := errBuf.String()
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "\033[") || strings.Contains(stderr, "\r") {
		t.Errorf("escape codes on a non-terminal:\n%q", stderr)
	}
	for _, phase := range []string{"list and select", "references", "dry run", "follow-ups"} {
		if !strings.Contains(stderr, `"msg":"progress","phase":"`+phase+`"`) {
			t.Errorf("no progress event for %q:\n%s", phase, stderr)
		}
	}
}
