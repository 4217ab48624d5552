package runner_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// confirmAccount: two images to deprecate, one Deprecated by hand (tag only), one shared (its
// DryRun is refused), and, when expired, two Deprecated past the grace period (to delete).
func confirmAccount(expired bool) *ecstest.State {
	old := now.AddDate(0, -3, 0)
	images := []ecstest.Image{
		{ID: "m-a", Name: "ci-a", CreationTime: old},
		{ID: "m-b", Name: "ci-b", CreationTime: old},
		{ID: "m-dep", Name: "ci-dep", CreationTime: old, Status: "Deprecated"},
		{ID: "m-shared", Name: "ci-shared", CreationTime: old, SharedWith: []string{"1888888888888888"}},
	}
	if expired {
		tag := map[string]string{policy.DeprecatedAtTag: now.AddDate(0, 0, -20).Format(time.RFC3339)}
		images = append(images,
			ecstest.Image{ID: "m-old1", Name: "ci-old1", CreationTime: old, Status: "Deprecated", Tags: tag},
			ecstest.Image{ID: "m-old2", Name: "ci-old2", CreationTime: old, Status: "Deprecated", Tags: tag})
	}
	return &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {Images: images}}}
}

// onlyDryRuns fails the test on any call that changes an image.
func onlyDryRuns(t *testing.T, srv *ecstest.Server) {
	t.Helper()
	for _, c := range srv.Calls() {
		switch c.Action {
		case "ModifyImageAttribute", "DeleteImage":
			if !c.DryRun {
				t.Errorf("a real %s of %s was sent", c.Action, c.ImageID)
			}
		case "TagResources", "UntagResources":
			t.Errorf("%s of %s was sent", c.Action, c.Params["ResourceId.1"])
		}
	}
}

// shownAs is what the confirmation showed: "id outcome code" of each image, in its order.
func shownAs(es []report.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ImageID+" "+string(e.Outcome)+" "+e.Code)
	}
	return out
}

// TestStagedApplyAsks: an apply that would only deprecate asks as one that deletes does, with
// every image it would change; a no leaves each not_attempted with nothing sent but DryRuns.
func TestStagedApplyAsks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		expired bool
		shown   []string
	}{
		{"deprecations only", false, []string{"m-a would_deprecate ", "m-b would_deprecate ", "m-dep skipped " + runner.CodeInGracePeriod}},
		{"deprecations and deletions", true, []string{"m-a would_deprecate ", "m-b would_deprecate ", "m-dep skipped " + runner.CodeInGracePeriod,
			"m-old1 would_delete ", "m-old2 would_delete "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, confirmAccount(tc.expired), ecstest.Options{}, stagedPolicy)
			asked := 0
			var shown []string
			rep := h.run(t, runner.Apply, func(c *runner.Config) {
				at(0)(c)
				c.Confirm = func(es []report.Entry) bool { asked++; shown = shownAs(es); return false }
			})
			if asked != 1 || !slices.Equal(shown, tc.shown) {
				t.Fatalf("asked %d times, shown %q; want once, %q", asked, shown, tc.shown)
			}
			if rep.Status != report.StatusAborted {
				t.Errorf("status %s, want aborted", rep.Status)
			}
			for _, id := range []string{"m-a", "m-b", "m-dep", "m-old1", "m-old2"} {
				if _, ok := outcomes(rep)[id]; ok || tc.expired {
					wantOutcome(t, rep, id, report.NotAttempted, runner.CodeNotConfirmed)
				}
			}
			wantOutcome(t, rep, "m-shared", report.Blocked, ecstest.CodeDeprecateShared)
			onlyDryRuns(t, h.srv)

			// Yes: every one is changed.
			rep = h.run(t, runner.Apply, func(c *runner.Config) {
				at(0)(c)
				c.Confirm = func([]report.Entry) bool { return true }
			})
			wantOutcome(t, rep, "m-a", report.Deprecated, "")
			wantOutcome(t, rep, "m-dep", report.Skipped, runner.CodeInGracePeriod)
			if tc.expired {
				wantOutcome(t, rep, "m-old1", report.Deleted, "")
			}
		})
	}
}

// TestStagedGuardAbortsDeprecations: a guard that aborts the deletions stops the deprecations
// too, each reported under the guard's code, with nothing sent but DryRuns.
func TestStagedGuardAbortsDeprecations(t *testing.T) {
	t.Parallel()
	h := newHarness(t, confirmAccount(true), ecstest.Options{}, stagedPolicy+"limits:\n  max_deletions: 1\n")
	rep := h.run(t, runner.Apply, at(0))
	if rep.Status != report.StatusAborted {
		t.Fatalf("status %s, want aborted", rep.Status)
	}
	for _, id := range []string{"m-a", "m-b", "m-dep", "m-old1", "m-old2"} {
		wantOutcome(t, rep, id, report.NotAttempted, runner.CodeMaxDeletions)
	}
	onlyDryRuns(t, h.srv)
}
