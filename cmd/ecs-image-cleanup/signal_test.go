package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
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

const (
	signalRegion      = "cn-hangzhou"
	signalConcurrency = 4 // the policy's concurrency: requests in flight at most
)

// applyShape is the account an interrupted apply runs against: that many deletable images, all
// selected, and the emulator's latency per action.
type applyShape struct {
	images        int
	listLatency   time.Duration // DescribeImages
	deleteLatency time.Duration // DeleteImage, dry or real
}

func (s applyShape) pages() int { return (s.images + ecs.PageSize - 1) / ecs.PageSize }

type signalRun struct {
	shape    applyShape
	srv      *ecstest.Server
	ids      []string // every image of the account; the policy selects them all
	cmd      *exec.Cmd
	report   string
	signaled time.Time // when the first signal was sent, just before the kill system call

	stderrMu sync.Mutex
	stderr   strings.Builder
	handled  chan struct{} // closed when the process logs that it took its first signal

	done    chan struct{} // closed when the process has exited
	exited  time.Time
	waitErr error
}

// startApply starts apply as its own process (this test binary under the command's name), with
// concurrency 4 and log level warn, against its own emulator. The log is read line by line from
// a pipe, unless stderr is given: then the process writes to that file, and the test reads the
// other end with readStderr when it wants to.
func startApply(t *testing.T, bin string, shape applyShape, stderr *os.File) *signalRun {
	t.Helper()
	dir := t.TempDir()
	images := ecstest.GenerateImages(shape.images, "sig", time.Now().Add(-90*24*time.Hour))
	st := &ecstest.State{Regions: map[string]*ecstest.Region{signalRegion: {Images: images}}}
	srv := ecstest.NewServer(st, ecstest.Options{Faults: map[string]ecstest.Faults{
		"DescribeImages": {Latency: shape.listLatency},
		"DeleteImage":    {Latency: shape.deleteLatency},
	}})
	t.Cleanup(srv.Close)
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(fmt.Sprintf("version: 1\nconcurrency: %d\nregions:\n  - region: %s\n    select:\n      older_than: 30d\n",
		signalConcurrency, signalRegion)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &signalRun{shape: shape, srv: srv, report: filepath.Join(dir, "report.json"), handled: make(chan struct{}), done: make(chan struct{})}
	for _, img := range images {
		r.ids = append(r.ids, img.ID)
	}
	r.start(t, exec.Command(bin, "apply", "--yes", "--policy", pol, "--endpoint", srv.URL(), "--report", r.report,
		"--log-level", "warn", "--log-format", "json"), stderr)
	return r
}

// start starts cmd as the run's process, with the emulator's credentials in its environment: its
// log is read line by line from a pipe, unless stderr is given (see startApply).
func (r *signalRun) start(t *testing.T, cmd *exec.Cmd, stderr *os.File) {
	t.Helper()
	r.cmd = cmd
	r.cmd.Env = append(os.Environ(), "ALIBABA_CLOUD_ACCESS_KEY_ID="+ecstest.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+ecstest.AccessKeySecret,
		// Under -race, a process that exits 0 first sleeps a second for late race reports: it
		// would stretch every run that finishes.
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	copied := make(chan struct{})
	if stderr != nil {
		r.cmd.Stderr = stderr
		close(copied)
	} else {
		pipe, err := r.cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer close(copied)
			r.readStderr(pipe)
		}()
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		<-copied // Wait closes the pipe: read it to the end first
		r.waitErr = r.cmd.Wait()
		r.exited = time.Now()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
}

// readStderr keeps the process's log, and closes handled at the warning its first signal causes.
func (r *signalRun) readStderr(rd io.Reader) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		r.stderrMu.Lock()
		r.stderr.WriteString(line + "\n")
		r.stderrMu.Unlock()
		if !seen && strings.Contains(line, "signal received") {
			seen = true
			close(r.handled)
		}
	}
	_, _ = io.Copy(io.Discard, rd)
}

func (r *signalRun) stderrText() string {
	r.stderrMu.Lock()
	defer r.stderrMu.Unlock()
	return r.stderr.String()
}

