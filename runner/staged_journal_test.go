package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// TestStagedNamesAgree: the report package names staged retention's tag, codes and statuses
// itself (it imports neither policy nor runner); they must be the same.
func TestStagedNamesAgree(t *testing.T) {
	for _, c := range [][2]string{
		{report.DeprecatedAtTag, policy.DeprecatedAtTag},
		{report.CodeImageGone, runner.CodeImageGone},
		{report.CodeInGracePeriod, runner.CodeInGracePeriod},
		{report.CodeInterruptedInFlight, runner.CodeInterruptedInFlight},
		{report.CodeChangeResultUnknown, runner.CodeChangeResultUnknown},
		{report.StatusDeprecated, ecs.StatusDeprecated},
		{report.StatusAvailable, ecs.StatusAvailable},
	} {
		if c[0] != c[1] {
			t.Errorf("report says %q, the package that owns it %q", c[0], c[1])
		}
	}
}

// stagedImages is an account of n images the staged policy selects, all Available, and one it
// selects that was deprecated by hand (no tag: apply tags it only). With deprecated, all n are
// Deprecated and tagged a day ago instead, as a restore finds them.
func stagedImages(n int, deprecated bool) *ecstest.State {
	old := now.AddDate(0, -3, 0)
	var ims []ecstest.Image
	for i := range n {
		im := ecstest.Image{ID: fmt.Sprintf("m-s%02d", i), Name: fmt.Sprintf("ci-s%02d", i), CreationTime: old.Add(time.Duration(i) * time.Minute)}
		if deprecated {
			im.Status, im.Tags = "Deprecated", map[string]string{policy.DeprecatedAtTag: now.AddDate(0, 0, -1).Format(time.RFC3339)}
		}
		ims = append(ims, im)
	}
	if !deprecated {
		ims = append(ims, ecstest.Image{ID: "m-hand", Name: "ci-hand", CreationTime: old, Status: "Deprecated"})
	}
	return &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {Images: ims}}}
}

// checkStaged checks a staged apply's or a restore's report against the emulator, image by
// image: one entry each; an outcome that says the status changed (deprecated, restored) exactly
// for the images whose status the emulator changed; an image deprecated without its tag says
// that the next apply tags it, one restored with its tag left says that is harmless; tagged
// (skipped InGracePeriod) exactly where a hand-deprecated image got the tag; not_attempted only
// for images left as they were. It returns the outcomes by id.
func checkStaged(t *testing.T, rep *report.Report, srv *ecstest.Server, before *ecstest.State, command string) map[string]report.Entry {
	t.Helper()
	checkSums(t, rep)
	got := map[string]report.Entry{}
	for _, e := range rep.Images {
		got[e.ImageID] = e
	}
	changedTo, changedFrom := "Deprecated", "Available"
	if command == runner.Restore {
		changedTo, changedFrom = "Available", "Deprecated"
	}
	for _, was := range before.Regions["cn-hangzhou"].Images {
		e, ok := got[was.ID]
		if !ok {
			t.Errorf("%s: no outcome", was.ID)
			continue
		}
		im, exists := srv.Image("cn-hangzhou", was.ID)
		if !exists {
			t.Errorf("%s: gone", was.ID)
			continue
		}
		_, taggedNow := im.Tags[policy.DeprecatedAtTag]
		_, taggedBefore := was.Tags[policy.DeprecatedAtTag]
		changed := (was.Status == "" || was.Status == changedFrom) && im.Status == changedTo
		says := e.Outcome == report.Deprecated || e.Outcome == report.Restored
		switch {
		case changed != says:
			t.Errorf("%s: %s %s (%s), but the emulator has it %s, was %q", was.ID, e.Outcome, e.Code, e.Message, im.Status, was.Status)
		case e.Outcome == report.Deprecated && !taggedNow && !strings.Contains(e.Message, "the next apply tags it"):
			t.Errorf("%s: deprecated without its tag, and the message does not say the next apply tags it: %s", was.ID, e.Message)
		case e.Outcome == report.Restored && taggedNow && !strings.Contains(e.Message, "harmless"):
			t.Errorf("%s: restored with its tag left, and the message does not say so: %s", was.ID, e.Message)
		case e.Outcome == report.Restored && !taggedNow && strings.Contains(e.Message, "harmless"):
			t.Errorf("%s: restored and untagged, and the message says the tag is left: %s", was.ID, e.Message)
		case command == runner.Apply && was.Status == "Deprecated" && taggedNow != (e.Outcome == report.Skipped && e.Code == runner.CodeInGracePeriod):
			t.Errorf("%s: deprecated by hand, tagged now %v, reported %s %s (%s)", was.ID, taggedNow, e.Outcome, e.Code, e.Message)
		case e.Outcome == report.NotAttempted && (im.Status != was.Status && !(was.Status == "" && im.Status == "Available") || taggedNow != taggedBefore):
			t.Errorf("%s: not_attempted, but the emulator changed it: %s tagged %v, was %q tagged %v", was.ID, im.Status, taggedNow, was.Status, taggedBefore)
		}
	}
	return got
}

