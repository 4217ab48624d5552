package runner_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// TestKeepLatestEndToEnd: keep_latest over the emulator, at the group boundaries: a tie on the
// boundary (the lower id ranks newer), a young member taking a place, a family smaller than N,
// protected members inside and outside the newest N. The images kept are reported skipped with the
// rule; apply deletes exactly the rest; and the next plan finds nothing more to delete.
func TestKeepLatestEndToEnd(t *testing.T) {
	at := func(id, family string, days int, tags map[string]string) ecstest.Image {
		return ecstest.Image{ID: id, Name: "ci-" + strings.TrimPrefix(id, "m-"), Family: family,
			CreationTime: now.Add(-time.Duration(days) * 24 * time.Hour), Tags: tags}
	}
	keep := map[string]string{"keep": "true"}
	st := &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {Images: []ecstest.Image{
		at("m-w1", "web", 100, nil), at("m-w2", "web", 60, nil), at("m-w3", "web", 60, nil), at("m-w4", "web", 50, nil),
		at("m-w5", "web", 5, nil),                            // young: the newest of web, never selected
		at("m-d1", "db", 40, nil), at("m-d2", "db", 45, nil), // fewer than N: both kept
		at("m-b1", "base", 35, keep), at("m-b2", "base", 36, nil), at("m-b3", "base", 37, nil), at("m-b4", "base", 38, nil),
		at("m-b5", "base", 90, keep), // protected outside the newest N: still protected
	}}}}
	pol := `version: 1
regions:
  - region: cn-hangzhou
    select:
      name: "ci-*"
      older_than: 30d
      keep_latest: 3
      group_by: family
protect:
  tags: {keep: "true"}
`
	h := newHarness(t, st, ecstest.Options{}, pol)
	plan := h.run(t, runner.Plan, nil)
	rule := "kept by regions[0].select.keep_latest: "
	want := map[string]string{
		"m-w1": "would_delete", "m-w3": "would_delete", "m-b4": "would_delete",
		"m-w2": `skipped ` + rule + `#3 newest of 5 in family "web" (keep_latest 3)`,
		"m-w4": `skipped ` + rule + `#2 newest of 5 in family "web" (keep_latest 3)`,
		"m-d1": `skipped ` + rule + `#1 newest of 2 in family "db" (keep_latest 3)`,
		"m-d2": `skipped ` + rule + `#2 newest of 2 in family "db" (keep_latest 3)`,
		"m-b1": "skipped protected by protect.tags.keep",
		"m-b2": `skipped ` + rule + `#2 newest of 5 in family "base" (keep_latest 3)`,
		"m-b3": `skipped ` + rule + `#3 newest of 5 in family "base" (keep_latest 3)`,
		"m-b5": "skipped protected by protect.tags.keep",
	}
	got := map[string]string{}
	for _, e := range plan.Images {
		got[e.ImageID] = strings.TrimSpace(string(e.Outcome) + " " + e.Message)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("report has %d images, want %d (m-w5 is young and never selected): %v", len(got), len(want), got)
	}

	apply := h.run(t, runner.Apply, nil)
	if apply.Summary.Deleted != 3 || apply.Summary.Skipped != 8 {
		t.Errorf("apply %+v", apply.Summary)
	}
	var left []string
	for _, img := range h.srv.Images("cn-hangzhou") {
		left = append(left, img.ID)
	}
	slices.Sort(left)
	if wantLeft := []string{"m-b1", "m-b2", "m-b3", "m-b5", "m-d1", "m-d2", "m-w2", "m-w4", "m-w5"}; !slices.Equal(left, wantLeft) {
		t.Errorf("left %v, want %v", left, wantLeft)
	}
	again := h.run(t, runner.Plan, nil)
	if again.Summary.WouldDelete != 0 {
		t.Errorf("retention is not stable: the next plan would delete %d", again.Summary.WouldDelete)
	}
	for _, e := range again.Images {
		if e.Outcome != report.Skipped {
			t.Errorf("%s: %s", e.ImageID, e.Outcome)
		}
	}
}
