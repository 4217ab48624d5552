package runner_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// simpleState is n deletable images in each region.
func simpleState(n int, regions ...string) *ecstest.State {
	st := &ecstest.State{Regions: map[string]*ecstest.Region{}}
	for i, r := range regions {
		st.Regions[r] = &ecstest.Region{Images: ecstest.GenerateImages(n, fmt.Sprintf("r%d", i), now.Add(-90*24*time.Hour))}
	}
	return st
}

func simplePolicy(concurrency int, extra string, regions ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nconcurrency: %d\nregions:\n", concurrency)
	for _, r := range regions {
		fmt.Fprintf(&b, "  - region: %s\n    select:\n      older_than: 30d\n", r)
	}
	b.WriteString(extra)
	return b.String()
}

func realDeletes(srv *ecstest.Server) map[string]int {
	m := map[string]int{}
	for _, c := range srv.Calls() {
		if c.Action == "DeleteImage" && !c.DryRun {
			m[c.Region+"/"+c.ImageID]++
		}
	}
	return m
}

// checkAgainstEmulator asserts that the report and the emulator agree: every image the
// emulator no longer has was reported deleted, and every image reported deleted is gone.
func checkAgainstEmulator(t testing.TB, rep *report.Report, srv *ecstest.Server, st *ecstest.State) {
	t.Helper()
	reported := map[string]report.Outcome{}
	for _, e := range rep.Images {
		reported[e.Region+"/"+e.ImageID] = e.Outcome
	}
	for region, reg := range st.Regions {
		for _, img := range reg.Images {
			key := region + "/" + img.ID
			_, exists := srv.Image(region, img.ID)
			if !exists && reported[key] != report.Deleted {
				t.Errorf("%s was deleted in the emulator but reported %q", key, reported[key])
			}
			if exists && reported[key] == report.Deleted {
				t.Errorf("%s reported deleted but still exists", key)
			}
		}
	}
}

func TestGuardMaxDeletionsAbortsBeforeAnyDelete(t *testing.T) {
	st := simpleState(30, "cn-hangzhou")
	h := newHarness(t, st, ecstest.Options{}, simplePolicy(4, "limits:\n  max_deletions: 10\n", "cn-hangzhou"))
	rep := h.run(t, runner.Apply, nil)
	if rep.Status != report.StatusAborted {
		t.Fatalf("status %s, want aborted", rep.Status)
	}
	if n := len(realDeletes(h.srv)); n != 0 {
		t.Fatalf("%d real deletes after a guard abort", n)
	}
	if rep.Summary.NotAttempted != 30 || !strings.Contains(rep.Fault, "max_deletions") {
		t.Errorf("summary %+v fault %q", rep.Summary, rep.Fault)
	}
	for _, e := range rep.Images {
		if e.Code != runner.CodeMaxDeletions {
			t.Errorf("%s: code %q, want %s", e.ImageID, e.Code, runner.CodeMaxDeletions)
		}
	}
}

func TestGuardMaxDeletionPercent(t *testing.T) {
	st := simpleState(10, "cn-hangzhou")
	// 10 more own images that the selector does not take: 10 of 20 is 50%.
	for _, img := range ecstest.GenerateImages(10, "young", now.Add(-time.Hour)) {
		st.Regions["cn-hangzhou"].Images = append(st.Regions["cn-hangzhou"].Images, img)
	}
	h := newHarness(t, st, ecstest.Options{}, simplePolicy(4, "limits:\n  max_deletion_percent: 40\n", "cn-hangzhou"))
	if rep := h.run(t, runner.Apply, nil); rep.Status != report.StatusAborted || len(realDeletes(h.srv)) != 0 {
		t.Fatalf("status %s, %d real deletes; want aborted and none", rep.Status, len(realDeletes(h.srv)))
	}
	h = newHarness(t, st, ecstest.Options{}, simplePolicy(4, "limits:\n  max_deletion_percent: 50\n", "cn-hangzhou"))
	if rep := h.run(t, runner.Apply, nil); rep.Status != report.StatusCompleted || rep.Summary.Deleted != 10 {
		t.Fatalf("at exactly the limit: status %s, %+v", rep.Status, rep.Summary)
	}
}

