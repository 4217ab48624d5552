package runner_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

const stagedPolicy = `version: 1
concurrency: 4
deprecate_first: 14d
regions:
  - region: cn-hangzhou
    select:
      name: "ci-*"
      older_than: 30d
protect:
  tags: {keep: "true"}
`

func stagedAccount() *ecstest.State {
	old := now.AddDate(0, -3, 0)
	return &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {
		Images: []ecstest.Image{
			{ID: "m-a", Name: "ci-a", CreationTime: old},
			{ID: "m-b", Name: "ci-b", CreationTime: old.Add(time.Hour)},
			{ID: "m-shared", Name: "ci-shared", CreationTime: old, SharedWith: []string{"1888888888888888"}},
			{ID: "m-keep", Name: "ci-keep", CreationTime: old, Tags: map[string]string{"keep": "true"}},
			{ID: "m-young", Name: "ci-young", CreationTime: now.AddDate(0, 0, -1)},
			{ID: "m-dep", Name: "ci-dep", CreationTime: old, Status: "Deprecated"}, // deprecated by hand: no tag
		},
	}}}
}

func outcomes(rep *report.Report) map[string]report.Entry {
	m := map[string]report.Entry{}
	for _, e := range rep.Images {
		m[e.ImageID] = e
	}
	return m
}

func wantOutcome(t *testing.T, rep *report.Report, id string, o report.Outcome, code string) report.Entry {
	t.Helper()
	e, ok := outcomes(rep)[id]
	if !ok || e.Outcome != o || e.Code != code {
		t.Fatalf("%s: %s %q (%s), want %s %q", id, e.Outcome, e.Code, e.Message, o, code)
	}
	return e
}

func at(day int) func(*runner.Config) {
	return func(c *runner.Config) {
		t := now.AddDate(0, 0, day)
		c.Now = func() time.Time { return t }
	}
}

func TestStagedRetentionEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t, stagedAccount(), ecstest.Options{}, stagedPolicy)
	status := func(id string) string {
		im, ok := h.srv.Image("cn-hangzhou", id)
		if !ok {
			return "gone"
		}
		return im.Status
	}

	// Plan sends no change: it says what would be deprecated.
	plan := h.run(t, runner.Plan, at(0))
	wantOutcome(t, plan, "m-a", report.WouldDeprecate, "")
	wantOutcome(t, plan, "m-shared", report.Blocked, ecstest.CodeDeprecateShared)
	wantOutcome(t, plan, "m-keep", report.Skipped, "")
	wantOutcome(t, plan, "m-dep", report.Skipped, runner.CodeInGracePeriod)
	if plan.Summary.WouldDeprecate != 2 {
		t.Errorf("plan summary %+v", plan.Summary)
	}
	for _, c := range h.srv.Calls() {
		if (c.Action == "ModifyImageAttribute" && !c.DryRun) || c.Action == "TagResources" || c.Action == "DeleteImage" {
			t.Fatalf("plan sent a change: %s %v", c.Action, c.Params)
		}
	}

	// Day 0: deprecate and tag; the hand-deprecated image gets our tag, its clock starting now.
	day0 := h.run(t, runner.Apply, at(0))
	wantOutcome(t, day0, "m-a", report.Deprecated, "")
	wantOutcome(t, day0, "m-b", report.Deprecated, "")
	wantOutcome(t, day0, "m-shared", report.Blocked, ecstest.CodeDeprecateShared)
	wantOutcome(t, day0, "m-dep", report.Skipped, runner.CodeInGracePeriod)
	if day0.Summary.Deprecated != 2 || day0.Summary.Deleted != 0 {
		t.Errorf("day 0 summary %+v", day0.Summary)
	}
	for _, id := range []string{"m-a", "m-b", "m-dep"} {
		im, _ := h.srv.Image("cn-hangzhou", id)
		if im.Status != "Deprecated" || im.Tags[policy.DeprecatedAtTag] != now.Format(time.RFC3339) {
			t.Fatalf("%s after day 0: %s %v", id, im.Status, im.Tags)
		}
	}
	if status("m-shared") != "Available" || status("m-keep") != "Available" || status("m-young") != "Available" {
		t.Fatal("day 0 deprecated an image it must not")
	}
	// Every ModifyImageAttribute change had its DryRun first.
	dry := map[string]bool{}
	for _, c := range h.srv.Calls() {
		if c.Action == "ModifyImageAttribute" {
			if c.DryRun {
				dry[c.ImageID] = true
			} else if !dry[c.ImageID] {
				t.Fatalf("%s: ModifyImageAttribute without a DryRun first", c.ImageID)
			}
		}
	}

	// Day 7: nothing is deleted; each says when it becomes eligible.
	day7 := h.run(t, runner.Apply, at(7))
	e := wantOutcome(t, day7, "m-a", report.Skipped, runner.CodeInGracePeriod)
	if eligible := now.AddDate(0, 0, 14).Format(time.RFC3339); !strings.Contains(e.Message, eligible) {
		t.Errorf("day 7 message %q lacks the date %s", e.Message, eligible)
	}
	if day7.Summary.Deleted != 0 || status("m-a") != "Deprecated" {
		t.Fatalf("day 7 deleted: %+v", day7.Summary)
	}

	// Day 15: what is still selected is deleted, DryRun first.
	h.srv.SetTag("cn-hangzhou", "m-b", "keep", "true") // protected since: kept
	day15 := h.run(t, runner.Apply, at(15))
	wantOutcome(t, day15, "m-a", report.Deleted, "")
	wantOutcome(t, day15, "m-dep", report.Deleted, "")
	wantOutcome(t, day15, "m-b", report.Skipped, "")
	if status("m-a") != "gone" || status("m-dep") != "gone" || status("m-b") != "Deprecated" {
		t.Fatalf("day 15: m-a %s, m-dep %s, m-b %s", status("m-a"), status("m-dep"), status("m-b"))
	}
	if status("m-young") != "Available" {
		t.Fatalf("m-young: %s", status("m-young"))
	}
}

func TestStagedRetentionFaults(t *testing.T) {
	t.Parallel()
	st := &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {}}}
	old := now.AddDate(0, -3, 0)
	for i := range 40 {
		st.Regions["cn-hangzhou"].Images = append(st.Regions["cn-hangzhou"].Images,
			ecstest.Image{ID: fmt.Sprintf("m-f%03d", i), Name: fmt.Sprintf("ci-f%03d", i), CreationTime: old})
	}
	f := ecstest.Faults{ThrottleRatio: 0.1, InternalErrorRatio: 0.1, ErrorAfterDeleteRatio: 0.1, DropAfterDeleteRatio: 0.05}
	h := newHarness(t, st, ecstest.Options{Seed: 7, Faults: map[string]ecstest.Faults{
		"ModifyImageAttribute": f, "TagResources": f,
	}}, stagedPolicy)
	rep := h.run(t, runner.Apply, at(0))
	for _, e := range rep.Images {
		im, _ := h.srv.Image("cn-hangzhou", e.ImageID)
		switch e.Outcome {
		case report.Deprecated:
			if im.Status != "Deprecated" || im.Tags[policy.DeprecatedAtTag] == "" {
				t.Errorf("%s reported deprecated, emulator: %s %v", e.ImageID, im.Status, im.Tags)
			}
		case report.Failed:
			// Retries used up: the report says why, and the emulator may hold either state.
		default:
			t.Errorf("%s: unexpected %s %s %s", e.ImageID, e.Outcome, e.Code, e.Message)
		}
	}
	if rep.Summary.Deprecated+rep.Summary.Failed != 40 || rep.Summary.Deprecated < 30 {
		t.Errorf("summary %+v", rep.Summary)
	}
}