// atAnswer calls fn at the k-th real answer of action, in the emulator's OnAnswer, before the
// client has that answer.
type atAnswer struct {
	action string
	k      int64
	n      atomic.Int64
	fn     func(ecstest.Call)
}

func (a *atAnswer) hook(c ecstest.Call) {
	if c.Action == a.action && !c.DryRun && a.n.Add(1) == a.k {
		a.fn(c)
	}
}

// TestStagedJournalRecovers: a staged apply and a restore with a journal name every real
// ModifyImageAttribute (with its status), TagResources and UntagResources in a sent line, and the
// report recovered from each journal alone, with a lookup of those images, says what the run's
// own report says, image by image.
func TestStagedJournalRecovers(t *testing.T) {
	t.Parallel()
	st := stagedAccount()
	h := newHarness(t, st, ecstest.Options{}, stagedPolicy)
	dir := t.TempDir()
	for i, command := range []string{runner.Apply, runner.Restore} {
		path := filepath.Join(dir, command+".journal")
		j, err := report.CreateJournal(path, command, report.PolicyRef{Path: "policy.yaml"}, now)
		if err != nil {
			t.Fatal(err)
		}
		calls := len(h.srv.Calls())
		rep := h.run(t, command, func(c *runner.Config) { at(i)(c); c.Journal = j })
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := report.ReadJournal(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		changed := rec.ChangedImages()["cn-hangzhou"]
		n := 0
		for _, c := range h.srv.Calls()[calls:] {
			id := c.ImageID
			switch {
			case c.Action == "ModifyImageAttribute" && !c.DryRun:
			case c.Action == "TagResources" || c.Action == "UntagResources":
				id = c.Params["ResourceId.1"]
			default:
				continue
			}
			n++
			if !slices.Contains(changed, id) {
				t.Errorf("%s: %s %s has no sent line", command, c.Action, id)
			}
		}
		if n == 0 || len(changed) == 0 {
			t.Fatalf("%s sent no change (%d), or the journal names none (%v)", command, n, changed)
		}
		lk := runner.LookUp(context.Background(), runner.Config{Policy: h.pol, API: h.client}, rec.LookUpImages())
		got := rec.Recover(lk, path, now.Add(time.Minute))
		if len(got.Images) != len(rep.Images) || got.Command != command {
			t.Fatalf("%s: recovered %d images (%s), the run reported %d", command, len(got.Images), got.Command, len(rep.Images))
		}
		for k, w := range rep.Images {
			if g := got.Images[k]; g.ImageID != w.ImageID || g.Outcome != w.Outcome || g.Code != w.Code || g.Message != w.Message {
				t.Errorf("%s: recovered %s %s %q (%s)\nthe run reported %s %s %q (%s)", command, g.ImageID, g.Outcome, g.Code, g.Message,
					w.ImageID, w.Outcome, w.Code, w.Message)
			}
		}
		if got.Summary != rep.Summary {
			t.Errorf("%s: recovered summary %+v, the run's %+v", command, got.Summary, rep.Summary)
		}
	}
}

// TestStagedInterrupted cancels a staged apply, and a restore, at the k-th answer to a real
// ModifyImageAttribute, just before the runner has it: the image it answers changed status but is
// not tagged (untagged) after the stop, which the report says; the requests in flight finish and
// no new one starts; every image's outcome agrees with the emulator. With every real change
// answered 500 after it took effect, the answers say nothing: lookups after the stop settle
// them, and none is left unknown or reported not_attempted.
func TestStagedInterrupted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		command string
		faults  ecstest.Faults
		k       int64
	}{
		{"apply", runner.Apply, ecstest.Faults{}, 5},
		{"apply-answers-lost", runner.Apply, ecstest.Faults{ErrorAfterDeleteRatio: 1}, 6},
		{"restore", runner.Restore, ecstest.Faults{}, 5},
		{"restore-answers-lost", runner.Restore, ecstest.Faults{ErrorAfterDeleteRatio: 1}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := stagedImages(16, tc.command == runner.Restore)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stoppedAt atomic.Pointer[time.Time]
			hook := &atAnswer{action: "ModifyImageAttribute", k: tc.k, fn: func(ecstest.Call) {
				at := time.Now()
				stoppedAt.Store(&at)
				cancel()
			}}
			h := newHarness(t, st, ecstest.Options{OnAnswer: hook.hook, Faults: map[string]ecstest.Faults{"ModifyImageAttribute": tc.faults}}, stagedPolicy)
			cfg := runner.Config{Command: tc.command, Policy: h.pol, PolicyBytes: h.data, API: h.client, Now: func() time.Time { return now },
				Retry: runner.RetryConfig{BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}, Rate: runner.RateConfig{Start: unpacedStart}}
			rep, err := runner.New(cfg).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status != report.StatusInterrupted {
				t.Fatalf("status %s, want interrupted", rep.Status)
			}
			got := checkStaged(t, rep, h.srv, st, tc.command)
			// The answer the stop came with: its status changed, and no tag call followed.
			changed, notAttempted := 0, 0
			for _, e := range got {
				switch e.Outcome {
				case report.Deprecated, report.Restored:
					changed++
				case report.NotAttempted:
					notAttempted++
				case report.Failed, report.Blocked:
					t.Errorf("%s: %s %s (%s)", e.ImageID, e.Outcome, e.Code, e.Message)
				}
			}
			if changed < 1 || notAttempted == 0 {
				t.Errorf("%d changed, %d not attempted: the stop came mid-step, after at least one change", changed, notAttempted)
			}
			lookups, late := 0, 0
			stop := *stoppedAt.Load()
			for _, c := range h.srv.Calls() {
				if c.Action == "DescribeImages" && c.Params["ImageId"] != "" {
					lookups++
				} else if c.Start.After(stop) {
					late++
				}
			}
			// Requests past their last check before the stop may still arrive: at most one a
			// concurrency slot, the answered one's aside.
			if late > 3 {
				t.Errorf("%d requests started after the stop", late)
			}
			if want := tc.faults.ErrorAfterDeleteRatio > 0; (lookups > 0) != want {
				t.Errorf("%d lookups after the stop, want some only when the answers were lost (%v)", lookups, want)
			}
		})
	}
}