// handledAt returns when the process stopped its run on the first signal, as its log says: it
// stops first, then logs, so the log's time is at or after the stop. The log has milliseconds:
// the time is rounded up to the next one.
func (r *signalRun) handledAt() (time.Time, bool) {
	for _, line := range strings.Split(r.stderrText(), "\n") {
		if !strings.Contains(line, "signal received") {
			continue
		}
		var entry struct{ TS string }
		if json.Unmarshal([]byte(line), &entry) != nil {
			return time.Time{}, false
		}
		ts, err := time.Parse("2006-01-02T15:04:05.000Z0700", entry.TS)
		return ts.Add(time.Millisecond), err == nil
	}
	return time.Time{}, false
}

// waitFor polls until cond holds.
func (r *signalRun) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		select {
		case <-r.done:
			t.Fatalf("the process exited before %s: %v\n%s", what, r.waitErr, r.stderrText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw %s", what)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// waitFirstRequest waits until the first request reaches the emulator and returns when it saw it:
// by then the process has set up its signal handling, which comes before any request.
func (r *signalRun) waitFirstRequest(t *testing.T) time.Time {
	t.Helper()
	r.waitFor(t, "a first request", func() bool { return r.srv.InFlight() > 0 || len(r.srv.Calls()) > 0 })
	return time.Now()
}

// signal sends s and reports false if the process had already exited.
func (r *signalRun) signal(t *testing.T, s syscall.Signal) bool {
	t.Helper()
	now := time.Now()
	if r.signaled.IsZero() {
		r.signaled = now
	}
	if err := r.cmd.Process.Signal(s); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return false
		}
		t.Fatal(err)
	}
	return true
}

// wait waits for the process to exit and returns its exit code, a death by a signal reported as
// the shell reports it, 128 plus the signal's number. Then it waits for the emulator to finish
// the requests the process left, so that the call log is complete.
func (r *signalRun) wait(t *testing.T) int {
	t.Helper()
	<-r.done
	// Requests the process left behind end at the emulator, and enter its log, a moment later.
	for deadline := time.Now().Add(30 * time.Second); r.srv.InFlight() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the emulator still has %d requests in flight after the process exited", r.srv.InFlight())
		}
	}
	var ee *exec.ExitError
	if errors.As(r.waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	} else if r.waitErr != nil {
		t.Fatal(r.waitErr)
	}
	return 0
}

// diedBySignal says whether the process was killed by a signal rather than exiting.
func (r *signalRun) diedBySignal() bool {
	var ee *exec.ExitError
	if errors.As(r.waitErr, &ee) {
		ws, ok := ee.Sys().(syscall.WaitStatus)
		return ok && ws.Signaled()
	}
	return false
}

func (r *signalRun) readReport(t *testing.T) *report.Report {
	t.Helper()
	data, err := os.ReadFile(r.report)
	if err != nil {
		t.Fatalf("no report: %v\n%s", err, r.stderrText())
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("the report does not parse: %v", err)
	}
	return &rep
}

// checkAgainstEmulator checks the report image by image against the emulator: every image of the
// account (all selected) has exactly one entry; every image the emulator deleted is reported
// deleted, and no image reported deleted still exists. An interrupted listing selects nothing:
// then the report may list no image, if the emulator did not serve every page and saw no delete.
// It returns the outcomes by image.
func (r *signalRun) checkAgainstEmulator(t *testing.T, rep *report.Report, interrupted bool) map[string]report.Outcome {
	t.Helper()
	outcomes := map[string]report.Outcome{}
	for _, e := range rep.Images {
		if e.Region != signalRegion {
			t.Errorf("%s: report entry in region %q", e.ImageID, e.Region)
		}
		if prev, dup := outcomes[e.ImageID]; dup {
			t.Errorf("%s has two entries in the report: %q and %q", e.ImageID, prev, e.Outcome)
		}
		outcomes[e.ImageID] = e.Outcome
	}
	calls := r.srv.Calls()
	if len(rep.Images) == 0 && interrupted {
		pages, deletes := 0, 0
		for _, c := range calls {
			switch {
			case selectionPage(c) && c.Status == 200:
				pages++
			case c.Action == "DeleteImage":
				deletes++
			}
		}
		if pages >= r.shape.pages() || deletes > 0 || len(r.srv.Images(signalRegion)) != len(r.ids) {
			t.Errorf("the report lists no image, but the emulator served %d of %d pages, saw %d deletes and has %d of %d images",
				pages, r.shape.pages(), deletes, len(r.srv.Images(signalRegion)), len(r.ids))
		}
		return outcomes
	}
	if len(rep.Images) != len(r.ids) || rep.Summary.Selected != len(r.ids) {
		t.Errorf("the report lists %d images and selects %d, want %d", len(rep.Images), rep.Summary.Selected, len(r.ids))
	}
	deleted := 0
	for _, id := range r.ids {
		got, listed := outcomes[id]
		if !listed {
			t.Errorf("%s is selected but missing from the report", id)
		}
		_, exists := r.srv.Image(signalRegion, id)
		switch {
		case !exists && got != report.Deleted:
			t.Errorf("the emulator deleted %s but the report says %q", id, got)
		case exists && got == report.Deleted:
			t.Errorf("%s is reported deleted but still exists", id)
		}
		if !exists {
			deleted++
		}
	}
	if rep.Summary.Deleted != deleted {
		t.Errorf("the summary counts %d deleted, the emulator deleted %d", rep.Summary.Deleted, deleted)
	}
	// Every real delete the emulator answered with success took an image away, and no other did.
	answered := 0
	for _, c := range calls {
		if c.Action == "DeleteImage" && !c.DryRun && c.Status == 200 {
			answered++
		}
	}
	if answered != deleted {
		t.Errorf("the emulator answered %d real deletes with success and deleted %d images", answered, deleted)
	}
	return outcomes
}

