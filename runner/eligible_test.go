package runner_test

import (
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// TestEligibleAt: every image staged retention deprecates (or would), and every one in its grace
// period, carries in the report the time it becomes eligible for deletion: its tag time plus
// deprecate_first (14d), the run's own time for those it deprecates or tags now; no other entry
// has one.
func TestEligibleAt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, stagedAccount(), ecstest.Options{}, stagedPolicy)
	const grace = 14 * 24 * time.Hour
	check := func(rep *report.Report, want map[string]time.Time) {
		t.Helper()
		for _, e := range rep.Images {
			w, ok := want[e.ImageID]
			switch {
			case !ok && e.EligibleAt != nil:
				t.Errorf("%s %s %s: eligible_at %v, want none", rep.Command, e.ImageID, e.Outcome, e.EligibleAt)
			case ok && (e.EligibleAt == nil || !e.EligibleAt.Equal(w)):
				t.Errorf("%s %s %s: eligible_at %v, want %v", rep.Command, e.ImageID, e.Outcome, e.EligibleAt, w)
			}
		}
	}
	day0 := now.Add(grace)
	plan := h.run(t, runner.Plan, at(0))
	wantOutcome(t, plan, "m-a", report.WouldDeprecate, "")
	wantOutcome(t, plan, "m-dep", report.Skipped, runner.CodeInGracePeriod)
	check(plan, map[string]time.Time{"m-a": day0, "m-b": day0, "m-dep": day0})

	apply := h.run(t, runner.Apply, at(0))
	wantOutcome(t, apply, "m-a", report.Deprecated, "")
	check(apply, map[string]time.Time{"m-a": day0, "m-b": day0, "m-dep": day0})

	// A week later the three are in their grace period, eligible at the same time as said on day 0.
	week := h.run(t, runner.Plan, at(7))
	wantOutcome(t, week, "m-a", report.Skipped, runner.CodeInGracePeriod)
	check(week, map[string]time.Time{"m-a": day0, "m-b": day0, "m-dep": day0})

	// Day 15 deletes them: a deletion has no eligible_at.
	day15 := h.run(t, runner.Apply, at(15))
	wantOutcome(t, day15, "m-a", report.Deleted, "")
	check(day15, map[string]time.Time{})
}
