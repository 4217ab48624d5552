package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEvaluate(t *testing.T) {
	p := mustParse(t, `version: 1
regions:
  - region: cn-hangzhou
    image_ids: [m-explicit, m-system, m-creating, m-explicitkeep]
    select:
      name: "ci-*"
      tags: {team: ci}
      older_than: 30d
    protect:
      tags: {pin: "yes"}
protect:
  image_ids: [m-explicitkeep]
  names: ["golden-*"]
`)
	old := now.Add(-31 * Day)
	ci := map[string]string{"team": "ci"}
	img := func(id, name, status, owner string, created time.Time, tags map[string]string) ecs.Image {
		return ecs.Image{ID: id, Name: name, Status: status, OwnerAlias: owner, CreationTime: created, Tags: tags}
	}
	images := []ecs.Image{
		img("m-1", "ci-1", ecs.StatusAvailable, ecs.OwnerSelf, old, ci),
		img("m-2", "ci-2", ecs.StatusAvailable, ecs.OwnerSelf, now.Add(-29*Day), ci),
		img("m-3", "web-1", ecs.StatusAvailable, ecs.OwnerSelf, old, ci),
		img("m-4", "ci-4", ecs.StatusAvailable, ecs.OwnerSelf, old, map[string]string{"team": "web"}),
		img("m-5", "ci-5", ecs.StatusWaiting, ecs.OwnerSelf, old, ci),
		img("m-6", "ci-6", ecs.StatusAvailable, ecs.OwnerOthers, old, ci),
		img("m-7", "ci-7", ecs.StatusAvailable, ecs.OwnerSelf, old, map[string]string{"team": "ci", "pin": "yes"}),
		img("m-explicit", "anything", ecs.StatusDeprecated, ecs.OwnerSelf, now, nil),
		img("m-system", "centos", ecs.StatusAvailable, ecs.OwnerSystem, old, nil),
		img("m-creating", "x", ecs.StatusCreating, ecs.OwnerSelf, old, nil),
		img("m-explicitkeep", "x", ecs.StatusAvailable, ecs.OwnerSelf, old, nil),
		img("m-1", "ci-1", ecs.StatusAvailable, ecs.OwnerSelf, old, ci),
		img("m-8", "ci-8", ecs.StatusAvailable, ecs.OwnerSelf, time.Time{}, ci),
		img("m-9", "golden-ci-9", ecs.StatusAvailable, ecs.OwnerSelf, old, ci),
		img("m-10", "ci-10", "Frozen", ecs.OwnerSelf, old, ci),
	}
	want := []string{
		`m-1 selected regions[0].select`,
		`m-2 not_selected younger than 30d`,
		`m-3 not_selected name "web-1" does not match "ci-*"`,
		`m-4 not_selected tag team is not "ci"`,
		`m-5 not_selected status "Waiting" is never selected`,
		`m-6 not_owned owner is "others", not "self"`,
		`m-7 protected regions[0].protect.tags.pin`,
		`m-explicit selected regions[0].image_ids[0] explicit`,
		`m-system not_owned owner is "system", not "self" explicit`,
		`m-creating not_selected status "Creating" is never selected explicit`,
		`m-explicitkeep protected protect.image_ids[0] explicit`,
		`m-1 not_selected listed twice; decided at its first listing`,
		`m-8 not_selected creation time unknown`,
		`m-9 not_selected name "golden-ci-9" does not match "ci-*"`,
		`m-10 not_selected status "Frozen" is never selected`,
	}
	got := p.Evaluate("cn-hangzhou", images, now)
	if len(got) != len(want) {
		t.Fatalf("got %d verdicts for %d images", len(got), len(images))
	}
	for i, v := range got {
		s := strings.TrimSpace(fmt.Sprintf("%s %s %s%s", v.ImageID, v.Kind, v.Rule, v.Reason))
		if v.Explicit {
			s += " explicit"
		}
		if s != want[i] {
			t.Errorf("image %d: got %s\n want %s", i, s, want[i])
		}
	}

	for _, v := range p.Evaluate("cn-beijing", images, now) {
		if v.Kind != NotSelected {
			t.Errorf("region not in the policy: %+v", v)
		}
	}
	if got := p.Regions[0].MissingExplicit(images[:8]); !slices.Equal(got, []string{"m-system", "m-creating", "m-explicitkeep"}) {
		t.Errorf("MissingExplicit = %v", got)
	}
}