func TestNotConfirmedDeletesNothing(t *testing.T) {
	st := simpleState(5, "cn-hangzhou")
	h := newHarness(t, st, ecstest.Options{}, simplePolicy(4, "", "cn-hangzhou"))
	var asked []report.Entry
	rep := h.run(t, runner.Apply, func(c *runner.Config) {
		c.Confirm = func(toDelete []report.Entry) bool { asked = toDelete; return false }
	})
	if len(asked) != 5 || asked[0].Region != "cn-hangzhou" || asked[0].CreatedAt == nil || asked[0].Outcome != report.WouldDelete {
		t.Errorf("confirmation showed %v, want 5 in cn-hangzhou", asked)
	}
	if rep.Status != report.StatusAborted || len(realDeletes(h.srv)) != 0 || rep.Summary.NotAttempted != 5 {
		t.Fatalf("status %s, %d real deletes, %+v", rep.Status, len(realDeletes(h.srv)), rep.Summary)
	}
}

func TestDryRunNotHonouredStopsAtOnce(t *testing.T) {
	st := simpleState(20, "cn-hangzhou")
	h := newHarness(t, st, ecstest.Options{IgnoreDryRun: true}, simplePolicy(1, "", "cn-hangzhou"))
	rep := h.run(t, runner.Plan, nil)
	var deletes int
	for _, c := range h.srv.Calls() {
		if c.Action == "DeleteImage" {
			deletes++
		}
	}
	if deletes != 1 {
		t.Errorf("%d DeleteImage requests, want exactly the one that revealed the fault", deletes)
	}
	// The emulator really deleted the image: the lookup after the fault finds it gone, and the
	// report counts it deleted, under the code that says how.
	if rep.Fault == "" || rep.Summary.Deleted != 1 || rep.Summary.Failed != 0 || rep.Summary.NotAttempted != 19 {
		t.Errorf("fault %q summary %+v by_code %v", rep.Fault, rep.Summary, rep.ByCode)
	}
	for _, e := range rep.Images {
		if e.Outcome == report.Deleted && e.Code != runner.CodeDryRunNotHonoured {
			t.Errorf("%s deleted with code %q, want %s", e.ImageID, e.Code, runner.CodeDryRunNotHonoured)
		}
	}
	checkAgainstEmulator(t, rep, h.srv, st)
}

func TestForceOnlyWhenThePolicySaysSo(t *testing.T) {
	st := simpleState(3, "cn-hangzhou")
	st.Regions["cn-hangzhou"].Instances = []ecstest.Instance{{ID: "i-1", ImageID: st.Regions["cn-hangzhou"].Images[0].ID, Status: "Running"}}
	pol := "version: 1\nregions:\n  - region: cn-hangzhou\n    force: true\n    select:\n      older_than: 30d\n"
	h := newHarness(t, st, ecstest.Options{}, pol)
	rep := h.run(t, runner.Apply, nil)
	if rep.Summary.Deleted != 3 {
		t.Fatalf("with force: true, %+v", rep.Summary)
	}
	for _, c := range h.srv.Calls() {
		if c.Action == "DeleteImage" && !c.Force {
			t.Errorf("DeleteImage of %s without Force though the policy says force: true", c.ImageID)
		}
	}
}

