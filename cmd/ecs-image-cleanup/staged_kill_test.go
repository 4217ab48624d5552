package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// The kill and interruption tests of staged retention: apply with deprecate_first, and restore,
// stopped at the k-th answer to one of their changes. The emulator's OnAnswer acts at that
// answer, once its effect is done and before the process has it: a point in the run, not a time,
// however busy the machine.

const stagedImageCount = 24 // the images the staged policy deprecates (or restore restores)

// stagedState is the account: stagedImageCount images the policy selects, Available (or, for a
// restore, Deprecated and tagged a day ago); and, for apply, one the policy selects that was
// deprecated by hand (no tag: apply only tags it) and one shared (blocked at the DryRun).
func stagedState(restore bool) *ecstest.State {
	old := time.Now().Add(-90 * 24 * time.Hour).UTC().Truncate(time.Second)
	var ims []ecstest.Image
	for i := range stagedImageCount {
		im := ecstest.Image{ID: fmt.Sprintf("m-k%02d", i), Name: fmt.Sprintf("ci-k%02d", i), CreationTime: old.Add(time.Duration(i) * time.Minute)}
		if restore {
			im.Status, im.Tags = "Deprecated", map[string]string{policy.DeprecatedAtTag: time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)}
		}
		ims = append(ims, im)
	}
	if !restore {
		ims = append(ims, ecstest.Image{ID: "m-hand", Name: "ci-hand", CreationTime: old, Status: "Deprecated"},
			ecstest.Image{ID: "m-shared", Name: "ci-shared", CreationTime: old, SharedWith: []string{"1888888888888888"}})
	}
	return &ecstest.State{Regions: map[string]*ecstest.Region{signalRegion: {Images: ims}}}
}