// How late after the stop a request may still reach the emulator's handler is not asserted: a
// request the process started just before it stopped still has to be signed, sent over loopback
// and read by the emulator, and on a busy machine the goroutines doing it may wait for a core for
// any length of time (174ms has been seen). The latest such start is logged as a figure; the
// exact check is the count of slots in checkNothingStartedAfterStop, which holds however busy
// the machine is.
//
// The stop is dated by the process's own log, not by the moment the test sends the signal: no
// process can stop before it has the signal. That delivery time is logged as a figure; that the
// stop comes after the send is checked.

// checkNothingStartedAfterStop checks that no request started after the process took the signal:
// at the stop at most one per concurrency slot was still to reach the emulator or in flight
// there. That count needs no tolerance: a request in flight at the emulator holds its slot from before it starts there
// until after it ends there, so every request that starts after the stop held a slot at the stop
// with the ones in flight then, or was started after the stop. It returns the stop's time after
// the signal was sent and the latest start after the stop (0 if none).
func (r *signalRun) checkNothingStartedAfterStop(t *testing.T) (delivery, latest time.Duration) {
	t.Helper()
	stop, ok := r.handledAt()
	if !ok {
		t.Errorf("the process stopped on the signal but did not log it")
		return 0, 0
	}
	if !stop.After(r.signaled) {
		t.Errorf("the process logs that it took the signal at %s, before it was sent at %s", stop, r.signaled)
	}
	var held []string
	for _, c := range r.srv.Calls() {
		what := c.Action + " " + c.ImageID
		switch {
		case c.Action == "DescribeImages" && c.ImageID != "":
			what = c.Action + " (lookup by id)"
		case c.Action == "DescribeImages":
			what = c.Action + " page " + c.Params["PageNumber"]
		case c.DryRun:
			what += " (DryRun)"
		}
		if late := c.Start.Sub(stop); late > 0 {
			latest = max(latest, late)
			held = append(held, fmt.Sprintf("%s started %s after the stop", what, late))
		} else if c.End.After(stop) {
			held = append(held, what+" in flight at the stop")
		}
	}
	if len(held) > signalConcurrency {
		t.Errorf("%d requests in flight at the stop or started after it, more than the %d slots:\n%s",
			len(held), signalConcurrency, strings.Join(held, "\n"))
	}
	return stop.Sub(r.signaled), latest
}

// signalShape makes an apply of about a second on a 2-core machine under -race, four at once:
// three pages of listing (the first, then two at once), 250 DryRun and 250 real deletes four at a
// time, and three lookups that confirm the deletions.
var signalShape = applyShape{images: 250, listLatency: 50 * time.Millisecond, deleteLatency: 3 * time.Millisecond}

const (
	signalSeedEnv = "ECS_SIGNAL_SEED" // overrides the seed of the signal points
	signalSpanEnv = "ECS_SIGNAL_SPAN" // overrides the span they are drawn over, e.g. 1.2s
)

