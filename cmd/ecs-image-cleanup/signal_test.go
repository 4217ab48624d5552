package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// commandPath returns this test binary under the command's name: testscript.Main in TestMain
// runs main's run when the binary is started under that name.
func commandPath(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ecs-image-cleanup")
	if err := os.Symlink(self, path); err != nil {
		t.Fatal(err)
	}
	return path
}

type signalRun struct {
	srv      *ecstest.Server
	st       *ecstest.State
	cmd      *exec.Cmd
	report   string
	signaled time.Time
	// deleting counts the DeleteImage requests being answered: the job makes other calls
	// before its first delete (listing, launch templates, scaling configurations), and a test
	// that waits for a delete in flight must not take one of those for it.
	deleting atomic.Int64
}

// startApply starts apply as its own process against an emulator holding n deletable images.
func startApply(t *testing.T, bin string, n int, latency time.Duration) *signalRun {
	t.Helper()
	dir := t.TempDir()
	st := &ecstest.State{Regions: map[string]*ecstest.Region{
		"cn-hangzhou": {Images: ecstest.GenerateImages(n, "sig", time.Now().Add(-90*24*time.Hour))},
	}}
	srv := ecstest.NewServer(st, ecstest.Options{Faults: map[string]ecstest.Faults{"DeleteImage": {Latency: latency}}})
	t.Cleanup(srv.Close)
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte("version: 1\nconcurrency: 4\nregions:\n  - region: cn-hangzhou\n    select:\n      older_than: 30d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &signalRun{srv: srv, st: st, report: filepath.Join(dir, "report.json")}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("x-acs-action") == "DeleteImage" {
			r.deleting.Add(1)
			defer r.deleting.Add(-1)
		}
		srv.ServeHTTP(w, req)
	}))
	t.Cleanup(front.Close)
	r.cmd = exec.Command(bin, "apply", "--yes", "--policy", pol, "--endpoint", front.URL, "--report", r.report, "--log-level", "error")
	r.cmd.Env = append(os.Environ(), "ALIBABA_CLOUD_ACCESS_KEY_ID="+ecstest.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+ecstest.AccessKeySecret)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.cmd.Process.Kill() })
	return r
}

// waitForDeletes waits until the emulator has seen n DeleteImage requests, dry or real.
func (r *signalRun) waitForDeletes(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		count := 0
		for _, c := range r.srv.Calls() {
			if c.Action == "DeleteImage" {
				count++
			}
		}
		if count >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("the emulator never saw %d DeleteImage requests", n)
}

func (r *signalRun) signal(t *testing.T, s syscall.Signal) {
	t.Helper()
	if r.signaled.IsZero() {
		r.signaled = time.Now()
	}
	if err := r.cmd.Process.Signal(s); err != nil {
		t.Fatal(err)
	}
}

func (r *signalRun) exitCode(t *testing.T) int {
	t.Helper()
	err := r.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

func (r *signalRun) readReport(t *testing.T) *report.Report {
	t.Helper()
	data, err := os.ReadFile(r.report)
	if err != nil {
		t.Fatalf("no report after the signal: %v", err)
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("the report does not parse: %v", err)
	}
	return &rep
}

// TestSignalStopsApply sends SIGTERM or SIGINT while apply runs, at points of both phases: the
// process exits 143 or 130, no request starts after the signal, and the report says interrupted
// and agrees with the emulator image by image.
func TestSignalStopsApply(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	bin := commandPath(t)
	cases := []struct {
		sig   syscall.Signal
		code  int
		after int // DeleteImage requests seen before the signal; 100 dry runs come first
	}{
		{syscall.SIGTERM, exitTerminated, 5},
		{syscall.SIGTERM, exitTerminated, 140},
		{syscall.SIGINT, exitInterrupted, 60},
		{syscall.SIGINT, exitInterrupted, 120},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%d", c.sig, c.after), func(t *testing.T) {
			r := startApply(t, bin, 100, 10*time.Millisecond)
			r.waitForDeletes(t, c.after)
			r.signal(t, c.sig)
			if got := r.exitCode(t); got != c.code {
				t.Fatalf("exit %d, want %d", got, c.code)
			}
			rep := r.readReport(t)
			if rep.Status != report.StatusInterrupted {
				t.Errorf("report status %q, want interrupted", rep.Status)
			}
			// The process needs a moment to receive the signal; nothing may start after that.
			for _, call := range r.srv.Calls() {
				if call.Start.After(r.signaled.Add(20 * time.Millisecond)) {
					t.Errorf("a %s request started %s after the signal", call.Action, call.Start.Sub(r.signaled))
				}
			}
			outcomes := map[string]report.Outcome{}
			for _, e := range rep.Images {
				outcomes[e.ImageID] = e.Outcome
			}
			if len(outcomes) != 100 {
				t.Errorf("%d images in the report, want 100", len(outcomes))
			}
			for _, img := range r.st.Regions["cn-hangzhou"].Images {
				_, exists := r.srv.Image("cn-hangzhou", img.ID)
				if got := outcomes[img.ID]; !exists && got != report.Deleted {
					t.Errorf("%s was deleted but reported %q", img.ID, got)
				} else if exists && got == report.Deleted {
					t.Errorf("%s reported deleted but still exists", img.ID)
				}
			}
		})
	}
}

// TestSecondSignalExitsAtOnce: with requests that take seconds, a second signal does not wait
// for them, and still leaves a report that parses, with those requests' images failed as in flight.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	r := startApply(t, commandPath(t), 20, 3*time.Second)
	// Only DeleteImage is slow: wait until one is being answered.
	deadline := time.Now().Add(20 * time.Second)
	for r.deleting.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	r.signal(t, syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
	r.signal(t, syscall.SIGTERM)
	if got := r.exitCode(t); got != exitTerminated {
		t.Fatalf("exit %d, want %d", got, exitTerminated)
	}
	// Had the process waited for its requests, none would be in flight in its report.
	inFlight := 0
	for _, e := range r.readReport(t).Images {
		if e.Code == runner.CodeInterruptedInFlight {
			inFlight++
		}
	}
	if inFlight == 0 {
		t.Error("no image is reported in flight: the process waited for its requests instead of leaving")
	}
	rep := r.readReport(t)
	if rep.Status != report.StatusInterrupted || rep.Summary.Selected != 20 {
		t.Errorf("status %q, %d selected; want interrupted, 20", rep.Status, rep.Summary.Selected)
	}
}