func TestRetriesThroughThrottlingErrorsAndDrops(t *testing.T) {
	regions := []string{"cn-hangzhou", "cn-beijing"}
	st := simpleState(300, regions...)
	h := newHarness(t, st, ecstest.Options{Seed: 7, Faults: map[string]ecstest.Faults{
		"DeleteImage":    {ThrottleRatio: 0.1, InternalErrorRatio: 0.05, UnavailableRatio: 0.03, DropAfterDeleteRatio: 0.05},
		"DescribeImages": {ThrottleRatio: 0.1, InternalErrorRatio: 0.05},
	}}, simplePolicy(16, "", regions...))
	rep := h.run(t, runner.Apply, func(c *runner.Config) { c.Retry.MaxAttempts = 8 })
	if rep.Summary.Deleted != 600 || rep.Summary.Failed != 0 {
		t.Fatalf("summary %+v by_code %v", rep.Summary, rep.ByCode)
	}
	for key, n := range realDeletes(h.srv) {
		_ = n
		region, id, _ := strings.Cut(key, "/")
		if _, ok := h.srv.Image(region, id); ok {
			t.Errorf("%s still exists", key)
		}
	}
	var dropped, nonce int
	for _, c := range h.srv.Calls() {
		if c.Dropped {
			dropped++
		}
		if c.Code == "SignatureNonceUsed" {
			nonce++
		}
	}
	if dropped == 0 {
		t.Error("no connection was dropped: the test does not exercise unknown results")
	}
	if nonce != 0 {
		t.Errorf("%d requests reused a nonce: a retry must be a fresh request", nonce)
	}
	checkAgainstEmulator(t, rep, h.srv, st)
}

func TestBlockedAndNotFoundAreNotRetried(t *testing.T) {
	st := simpleState(4, "cn-hangzhou")
	reg := st.Regions["cn-hangzhou"]
	reg.Images[0].SharedWith = []string{"1111"}
	pol := simplePolicy(2, "", "cn-hangzhou")
	h := newHarness(t, st, ecstest.Options{}, pol)
	rep := h.run(t, runner.Apply, nil)
	for _, e := range rep.Images {
		if e.ImageID == reg.Images[0].ID && (e.Outcome != report.Blocked || e.Attempts != 1) {
			t.Errorf("shared image: %s after %d attempts, want blocked after 1", e.Outcome, e.Attempts)
		}
	}
}

// cancelAfter wraps the real client and cancels the run as the nth DeleteImage is sent. It
// counts the calls that enter after the cancellation.
type cancelAfter struct {
	*ecs.Client
	n         int64
	sent      atomic.Int64
	late      atomic.Int64
	cancelled atomic.Bool
	cancel    context.CancelFunc
}

func (c *cancelAfter) DeleteImage(ctx context.Context, in ecs.DeleteImageInput) (ecs.Result, error) {
	if c.cancelled.Load() {
		c.late.Add(1)
	}
	if c.sent.Add(1) == c.n {
		// The signal arrives as this request leaves: it is in flight, the last one to start.
		c.cancelled.Store(true)
		c.cancel()
	}
	return c.Client.DeleteImage(ctx, in)
}

// TestInterruptedRunMatchesEmulator cancels apply at points of both phases: no request starts
// after the cancellation, and the report agrees with what the emulator did.
func TestInterruptedRunMatchesEmulator(t *testing.T) {
	for _, after := range []int64{1, 30, 61, 75, 100} { // 60 dry runs, then 60 deletes
		t.Run(fmt.Sprint(after), func(t *testing.T) {
			st := simpleState(60, "cn-hangzhou")
			h := newHarness(t, st, ecstest.Options{Faults: map[string]ecstest.Faults{"*": {Latency: 5 * time.Millisecond}}}, simplePolicy(4, "", "cn-hangzhou"))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			api := &cancelAfter{Client: h.client, n: after, cancel: cancel}
			cfg := runner.Config{Command: runner.Apply, Policy: h.pol, PolicyBytes: h.data, API: api, Now: func() time.Time { return now }}
			rep, err := runner.New(cfg).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkSums(t, rep)
			if rep.Status != report.StatusInterrupted {
				t.Fatalf("status %s, want interrupted", rep.Status)
			}
			// Workers that took their slot before the cancellation may still send (at most
			// concurrency-1 of them); none that checked after it may.
			if late := api.late.Load(); late > 3 {
				t.Errorf("%d DeleteImage requests entered after the cancellation; at most 3 were already past their check", late)
			}
			checkAgainstEmulator(t, rep, h.srv, st)
			if rep.Summary.NotAttempted == 0 {
				t.Error("nothing was left not_attempted")
			}
		})
	}
}