// signalPoint is one interrupted apply: the signal is sent delay after the first request.
type signalPoint struct {
	sig   syscall.Signal
	code  int
	index int
	delay time.Duration
}

func (p signalPoint) name() string {
	return fmt.Sprintf("%s-%02d-at-%dms", sigName(p.sig), p.index, p.delay.Milliseconds())
}

func sigName(s syscall.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// signalResult is what one point measured.
type signalResult struct {
	name        string
	interrupted bool          // the process stopped on the signal (it had not finished before)
	toExit      time.Duration // from sending the signal to the process's exit
	delivery    time.Duration // from sending the signal to the process's stop, as it logs it
	latest      time.Duration // the latest request start after the stop, 0 if none
}

// TestSignalStopsApply sends SIGTERM and SIGINT each at 50 random points of an apply (5 under
// -short), each to its own process against its own emulator, four processes at a time. The
// points are delays from the first request the emulator sees, drawn over the whole apply as an
// uninterrupted run measured first lasts (listing, DryRun phase, real deletes, confirmation) and
// a little past it. After each signal: the process exits 143 or 130; no request starts after it
// took the signal (see checkNothingStartedAfterStop); the report exists, parses, says interrupted
// and agrees with the emulator image by image. A signal that lands after the process finished
// its work must leave a completed report instead, and exit 0 (or 143/130 by the signal's default
// action, if it came after the process stopped listening); most runs must be really interrupted.
//
// The points come from a seeded source; the seed and span are logged. To replay a point:
//
//	ECS_SIGNAL_SEED=<seed> ECS_SIGNAL_SPAN=<span> go test -race -run 'TestSignalStopsApply/<name>' ./cmd/ecs-image-cleanup
func TestSignalStopsApply(t *testing.T) {
	bin := commandPath(t)
	perSignal := 50
	if testing.Short() {
		perSignal = 5
	}

	seed := rand.Uint64()
	if s := os.Getenv(signalSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", signalSeedEnv, s, err)
		}
	}
	var span time.Duration
	if s := os.Getenv(signalSpanEnv); s != "" {
		var err error
		if span, err = time.ParseDuration(s); err != nil || span <= 0 {
			t.Fatalf("%s=%q: want a positive duration", signalSpanEnv, s)
		}
	} else {
		// A little past the end, so that a signal may also come after the work is done.
		span = (calibrate(t, bin) * 21 / 20).Round(time.Millisecond)
	}
	t.Logf("signal points: %s=%d %s=%s", signalSeedEnv, seed, signalSpanEnv, span)

	rng := rand.New(rand.NewPCG(seed, seed^0x5167_6e61_6c73))
	var points []signalPoint
	for i := range perSignal {
		points = append(points,
			signalPoint{sig: syscall.SIGTERM, code: exitTerminated, index: i, delay: time.Duration(rng.Int64N(int64(span)))},
			signalPoint{sig: syscall.SIGINT, code: exitInterrupted, index: i, delay: time.Duration(rng.Int64N(int64(span)))})
	}

	// Four workers, each running its points one after the other as subtests.
	var (
		mu      sync.Mutex
		results []signalResult
	)
	work := make(chan signalPoint)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				t.Run(p.name(), func(t *testing.T) {
					res := runSignalPoint(t, bin, p)
					mu.Lock()
					results = append(results, res)
					mu.Unlock()
				})
			}
		}()
	}
	for _, p := range points {
		work <- p
	}
	close(work)
	wg.Wait()

	if len(results) == 0 {
		return // every point failed early, or -run left none
	}
	interrupted := 0
	var toExit, delivery []time.Duration
	var latest time.Duration
	worst := ""
	for _, res := range results {
		if res.interrupted {
			interrupted++
			toExit = append(toExit, res.toExit)
			delivery = append(delivery, res.delivery)
			if res.toExit >= slices.Max(toExit) {
				worst = res.name
			}
		}
		latest = max(latest, res.latest)
	}
	t.Logf("%d of %d runs interrupted, %d had finished before the signal", interrupted, len(results), len(results)-interrupted)
	if len(toExit) > 0 {
		slices.Sort(toExit)
		slices.Sort(delivery)
		t.Logf("signal sent to process exit: median %s, worst %s (%s)", toExit[len(toExit)/2], toExit[len(toExit)-1], worst)
		t.Logf("signal sent to the process's stop (its log, rounded up to the ms): median %s, worst %s", delivery[len(delivery)/2], delivery[len(delivery)-1])
		t.Logf("latest request start after a stop: %s (a figure, not asserted: see checkNothingStartedAfterStop)", latest)
	}
	if 2*interrupted <= len(results) {
		t.Errorf("only %d of %d runs were interrupted: the signals came too late to test much", interrupted, len(results))
	}
}