// TestStagedReportWhileInFlight: the report taken while requests are in flight (a second signal
// writes it so, at once) says failed InterruptedInFlight of an image whose real
// ModifyImageAttribute is in flight, and deprecated, its tag not set, of one whose status change
// was answered and whose TagResources is in flight: never not_attempted.
func TestStagedReportWhileInFlight(t *testing.T) {
	t.Parallel()
	st := stagedImages(8, false)
	held := make(chan ecstest.Call, 2)
	release := make(chan struct{})
	var once sync.Map
	hold := func(c ecstest.Call) {
		if c.DryRun || (c.Action != "ModifyImageAttribute" && c.Action != "TagResources") || c.Params["ResourceId.1"] == "m-hand" {
			return // m-hand, deprecated by hand, is only tagged
		}
		if _, dup := once.LoadOrStore(c.Action, true); !dup {
			held <- c
			<-release
		}
	}
	h := newHarness(t, st, ecstest.Options{OnAnswer: hold}, stagedPolicy)
	r := runner.New(runner.Config{Command: runner.Apply, Policy: h.pol, PolicyBytes: h.data, API: h.client, Now: func() time.Time { return now },
		Rate: runner.RateConfig{Start: unpacedStart}})
	done := make(chan *report.Report)
	go func() {
		rep, err := r.Run(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	a, b := <-held, <-held
	modifying, tagging := a.ImageID, b.Params["ResourceId.1"]
	if a.Action != "ModifyImageAttribute" {
		modifying, tagging = b.ImageID, a.Params["ResourceId.1"]
	}
	snap := r.Report(report.StatusInterrupted)
	close(release)
	final := <-done
	got := map[string]report.Entry{}
	for _, e := range snap.Images {
		got[e.ImageID] = e
	}
	if e := got[modifying]; e.Outcome != report.Failed || e.Code != runner.CodeInterruptedInFlight {
		t.Errorf("%s, its ModifyImageAttribute in flight: %s %s (%s)", modifying, e.Outcome, e.Code, e.Message)
	}
	if e := got[tagging]; e.Outcome != report.Deprecated || !strings.Contains(e.Message, "the next apply tags it") {
		t.Errorf("%s, deprecated and its TagResources in flight: %s %s (%s)", tagging, e.Outcome, e.Code, e.Message)
	}
	checkSums(t, snap)
	checkStaged(t, final, h.srv, st, runner.Apply)
	if final.Summary.Deprecated != 8 {
		t.Errorf("the run, once released: %+v", final.Summary)
	}
}
