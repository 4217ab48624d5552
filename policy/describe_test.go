package policy

import (
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
)

// TestDescribe pins the words validate prints for each region, the age bound as an absolute time.
func TestDescribe(t *testing.T) {
	p := mustParse(t, `version: 1
regions:
  - region: cn-hangzhou
    image_ids: [m-bp67acfmxazb4p0001, m-bp67acfmxazb4p0002]
    select:
      name: "ci-*"
      tags: {team: ci, "cost center": ""}
      older_than: 30d
      keep_latest: 3
      group_by: family
    protect:
      image_ids: [m-pinned]
      tags: {pin: "yes"}
  - region: cn-shanghai
    select:
      name: "???*"
      older_than: 90min
      status: [Available, Deprecated]
      keep_latest: 1
      group_by: name_prefix
    protect: {referenced: false}
  - region: cn-beijing
    select: {tags: {team: ci}, status: [CreateFailed]}
  - region: ap-southeast-1
    image_ids: [m-t4n1a2b3c4d5e6f70001]
    protect: {referenced: false}
protect:
  image_ids: [m-keep]
  tags: {keep: "true"}
  names: ["golden-*", "base *"]
`)
	at := time.Date(2026, 12, 2, 0, 0, 30, 0, time.FixedZone("CST", 8*3600))
	want := []string{
		`cn-hangzhou: own custom images named "ci-*", tagged "cost center"="" and team=ci, created before 2026-11-01 16:00 UTC (older than 30d), ` +
			`status Available, UnAvailable, CreateFailed or Deprecated; keeping the 3 newest of each family; plus 2 explicit ids; ` +
			`protected: ids m-pinned, m-keep; tags pin=yes, keep=true; names "golden-*", "base *"; referenced images`,
		`cn-shanghai: own custom images named "???*" (any name of at least 3 characters), created before 2026-12-01 14:30 UTC (older than 90min), ` +
			`status Available or Deprecated; keeping the newest of each name prefix; ` +
			`protected: ids m-keep; tags keep=true; names "golden-*", "base *"; referenced images not protected`,
		`cn-beijing: own custom images tagged team=ci, status CreateFailed; ` +
			`protected: ids m-keep; tags keep=true; names "golden-*", "base *"; referenced images`,
		`ap-southeast-1: only 1 explicit id; protected: ids m-keep; tags keep=true; names "golden-*", "base *"; referenced images not protected`,
	}
	for i, r := range p.Regions {
		if got := r.Describe(at); got != want[i] {
			t.Errorf("region %s:\ngot  %s\nwant %s", r.ID, got, want[i])
		}
	}

	// Without protect rules, and with the policy-wide referenced: false.
	p = mustParse(t, "version: 1\nregions:\n  - region: cn-hangzhou\n    select: {name: \"*\", older_than: 1w}\nprotect: {referenced: false}\n")
	if got, want := p.Regions[0].Describe(at), `cn-hangzhou: own custom images named "*" (any name), created before 2026-11-24 16:00 UTC (older than 1w), `+
		`status Available, UnAvailable, CreateFailed or Deprecated; protected: nothing; referenced images not protected`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestDescribeCutOff checks that the printed cut-off is the bound Evaluate applies: an image
// created a minute before it is selected, one created at it is not.
func TestDescribeCutOff(t *testing.T) {
	p := mustParse(t, "version: 1\nregions:\n  - region: cn-hangzhou\n    select: {older_than: 36h}\n")
	at := time.Date(2026, 12, 2, 9, 15, 0, 0, time.UTC)
	r := p.Regions[0]
	const want = `cn-hangzhou: own custom images created before 2026-11-30 21:15 UTC (older than 36h), status Available, UnAvailable, CreateFailed or Deprecated; protected: referenced images`
	if got := r.Describe(at); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	cut := time.Date(2026, 11, 30, 21, 15, 0, 0, time.UTC)
	if why := r.Select.mismatch(imageAt(cut.Add(-time.Minute)), at); why != "" {
		t.Errorf("an image a minute before the cut-off is not selected: %s", why)
	}
	if why := r.Select.mismatch(imageAt(cut), at); why != "younger than 36h" {
		t.Errorf("an image at the cut-off: %q, want younger than 36h", why)
	}
}

// imageAt is an Available image created at t.
func imageAt(t time.Time) ecs.Image {
	return ecs.Image{ID: "m-a", Name: "x", Status: ecs.StatusAvailable, OwnerAlias: ecs.OwnerSelf, CreationTime: t}
}