// calibrate runs one apply to the end, checks it, and returns how long it lasts from the first
// request the emulator sees to the end of the last: the span the signal points are drawn over.
func calibrate(t *testing.T, bin string) time.Duration {
	t.Helper()
	r := startApply(t, bin, signalShape, nil)
	first := r.waitFirstRequest(t)
	if code := r.wait(t); code != exitOK {
		t.Fatalf("uninterrupted apply: exit %d, want 0\n%s", code, r.stderrText())
	}
	rep := r.readReport(t)
	if rep.Status != report.StatusCompleted || rep.Summary.Deleted != signalShape.images {
		t.Fatalf("uninterrupted apply: status %q, %d deleted; want completed, %d", rep.Status, rep.Summary.Deleted, signalShape.images)
	}
	r.checkAgainstEmulator(t, rep, false)
	var firstDelete, firstReal, last time.Time
	for _, c := range r.srv.Calls() {
		if c.End.After(last) {
			last = c.End
		}
		if c.Action != "DeleteImage" {
			continue
		}
		if firstDelete.IsZero() || c.Start.Before(firstDelete) {
			firstDelete = c.Start
		}
		if !c.DryRun && (firstReal.IsZero() || c.Start.Before(firstReal)) {
			firstReal = c.Start
		}
	}
	t.Logf("uninterrupted apply: listing %s, DryRun phase %s, real deletes and confirmation %s, then exit %s",
		firstDelete.Sub(first).Round(time.Millisecond), firstReal.Sub(firstDelete).Round(time.Millisecond),
		last.Sub(firstReal).Round(time.Millisecond), r.exited.Sub(last).Round(time.Millisecond))
	return last.Sub(first)
}

// runSignalPoint runs one apply, signals it at p and checks what it left.
func runSignalPoint(t *testing.T, bin string, p signalPoint) signalResult {
	r := startApply(t, bin, signalShape, nil)
	first := r.waitFirstRequest(t)
	time.Sleep(time.Until(first.Add(p.delay)))
	sent := r.signal(t, p.sig)
	code := r.wait(t)
	res := signalResult{name: p.name(), toExit: r.exited.Sub(r.signaled)}
	defer func() {
		if t.Failed() {
			t.Logf("signal sent %s after the first request\n%s", p.delay, r.stderrText())
		}
	}()
	rep := r.readReport(t)
	// Every end but SIGKILL is clean: the report is written, then the journal removed.
	if _, err := os.Stat(r.report + report.JournalSuffix); !os.IsNotExist(err) {
		t.Errorf("exit %d left the journal: %v", code, err)
	}

	switch {
	case code == p.code && !r.diedBySignal():
		res.interrupted = true
		if rep.Status != report.StatusInterrupted {
			t.Errorf("exit %d but the report says %q, want interrupted", code, rep.Status)
		}
		// The first signal lets the requests in flight finish: no image is left with an unknown
		// result, and none failed.
		for _, e := range rep.Images {
			if e.Outcome != report.Deleted && e.Outcome != report.NotAttempted {
				t.Errorf("%s: %q (%s) after an interruption, want deleted or not_attempted", e.ImageID, e.Outcome, e.Code)
			}
		}
		// A listing the signal cut short is an interruption, not a fault nor a region's error.
		if rep.Fault != "" {
			t.Errorf("the interrupted run reports a fault: %q", rep.Fault)
		}
		for name, rt := range rep.Regions {
			if rt.Error != "" {
				t.Errorf("the interrupted run reports an error for %s: %q", name, rt.Error)
			}
		}
		res.delivery, res.latest = r.checkNothingStartedAfterStop(t)
		r.checkAgainstEmulator(t, rep, true)
	case code == exitOK || (code == p.code && r.diedBySignal()) || !sent:
		// The process had finished its work before it took the signal: it exited 0, or the signal
		// killed it after it stopped listening for signals, on its way out. Either way the run
		// was complete.
		if rep.Status != report.StatusCompleted || rep.Summary.Deleted != len(r.ids) {
			t.Errorf("exit %d (signal sent: %v, died by it: %v) with a report that says %q and %d deleted; want completed, %d",
				code, sent, r.diedBySignal(), rep.Status, rep.Summary.Deleted, len(r.ids))
		}
		r.checkAgainstEmulator(t, rep, false)
		t.Logf("the apply had finished before the signal: exit %d, died by the signal: %v", code, r.diedBySignal())
	default:
		t.Fatalf("exit %d, want %d", code, p.code)
	}
	return res
}