// startStaged starts command (apply or restore, --yes) with a staged policy against its own
// emulator with these faults; onAnswer, if set, is the emulator's OnAnswer, given the run.
func startStaged(t *testing.T, bin, command string, st *ecstest.State, faults map[string]ecstest.Faults, onAnswer func(*signalRun, ecstest.Call)) *signalRun {
	t.Helper()
	var run atomic.Pointer[signalRun]
	ready := make(chan struct{})
	opts := ecstest.Options{Faults: faults}
	if onAnswer != nil {
		opts.OnAnswer = func(c ecstest.Call) {
			<-ready
			onAnswer(run.Load(), c)
		}
	}
	srv := ecstest.NewServer(st, opts)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(fmt.Sprintf("version: 1\nconcurrency: %d\ndeprecate_first: 14d\nregions:\n  - region: %s\n    select:\n      name: \"ci-*\"\n      older_than: 30d\n",
		signalConcurrency, signalRegion)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &signalRun{srv: srv, report: filepath.Join(dir, command+".json"), handled: make(chan struct{}), done: make(chan struct{})}
	for _, im := range st.Regions[signalRegion].Images {
		r.ids = append(r.ids, im.ID)
	}
	r.start(t, exec.Command(bin, command, "--yes", "--policy", pol, "--endpoint", srv.URL(), "--report", r.report,
		"--log-level", "warn", "--log-format", "json"), nil)
	run.Store(r)
	close(ready)
	return r
}

// answerCounter counts the answers to one kind of call: action, real or DryRun.
type answerCounter struct {
	action string
	dry    bool
	n      atomic.Int64
}

// next counts c and returns its number, or 0 if it is not of the kind.
func (a *answerCounter) next(c ecstest.Call) int64 {
	if c.Action != a.action || c.DryRun != a.dry {
		return 0
	}
	return a.n.Add(1)
}

// killAt kills the process with SIGKILL at the k-th answer of a kind, before the answer leaves,
// and holds the answer until the process is gone: it never has it.
func killAt(action string, dry bool, k int64) func(*signalRun, ecstest.Call) {
	a := &answerCounter{action: action, dry: dry}
	return func(r *signalRun, c ecstest.Call) {
		if a.next(c) == k {
			_ = r.cmd.Process.Signal(syscall.SIGKILL)
			<-r.done
		}
	}
}

// changeCalls returns the real changes of staged retention the emulator received, as
// "action image".
func changeCalls(srv *ecstest.Server) []string {
	var out []string
	for _, c := range srv.Calls() {
		switch {
		case c.Action == "ModifyImageAttribute" && !c.DryRun:
			out = append(out, c.Action+" "+c.ImageID)
		case c.Action == "TagResources" || c.Action == "UntagResources":
			out = append(out, c.Action+" "+c.Params["ResourceId.1"])
		}
	}
	return out
}

// checkStagedOutcomes checks a report of a staged apply or a restore against the emulator, image
// by image: every image of the account has exactly one entry; deprecated (restored) exactly for
// the images whose status the emulator changed, the message saying so when the tag is not as
// the run meant to leave it; a hand-deprecated image skipped InGracePeriod exactly when it got
// the tag; not_attempted only for images the emulator has as they were; blocked only for the
// shared image; failed only for a change the process died with in flight that did not take.
func checkStagedOutcomes(t *testing.T, rep *report.Report, srv *ecstest.Server, before *ecstest.State, command string) map[string]report.Entry {
	t.Helper()
	got := map[string]report.Entry{}
	for _, e := range rep.Images {
		if _, dup := got[e.ImageID]; dup {
			t.Errorf("%s has two entries", e.ImageID)
		}
		got[e.ImageID] = e
	}
	counted := report.Summary{}
	changedTo, changedFrom := "Deprecated", "Available"
	if command == runner.Restore {
		changedTo, changedFrom = "Available", "Deprecated"
	}
	for _, was := range before.Regions[signalRegion].Images {
		e, ok := got[was.ID]
		im, exists := srv.Image(signalRegion, was.ID)
		if !ok || !exists {
			t.Errorf("%s: reported %v, exists %v", was.ID, ok, exists)
			continue
		}
		switch e.Outcome {
		case report.Deprecated:
			counted.Deprecated++
		case report.Restored:
			counted.Restored++
		case report.NotAttempted:
			counted.NotAttempted++
		}
		wasStatus := cmpOr(was.Status, "Available")
		_, taggedNow := im.Tags[policy.DeprecatedAtTag]
		_, taggedBefore := was.Tags[policy.DeprecatedAtTag]
		changed := wasStatus == changedFrom && im.Status == changedTo
		says := e.Outcome == report.Deprecated || e.Outcome == report.Restored
		what := fmt.Sprintf("%s: reported %s %s (%s); the emulator has it %s tagged %v, was %s tagged %v", was.ID, e.Outcome, e.Code, e.Message,
			im.Status, taggedNow, wasStatus, taggedBefore)
		switch {
		case changed != says:
			t.Errorf("%s", what)
		case e.Outcome == report.Deprecated && !taggedNow && !strings.Contains(e.Message, "the next apply tags it"):
			t.Errorf("deprecated without its tag, and no word of it: %s", what)
		case e.Outcome == report.Restored && taggedNow != strings.Contains(e.Message, "harmless"):
			t.Errorf("restored, and the message is wrong about the tag: %s", what)
		case command == runner.Apply && wasStatus == "Deprecated" && taggedNow != (e.Outcome == report.Skipped && e.Code == runner.CodeInGracePeriod):
			t.Errorf("deprecated by hand: %s", what)
		case e.Outcome == report.NotAttempted && (im.Status != wasStatus || taggedNow != taggedBefore):
			t.Errorf("not_attempted, but changed: %s", what)
		case e.Outcome == report.Blocked && was.ID != "m-shared", was.ID == "m-shared" && e.Outcome != report.Blocked && e.Outcome != report.NotAttempted:
			t.Errorf("%s", what)
		case e.Outcome == report.Failed && e.Code != runner.CodeInterruptedInFlight:
			t.Errorf("failed: %s", what)
		}
	}
	if len(rep.Images) != len(before.Regions[signalRegion].Images) {
		t.Errorf("%d entries, want %d", len(rep.Images), len(before.Regions[signalRegion].Images))
	}
	if rep.Summary.Deprecated != counted.Deprecated || rep.Summary.Restored != counted.Restored || rep.Summary.NotAttempted != counted.NotAttempted {
		t.Errorf("summary %+v, the entries count %+v", rep.Summary, counted)
	}
	return got
}

// checkStagedStop checks that at the stop (as the process logs it) at most one request per
// concurrency slot was in flight or still on its way, as checkNothingStartedAfterStop does, the
// read-only lookups by id that settle changes of unknown result aside (a staged apply or a
// restore makes no other), and returns how many of those the run made.
func checkStagedStop(t *testing.T, r *signalRun) (lookups int) {
	t.Helper()
	stop, ok := r.handledAt()
	if !ok {
		t.Fatalf("the process did not log the signal")
	}
	var held []string
	for _, c := range r.srv.Calls() {
		switch {
		case c.Action == "DescribeImages" && c.Params["ImageId"] != "":
			lookups++
		case c.Start.After(stop) || c.End.After(stop):
			held = append(held, fmt.Sprintf("%s %s%s dry=%v started %s after the stop", c.Action, c.ImageID, c.Params["ResourceId.1"], c.DryRun, c.Start.Sub(stop)))
		}
	}
	if len(held) > signalConcurrency {
		t.Errorf("%d requests in flight at the stop or started after it, more than the %d slots:\n%s", len(held), signalConcurrency, strings.Join(held, "\n"))
	}
	return lookups
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// rerun runs command again to the end against the run's emulator, and checks that it finished
// the work: every image apply selects Deprecated and tagged (the shared one aside), or every one
// restore selects Available, untagged unless the recovered report said the tag was left (restore
// only lists Deprecated images: the tag left on an Available one stays).
func rerun(t *testing.T, bin string, r *signalRun, command string, recovered map[string]report.Entry) {
	t.Helper()
	cmd := exec.Command(bin, command, "--yes", "--policy", r.policyPath(), "--endpoint", r.srv.URL(),
		"--report", r.report+".again", "--log-level", "warn")
	cmd.Env = r.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s again: %v\n%s", command, err, stderr.String())
	}
	for _, id := range r.ids {
		im, _ := r.srv.Image(signalRegion, id)
		_, tagged := im.Tags[policy.DeprecatedAtTag]
		switch {
		case id == "m-shared":
		case command == runner.Apply && (im.Status != "Deprecated" || !tagged),
			command == runner.Restore && (im.Status != "Available" || tagged && !strings.Contains(recovered[id].Message, "harmless")):
			t.Errorf("after %s again, %s is %s, tagged %v", command, id, im.Status, tagged)
		}
	}
}

// TestSIGKILLStagedRuns kills a staged apply and a restore with SIGKILL at the k-th answer to one
// of their calls: a real ModifyImageAttribute, a TagResources or UntagResources, or a DryRun
// (each image's DryRun is followed by its real change, so others are under way by then).
// After each kill:
//   - the journal is there and parses, and every real change the emulator received has a sent line;
//   - recover turns it into a report whose every image has one outcome, and that outcome agrees
//     with the emulator (checkStagedOutcomes): the image the process died waiting for is
//     deprecated (restored) if its change took effect, its tag as the lookup finds it;
//   - the same command run again finishes the work: what the report says the next apply does,
//     it does.
func TestSIGKILLStagedRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	t.Parallel()
	bin := commandPath(t)
	for _, p := range []struct {
		command string
		action  string
		dry     bool
		k       int64
	}{
		{runner.Apply, "ModifyImageAttribute", true, 5},
		{runner.Apply, "ModifyImageAttribute", false, 1},
		{runner.Apply, "ModifyImageAttribute", false, 13},
		{runner.Apply, "ModifyImageAttribute", false, stagedImageCount},
		{runner.Apply, "TagResources", false, 7},
		{runner.Apply, "TagResources", false, stagedImageCount + 1}, // the last: every change is done
		{runner.Restore, "ModifyImageAttribute", false, 1},
		{runner.Restore, "ModifyImageAttribute", false, 17},
		{runner.Restore, "UntagResources", false, 9},
		{runner.Restore, "UntagResources", false, stagedImageCount},
	} {
		name := fmt.Sprintf("%s/%s-%d", p.command, p.action, p.k)
		if p.dry {
			name += "-dry"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := stagedState(p.command == runner.Restore)
			r := startStaged(t, bin, p.command, st, nil, killAt(p.action, p.dry, p.k))
			r.wait(t)
			defer func() {
				if t.Failed() {
					t.Logf("killed at %s answer %d\n%s", p.action, p.k, r.stderrText())
				}
			}()
			if !r.diedBySignal() {
				t.Fatalf("the run was not killed: %v", r.waitErr)
			}
			journal := r.report + report.JournalSuffix
			rec, _ := checkJournalLines(t, journal)
			changed := rec.ChangedImages()[signalRegion]
			calls := changeCalls(r.srv)
			for _, c := range calls {
				if id := c[strings.IndexByte(c, ' ')+1:]; !slices.Contains(changed, id) {
					t.Errorf("the emulator received %s, which has no sent line", c)
				}
			}
			rep := recoverReport(t, bin, r, journal)
			if rep.Status != report.StatusInterrupted || rep.Command != p.command {
				t.Errorf("recovered %s %s", rep.Command, rep.Status)
			}
			rerun(t, bin, r, p.command, checkStagedOutcomes(t, rep, r.srv, st, p.command))
		})
	}
}