// TestInterruptedUnknownDeletesAreSettled: every real delete takes effect and is answered 500,
// and the run is interrupted while the retries wait. Nothing more is deleted, but one read-only
// lookup settles the unknown results: the report says deleted for every image that is gone, and
// no image is left DeleteResultUnknown.
func TestInterruptedUnknownDeletesAreSettled(t *testing.T) {
	st := simpleState(20, "cn-hangzhou")
	h := newHarness(t, st, ecstest.Options{Faults: map[string]ecstest.Faults{"DeleteImage": {ErrorAfterDeleteRatio: 1}}},
		simplePolicy(4, "", "cn-hangzhou"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api := &cancelAfter{Client: h.client, n: 20 + 6, cancel: cancel} // 20 dry runs, then 6 real deletes
	cfg := runner.Config{Command: runner.Apply, Policy: h.pol, PolicyBytes: h.data, API: api, Now: func() time.Time { return now },
		Retry: runner.RetryConfig{BaseDelay: time.Second, MaxDelay: 2 * time.Second}} // the retries wait past the stop
	rep, err := runner.New(cfg).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, rep)
	if rep.Status != report.StatusInterrupted {
		t.Fatalf("status %s, want interrupted", rep.Status)
	}
	checkAgainstEmulator(t, rep, h.srv, st)
	if n := rep.ByCode[runner.CodeDeleteResultUnknown]; n != 0 || rep.Summary.Deleted == 0 {
		t.Errorf("%d images left DeleteResultUnknown, %d deleted: the lookup did not settle them", n, rep.Summary.Deleted)
	}
	lookups := 0
	for _, c := range h.srv.Calls() {
		if c.Action == "DescribeImages" && c.Params["ImageId"] != "" {
			lookups++
		}
	}
	if lookups != 1 {
		t.Errorf("%d lookups after the interruption, want 1", lookups)
	}
}

// TestProgressPhasesAndPrompt: progress names each phase in order, counts the images of the dry
// run and delete phases, and the time at the confirmation prompt is left out of the run's time.
func TestProgressPhasesAndPrompt(t *testing.T) {
	st := simpleState(12, "cn-hangzhou")
	h := newHarness(t, st, ecstest.Options{}, simplePolicy(4, "", "cn-hangzhou"))
	var mu sync.Mutex
	var phases []string
	last := map[string]runner.Progress{}
	const wait = 300 * time.Millisecond
	rep := h.run(t, runner.Apply, func(c *runner.Config) {
		c.Progress = func(p runner.Progress) {
			mu.Lock()
			defer mu.Unlock()
			if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
				phases = append(phases, p.Phase)
			}
			last[p.Phase] = p
		}
		c.Confirm = func([]report.Entry) bool { time.Sleep(wait); return true }
	})
	want := []string{"list and select", "references", "dry run", "what an ignored dry run deleted", "guards", "deprecate", "delete", "confirm", "follow-ups", "requests in flight"}
	if !slices.Equal(phases, want) {
		t.Errorf("phases %q, want %q", phases, want)
	}
	for _, ph := range []string{"dry run", "delete"} {
		if p := last[ph]; p.Total != 12 || p.Done != 12 {
			t.Errorf("%s: last progress %d/%d, want 12/12", ph, p.Done, p.Total)
		}
	}
	if rep.ConfirmationSeconds < wait.Seconds() {
		t.Errorf("confirmation_seconds %.3f, want at least %.1f", rep.ConfirmationSeconds, wait.Seconds())
	}
	if took := rep.FinishedAt.Sub(rep.StartedAt); rep.Working() != took-time.Duration(rep.ConfirmationSeconds*float64(time.Second)) {
		t.Errorf("working %v of %v", rep.Working(), took)
	}
}