// selectionPage reports whether c is a page of the selection's listing, not of the image
// families' read alongside it, which lists only the images younger than the selection's
// cut-off (a CreationStartTime filter).
func selectionPage(c ecstest.Call) bool {
	if c.Action != "DescribeImages" {
		return false
	}
	for k, v := range c.Params {
		if strings.HasPrefix(k, "Filter.") && v == "CreationStartTime" {
			return false
		}
	}
	return true
}

// TestSignalDuringPagedListing: a signal while the listing's pages are being fetched stops the
// listing too. With ten pages, the first is fetched alone, then four of the other nine at once,
// the concurrency limit: the signal comes while those four are in flight, and the five still
// waiting for a slot must not be fetched.
func TestSignalDuringPagedListing(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	r := startApply(t, commandPath(t), applyShape{images: 1000, listLatency: 200 * time.Millisecond, deleteLatency: time.Millisecond}, nil)
	r.waitFor(t, "four pages in flight", func() bool { return r.srv.InFlight() == signalConcurrency })
	r.signal(t, syscall.SIGTERM)
	if got := r.wait(t); got != exitTerminated {
		t.Fatalf("exit %d, want %d\n%s", got, exitTerminated, r.stderrText())
	}
	rep := r.readReport(t)
	if rep.Status != report.StatusInterrupted {
		t.Errorf("status %q, want interrupted", rep.Status)
	}
	r.checkNothingStartedAfterStop(t)
	r.checkAgainstEmulator(t, rep, true)
	pages := 0
	for _, c := range r.srv.Calls() {
		if selectionPage(c) {
			pages++
		}
	}
	if pages != 1+signalConcurrency {
		t.Errorf("the emulator served %d pages, want the first and the %d in flight at the signal", pages, signalConcurrency)
	}
}

// TestSignalStopsWhileStderrBlocks: the first signal stops the run even when the process cannot
// write its log, as when its stderr is a pipe nobody reads. The process used to log the signal
// before stopping, and kept deleting while the write waited.
func TestSignalStopsWhileStderrBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	// A pipe already full: the process's first write to stderr waits until the test reads it.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	filler := []byte(strings.Repeat("\n", 4096))
	if err := pw.SetWriteDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Skipf("pipes without deadlines: %v", err)
	}
	for {
		if _, err := pw.Write(filler); errors.Is(err, os.ErrDeadlineExceeded) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.SetWriteDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	r := startApply(t, commandPath(t), applyShape{images: 100, deleteLatency: 10 * time.Millisecond}, pw)
	pw.Close()
	r.waitFor(t, "20 DeleteImage requests", func() bool {
		n := 0
		for _, c := range r.srv.Calls() {
			if c.Action == "DeleteImage" {
				n++
			}
		}
		return n >= 20
	})
	r.signal(t, syscall.SIGTERM)
	// The report is written before the summary, which waits for the pipe: once it exists, the
	// run is over. Then read the pipe, and the process can finish.
	r.waitFor(t, "the report", func() bool { _, err := os.Stat(r.report); return err == nil })
	read := make(chan struct{})
	go func() {
		defer close(read)
		r.readStderr(pr)
	}()
	got := r.wait(t)
	<-read // the process has exited: the pipe ends
	if got != exitTerminated {
		t.Fatalf("exit %d, want %d\n%s", got, exitTerminated, r.stderrText())
	}
	rep := r.readReport(t)
	if rep.Status != report.StatusInterrupted {
		t.Errorf("status %q, want interrupted", rep.Status)
	}
	r.checkNothingStartedAfterStop(t)
	r.checkAgainstEmulator(t, rep, true)
	if rep.Summary.Deleted > 0 || rep.Summary.NotAttempted == 0 {
		t.Errorf("%d deleted, %d not attempted: the signal came during the DryRun phase and stopped it", rep.Summary.Deleted, rep.Summary.NotAttempted)
	}
}