// TestSignalStopsStagedRuns sends SIGINT to a staged apply, and SIGTERM to a restore, at the
// k-th answer to a real ModifyImageAttribute, and holds that answer until the process says it has
// the signal: the answer reaches a stopped run. The process exits 130 (143) with its report
// written and its journal removed; no request starts after the stop but those already on their
// way; the image whose answer came after the stop changed status and is reported so, its tag left
// for the next apply; no other image is left with a wrong outcome. With every real change answered
// 500 after it took effect, lookups by id after the stop settle them.
func TestSignalStopsStagedRuns(t *testing.T) {
	t.Parallel()
	bin := commandPath(t)
	for _, p := range []struct {
		name    string
		command string
		sig     syscall.Signal
		code    int
		faults  ecstest.Faults
	}{
		{"apply-SIGINT", runner.Apply, syscall.SIGINT, exitInterrupted, ecstest.Faults{}},
		{"apply-SIGINT-answers-lost", runner.Apply, syscall.SIGINT, exitInterrupted, ecstest.Faults{ErrorAfterDeleteRatio: 1}},
		{"restore-SIGTERM", runner.Restore, syscall.SIGTERM, exitTerminated, ecstest.Faults{}},
	} {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			st := stagedState(p.command == runner.Restore)
			a := &answerCounter{action: "ModifyImageAttribute"}
			signaled := make(chan time.Time, 1)
			var stopped atomic.Pointer[ecstest.Call]
			r := startStaged(t, bin, p.command, st, map[string]ecstest.Faults{"ModifyImageAttribute": p.faults}, func(r *signalRun, c ecstest.Call) {
				if a.next(c) != 6 {
					return
				}
				stopped.Store(&c)
				signaled <- time.Now()
				_ = r.cmd.Process.Signal(p.sig)
				select {
				case <-r.handled:
				case <-r.done:
				}
			})
			code := r.wait(t)
			defer func() {
				if t.Failed() {
					t.Logf("%s\n", r.stderrText())
				}
			}()
			if code != p.code || r.diedBySignal() {
				t.Fatalf("exit %d (died by a signal: %v), want %d", code, r.diedBySignal(), p.code)
			}
			r.signaled = <-signaled
			rep := r.readReport(t)
			if _, err := os.Stat(r.report + report.JournalSuffix); !os.IsNotExist(err) {
				t.Errorf("the interrupted run left its journal: %v", err)
			}
			if rep.Status != report.StatusInterrupted {
				t.Errorf("status %s", rep.Status)
			}
			if lookups, lost := checkStagedStop(t, r), p.faults.ErrorAfterDeleteRatio > 0; (lookups > 0) != lost {
				t.Errorf("%d lookups by id, want some only when the answers were lost (%v)", lookups, lost)
			}
			got := checkStagedOutcomes(t, rep, r.srv, st, p.command)
			last := stopped.Load().ImageID
			if e := got[last]; e.Outcome != report.Deprecated && e.Outcome != report.Restored {
				t.Errorf("%s, whose change was answered after the stop: %s %s (%s)", last, e.Outcome, e.Code, e.Message)
			}
			for _, e := range rep.Images {
				if e.Outcome == report.Failed {
					t.Errorf("%s: failed after an interruption with every answer in: %s (%s)", e.ImageID, e.Code, e.Message)
				}
			}
			if rep.Summary.NotAttempted == 0 {
				t.Errorf("nothing left not_attempted: the stop came mid-step")
			}
		})
	}
}