func TestHandBuiltRegionSelectsNothing(t *testing.T) {
	r := &Region{ID: "cn-hangzhou", ImageIDs: []string{"m-1"}}
	v := r.Evaluate([]ecs.Image{{ID: "m-1", Status: ecs.StatusAvailable, OwnerAlias: ecs.OwnerSelf}}, now)
	if len(v) != 1 || v[0].Kind != NotSelected {
		t.Errorf("got %+v", v)
	}
}

func TestProtectNameRule(t *testing.T) {
	p := mustParse(t, "version: 1\nregions:\n  - region: cn-hangzhou\n    select: {name: \"*-ci\"}\nprotect:\n  names: [\"golden-*\"]\n")
	v := p.Evaluate("cn-hangzhou", []ecs.Image{{ID: "m-1", Name: "golden-ci", Status: ecs.StatusAvailable, OwnerAlias: ecs.OwnerSelf}}, now)
	if v[0].Kind != Protected || v[0].Rule != `protect.names[0] "golden-*"` {
		t.Errorf("got %+v", v[0])
	}
}

func TestListFilter(t *testing.T) {
	p := mustParse(t, `version: 1
regions:
  - region: cn-hangzhou
    select: {tags: {team: ci}, older_than: 1d, status: [Available]}
  - region: cn-shanghai
    image_ids: [m-a]
`)
	at := time.Date(2026, 11, 28, 12, 30, 45, 0, time.UTC)
	f := p.Regions[0].ListFilter(at)
	if f.OwnerAlias != ecs.OwnerSelf || !slices.Equal(f.Statuses, []string{"Available"}) || f.Tags["team"] != "ci" ||
		!f.CreatedBefore.Equal(time.Date(2026, 11, 27, 12, 31, 0, 0, time.UTC)) || f.Name != "" {
		t.Errorf("got %+v", f)
	}
	f = p.Regions[1].ListFilter(at)
	if f.OwnerAlias != ecs.OwnerSelf || !slices.Equal(f.Statuses, SelectableStatuses) || !f.CreatedBefore.IsZero() {
		t.Errorf("got %+v", f)
	}
	if f := LookupFilter("m-a"); f.ImageID != "m-a" || f.OwnerAlias != "" || len(f.Statuses) != len(ecs.AllStatuses) {
		t.Errorf("got %+v", f)
	}
}

func TestCheckLimits(t *testing.T) {
	p := mustParse(t, "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\nlimits:\n  max_deletions: 10\n  max_deletion_percent: 50\n")
	tests := []struct {
		counts []Count
		want   string
	}{
		{[]Count{{"cn-hangzhou", 5, 10}, {"cn-shanghai", 5, 10}}, ""},
		{[]Count{{"cn-hangzhou", 6, 12}, {"cn-shanghai", 5, 10}}, "limits.max_deletions: 11 images would be deleted, more than 10"},
		{[]Count{{"cn-hangzhou", 6, 11}}, "limits.max_deletion_percent: cn-hangzhou: 6 of 11 own images would be deleted, more than 50%"},
		{[]Count{{"cn-hangzhou", 1, 0}}, "limits.max_deletion_percent: cn-hangzhou: 1 of 0 own images would be deleted, more than 50%"},
		{[]Count{{"cn-hangzhou", 0, 0}}, ""},
	}
	for _, tt := range tests {
		err := p.CheckLimits(tt.counts)
		got := ""
		if err != nil {
			got = err.Error()
			var le *LimitError
			if !errors.As(err, &le) {
				t.Errorf("%T is not a *LimitError", err)
			}
		}
		if got != tt.want {
			t.Errorf("CheckLimits(%v) = %q, want %q", tt.counts, got, tt.want)
		}
	}
}
