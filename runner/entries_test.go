package runner_test

import (
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// TestEntriesSayWhy: each entry carries the image's creation time and family, what selected it
// (an explicit id wins over select), and for a kept image the rule that kept it.
func TestEntriesSayWhy(t *testing.T) {
	old := now.Add(-90 * 24 * time.Hour)
	st := &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {Images: []ecstest.Image{
		{ID: "m-explicit", Name: "ci-a", Family: "ci", CreationTime: old},
		{ID: "m-selected", Name: "ci-b", Family: "ci", CreationTime: old.Add(-time.Hour)},
		{ID: "m-golden", Name: "golden-1", Family: "base", CreationTime: old},
		{ID: "m-newest", Name: "ci-c", Family: "ci", CreationTime: old.Add(time.Hour)},
		{ID: "m-tagged", Name: "ci-d", Family: "other", CreationTime: old, Tags: map[string]string{"keep": "true"}},
	}}}}
	h := newHarness(t, st, ecstest.Options{}, `version: 1
regions:
  - region: cn-hangzhou
    image_ids: [m-explicit, m-golden]
    select: {name: "ci-*", older_than: 30d, keep_latest: 1, group_by: family}
protect:
  names: ["golden-*"]
  tags: {keep: "true"}
`)
	rep := h.run(t, runner.Plan, nil)
	got := map[string]report.Entry{}
	for _, e := range rep.Images {
		got[e.ImageID] = e
	}
	for id, want := range map[string]struct {
		outcome                     report.Outcome
		family, selected, protected string
	}{
		"m-explicit": {report.WouldDelete, "ci", "image_ids", ""},
		"m-selected": {report.WouldDelete, "ci", "select", ""},
		"m-golden":   {report.Skipped, "base", "", `protect.names[0] "golden-*"`},
		"m-newest":   {report.Skipped, "ci", "", "regions[0].select.keep_latest: #1 newest of 3 in family \"ci\" (keep_latest 1)"},
		"m-tagged":   {report.Skipped, "other", "", "protect.tags.keep"},
	} {
		e, ok := got[id]
		if !ok {
			t.Errorf("%s: no entry", id)
			continue
		}
		if e.Outcome != want.outcome || e.Family != want.family || e.SelectedBy != want.selected || e.ProtectedBy != want.protected {
			t.Errorf("%s: outcome %s family %q selected_by %q protected_by %q; want %s %q %q %q", id,
				e.Outcome, e.Family, e.SelectedBy, e.ProtectedBy, want.outcome, want.family, want.selected, want.protected)
		}
		if e.CreatedAt == nil || e.CreatedAt.IsZero() {
			t.Errorf("%s: no created_at", id)
		}
	}
	if e := got["m-selected"]; e.CreatedAt != nil && !e.CreatedAt.Equal(old.Add(-time.Hour)) {
		t.Errorf("m-selected created_at %v, want %v", e.CreatedAt, old.Add(-time.Hour))
	}
}