// TestSecondSignalExitsAtOnce: with requests that take seconds, a second signal does not wait
// for them, and still leaves a report that parses, with those requests' images failed as in
// flight.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	bin := commandPath(t)
	for _, c := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, exitTerminated}, {syscall.SIGINT, exitInterrupted}} {
		t.Run(sigName(c.sig), func(t *testing.T) {
			r := startApply(t, bin, applyShape{images: 20, deleteLatency: 3 * time.Second}, nil)
			// Listing is one fast request. The region's first DryRun goes alone (the probe that
			// shows the service honours DryRun) and takes seconds; then, with four requests in
			// flight, every slot holds a DryRun delete that takes seconds.
			r.waitFor(t, "four deletes in flight", func() bool { return r.srv.InFlight() == signalConcurrency })
			r.signal(t, c.sig)
			// Two signals of a kind pending at once are delivered once: send the second only when
			// the process says it has the first.
			select {
			case <-r.handled:
			case <-r.done:
				t.Fatalf("the process exited on the first signal, with deletes in flight: %v\n%s", r.waitErr, r.stderrText())
			}
			if !r.signal(t, c.sig) {
				t.Fatalf("the process exited on the first signal, with deletes in flight\n%s", r.stderrText())
			}
			if got := r.wait(t); got != c.code || r.diedBySignal() {
				t.Fatalf("exit %d (died by a signal: %v), want %d\n%s", got, r.diedBySignal(), c.code, r.stderrText())
			}
			rep := r.readReport(t)
			if _, err := os.Stat(r.report + report.JournalSuffix); !os.IsNotExist(err) {
				t.Errorf("the exit on a second signal left the journal: %v", err)
			}
			if rep.Status != report.StatusInterrupted || rep.Summary.Selected != 20 || len(rep.Images) != 20 {
				t.Errorf("status %q, %d selected, %d entries; want interrupted, 20, 20", rep.Status, rep.Summary.Selected, len(rep.Images))
			}
			inFlight := map[string]bool{}
			for _, e := range rep.Images {
				switch {
				case e.Outcome == report.Failed && e.Code == runner.CodeInterruptedInFlight:
					inFlight[e.ImageID] = true
				case e.Outcome != report.NotAttempted:
					t.Errorf("%s: %q (%s), want failed in flight or not_attempted", e.ImageID, e.Outcome, e.Code)
				}
			}
			// The process left while the emulator still held its requests: it answered none, and
			// each of their images is reported in flight. Had the process waited for its requests,
			// none would be. The report may name one image more, the one its region's
			// dispatcher had taken while it waited for a free slot: it was never sent, and it is
			// reported with an unknown result all the same (a conservative inaccuracy). The probe
			// was answered before the others were sent: it alone was not in flight.
			sent, probes := 0, 0
			for _, call := range r.srv.Calls() {
				if call.Action != "DeleteImage" {
					continue
				}
				if call.Code == "DryRunOperation" && !inFlight[call.ImageID] {
					probes++
					continue
				}
				sent++
				if call.Status != 0 {
					t.Errorf("DeleteImage of %s was answered %d: the process waited for it", call.ImageID, call.Status)
				}
				if !inFlight[call.ImageID] {
					t.Errorf("DeleteImage of %s was in flight at the exit, but the report says otherwise", call.ImageID)
				}
			}
			if probes != 1 {
				t.Errorf("%d DryRuns answered before the signals, want the one probe", probes)
			}
			if sent != signalConcurrency || len(inFlight) < sent || len(inFlight) > sent+1 {
				t.Errorf("%d deletes in flight at the exit, %d images reported in flight; want %d, and as many or one more",
					sent, len(inFlight), signalConcurrency)
			}
			if imgs := r.srv.Images(signalRegion); len(imgs) != 20 {
				t.Errorf("%d images left, want all 20", len(imgs))
			}
		})
	}
}
