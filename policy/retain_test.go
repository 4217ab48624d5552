package policy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
)

func TestNamePrefix(t *testing.T) {
	for name, want := range map[string]string{
		"ci-build-0042":                         "ci-build",
		"ci-build-sh-0001":                      "ci-build-sh",
		"web-2026-01-31":                        "web",
		"app-server-v3":                         "app-server",
		"centos7-base-20260101":                 "centos7-base",
		"ci-release-2026q1":                     "ci-release",
		"ci_nightly.20261128":                   "ci_nightly",
		"ci--0001":                              "ci",
		"ci-exported":                           "ci-exported",
		"aliyun_3_x64_20G_alibase_20251010.vhd": "aliyun_3_x64_20G_alibase_20251010.vhd",
		"20260101":                              "",
		"v1-2":                                  "",
		"":                                      "",
		"-":                                     "",
		"golden base 7":                         "golden base",
	} {
		if got := NamePrefix(name); got != want {
			t.Errorf("NamePrefix(%q) = %q, want %q", name, got, want)
		}
	}
}

// retainPolicy selects ci-* images older than 30d in cn-hangzhou, keeping the keep newest per
// group; it protects tag keep=true and names golden-*, and names m-explicit by id.
func retainPolicy(t *testing.T, keep int, groupBy string) *Policy {
	t.Helper()
	return mustParse(t, fmt.Sprintf(`version: 1
regions:
  - region: cn-hangzhou
    image_ids: [m-explicit]
    select:
      name: "ci-*"
      older_than: 30d
      keep_latest: %d
      group_by: %s
protect:
  tags: {keep: "true"}
  names: ["ci-golden-*"]
`, keep, groupBy))
}

// verdictLines renders verdicts as "id kind rule: reason", skipping the images the test does
// not look at.
func verdictLines(vs []Verdict) []string {
	var out []string
	for _, v := range vs {
		s := v.ImageID + " " + v.Kind.String()
		if v.Kind == Retained || v.Kind == Protected {
			s += " " + v.Rule
		}
		if v.Kind == Retained {
			s += ": " + v.Reason
		}
		out = append(out, s)
	}
	return out
}

func day(n int) time.Time { return now.Add(-time.Duration(n) * Day) }

func self(id, name, family string, created time.Time, tags map[string]string) ecs.Image {
	return ecs.Image{ID: id, Name: name, Family: family, CreationTime: created, Status: ecs.StatusAvailable,
		OwnerAlias: ecs.OwnerSelf, Tags: tags}
}

// TestKeepLatestByFamily covers the group boundaries: ties broken by id, a group smaller than N,
// young members that take a place without being selected, protected members inside and outside
// the newest N, images without a family as one group, and an explicit id that is a member.
func TestKeepLatestByFamily(t *testing.T) {
	keep := map[string]string{"keep": "true"}
	images := []ecs.Image{
		// family a: a young member, then a tie at day 40 broken by id, then older.
		self("m-a1", "ci-a-1", "a", day(5), nil),
		self("m-a3", "ci-a-3", "a", day(40), nil),
		self("m-a2", "ci-a-2", "a", day(40), nil),
		self("m-a4", "ci-a-4", "a", day(50), nil),
		self("m-a5", "ci-a-5", "a", day(60), nil),
		// family b: two members only, fewer than N: both kept.
		self("m-b1", "ci-b-1", "b", day(35), nil),
		self("m-b2", "ci-b-2", "b", day(90), nil),
		// family c: the newest is protected and takes a place; a protected old one stays protected.
		self("m-c1", "ci-golden-c1", "c", day(31), nil),
		self("m-c2", "ci-c-2", "c", day(32), nil),
		self("m-c3", "ci-c-3", "c", day(33), nil),
		self("m-c4", "ci-c-4", "c", day(34), keep),
		self("m-c5", "ci-c-5", "c", day(35), nil),
		// no family: one group of its own.
		self("m-n1", "ci-n-1", "", day(45), nil),
		self("m-n2", "ci-n-2", "", day(46), nil),
		self("m-n3", "ci-n-3", "", day(47), nil),
		self("m-n4", "ci-n-4", "", day(48), nil),
		// not members: another name, another owner, a Creating image, a second listing.
		self("m-w1", "web-1", "a", day(1), nil),
		{ID: "m-o1", Name: "ci-o-1", Family: "a", CreationTime: day(2), Status: ecs.StatusAvailable, OwnerAlias: ecs.OwnerOthers},
		{ID: "m-k1", Name: "ci-k-1", Family: "a", CreationTime: day(3), Status: ecs.StatusCreating, OwnerAlias: ecs.OwnerSelf},
		self("m-a1", "ci-a-1", "a", day(5), nil),
		// an explicit id that is a member of family e and its newest: retention wins over it.
		self("m-explicit", "ci-e-1", "e", day(100), nil),
		self("m-e2", "ci-e-2", "e", day(200), nil),
	}
	got := verdictLines(retainPolicy(t, 3, "family").Evaluate("cn-hangzhou", images, now))
	want := []string{
		"m-a1 not_selected", // young, yet the newest of family a
		`m-a3 retained regions[0].select.keep_latest: #3 newest of 5 in family "a" (keep_latest 3)`,
		`m-a2 retained regions[0].select.keep_latest: #2 newest of 5 in family "a" (keep_latest 3)`,
		"m-a4 selected",
		"m-a5 selected",
		`m-b1 retained regions[0].select.keep_latest: #1 newest of 2 in family "b" (keep_latest 3)`,
		`m-b2 retained regions[0].select.keep_latest: #2 newest of 2 in family "b" (keep_latest 3)`,
		`m-c1 protected protect.names[0] "ci-golden-*"`,
		`m-c2 retained regions[0].select.keep_latest: #2 newest of 5 in family "c" (keep_latest 3)`,
		`m-c3 retained regions[0].select.keep_latest: #3 newest of 5 in family "c" (keep_latest 3)`,
		"m-c4 protected protect.tags.keep",
		"m-c5 selected",
		`m-n1 retained regions[0].select.keep_latest: #1 newest of 4 among the images without a family (keep_latest 3)`,
		`m-n2 retained regions[0].select.keep_latest: #2 newest of 4 among the images without a family (keep_latest 3)`,
		`m-n3 retained regions[0].select.keep_latest: #3 newest of 4 among the images without a family (keep_latest 3)`,
		"m-n4 selected",
		"m-w1 not_selected",
		"m-o1 not_owned",
		"m-k1 not_selected",
		"m-a1 not_selected",
		`m-explicit retained regions[0].select.keep_latest: #1 newest of 2 in family "e" (keep_latest 3)`,
		`m-e2 retained regions[0].select.keep_latest: #2 newest of 2 in family "e" (keep_latest 3)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// N = 1: only the newest of each group stays; the tie at day 40 now decides nothing.
	got = verdictLines(retainPolicy(t, 1, "family").Evaluate("cn-hangzhou", images[:7], now))
	want = []string{"m-a1 not_selected", "m-a3 selected", "m-a2 selected", "m-a4 selected", "m-a5 selected",
		`m-b1 retained regions[0].select.keep_latest: #1 newest of 2 in family "b" (keep_latest 1)`, "m-b2 selected"}
	if !slices.Equal(got, want) {
		t.Errorf("keep_latest 1: got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// N = 2 puts the tie on the boundary: of two images created at the same second, the lower
	// id ranks as the newer and is the one kept.
	got = verdictLines(retainPolicy(t, 2, "family").Evaluate("cn-hangzhou", images[:5], now))
	want = []string{"m-a1 not_selected",
		"m-a3 selected",
		`m-a2 retained regions[0].select.keep_latest: #2 newest of 5 in family "a" (keep_latest 2)`,
		"m-a4 selected", "m-a5 selected"}
	if !slices.Equal(got, want) {
		t.Errorf("tie on the boundary: got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The order of the listing does not matter.
	rev := slices.Clone(images[:5])
	slices.Reverse(rev)
	got = verdictLines(retainPolicy(t, 2, "family").Evaluate("cn-hangzhou", rev, now))
	slices.Reverse(got)
	if !slices.Equal(got, want) {
		t.Errorf("reversed listing: got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// N larger than every group keeps every selected image.
	for _, v := range retainPolicy(t, 100, "family").Evaluate("cn-hangzhou", images, now) {
		if v.Kind == Selected {
			t.Errorf("keep_latest 100: %s still selected", v.ImageID)
		}
	}
}

func TestKeepLatestByNamePrefix(t *testing.T) {
	images := []ecs.Image{
		self("m-1", "ci-build-0001", "x", day(100), nil),
		self("m-2", "ci-build-0002", "y", day(90), nil),
		self("m-3", "ci-build-0003", "", day(80), nil),
		self("m-4", "ci-test-0001", "x", day(70), nil),
		self("m-5", "ci-test-0002", "x", day(60), nil),
		self("m-6", "ci-20260101", "", day(50), nil), // prefix "ci"
		self("m-7", "ci-20260102", "", day(40), nil),
	}
	got := verdictLines(retainPolicy(t, 1, "name_prefix").Evaluate("cn-hangzhou", images, now))
	want := []string{"m-1 selected", "m-2 selected",
		`m-3 retained regions[0].select.keep_latest: #1 newest of 3 with name prefix "ci-build" (keep_latest 1)`,
		"m-4 selected",
		`m-5 retained regions[0].select.keep_latest: #1 newest of 2 with name prefix "ci-test" (keep_latest 1)`,
		"m-6 selected",
		`m-7 retained regions[0].select.keep_latest: #1 newest of 2 with name prefix "ci" (keep_latest 1)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestKeepLatestUnknownCreationTime: an image that cannot be ranked is never deleted by a policy
// that ranks.
func TestKeepLatestUnknownCreationTime(t *testing.T) {
	p := mustParse(t, "version: 1\nregions:\n  - region: cn-hangzhou\n    select: {name: \"ci-*\", keep_latest: 1, group_by: family}\n")
	vs := p.Evaluate("cn-hangzhou", []ecs.Image{self("m-1", "ci-1", "a", time.Time{}, nil), self("m-2", "ci-2", "a", day(2), nil), self("m-3", "ci-3", "a", day(3), nil)}, now)
	got := verdictLines(vs)
	want := []string{"m-1 retained regions[0].select.keep_latest: creation time unknown: it cannot be ranked",
		`m-2 retained regions[0].select.keep_latest: #1 newest of 2 in family "a" (keep_latest 1)`, "m-3 selected"}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestKeepLatestListsYoungImages: with keep_latest the listing is not narrowed by age, so that the
// young members of a group are ranked too.
func TestKeepLatestListsYoungImages(t *testing.T) {
	p := retainPolicy(t, 2, "family")
	if f := p.Regions[0].ListFilter(now); !f.CreatedBefore.IsZero() {
		t.Errorf("keep_latest: the listing is narrowed to images created before %s", f.CreatedBefore)
	}
}

func TestParseRetentionAndSnapshots(t *testing.T) {
	p := mustParse(t, `version: 1
regions:
  - region: cn-hangzhou
    select: {name: "ci-*", keep_latest: 3, group_by: name_prefix}
    delete_snapshots: true
  - region: cn-shanghai
    select: {name: "ci-*"}
    delete_snapshots: false
  - region: cn-beijing
    image_ids: [m-a]
`)
	if r := p.Regions[0]; r.Select.KeepLatest != 3 || r.Select.GroupBy != GroupByNamePrefix || !r.DeleteSnapshots {
		t.Errorf("got %+v %+v", r, r.Select)
	}
	if r := p.Regions[1]; r.Select.KeepLatest != 0 || r.Select.GroupBy != "" || r.DeleteSnapshots {
		t.Errorf("got %+v %+v", r, r.Select)
	}
	if p.Regions[2].DeleteSnapshots {
		t.Error("delete_snapshots is on by default")
	}
}

// retentionErrorTests are bad keep_latest, group_by and delete_snapshots settings, each under
// retentionHead, with the exact message Parse gives.
const retentionHead = "version: 1\nregions:\n  - region: cn-hangzhou\n"

var retentionErrorTests = []struct{ name, src, want string }{
	{"keep_latest_zero", "    select: {name: \"ci-*\", keep_latest: 0, group_by: family}\n",
		"p.yaml:4:41: field regions[0].select.keep_latest: 0 is ambiguous (keep none, or no retention?): use at least 1, or leave the key out for no retention"},
	{"keep_latest_negative", "    select: {name: \"ci-*\", keep_latest: -2, group_by: family}\n",
		"p.yaml:4:41: field regions[0].select.keep_latest: -2 is negative: use at least 1, or leave the key out for no retention"},
	{"keep_latest_without_group_by", "    select: {name: \"ci-*\", keep_latest: 2}\n",
		"p.yaml:4:41: field regions[0].select.keep_latest: needs group_by: family or name_prefix"},
	{"group_by_without_keep_latest", "    select: {name: \"ci-*\", group_by: family}\n",
		"p.yaml:4:38: field regions[0].select.group_by: has no effect without keep_latest: give keep_latest: N, or leave group_by out"},
	{"group_by_unknown", "    select: {name: \"ci-*\", keep_latest: 2, group_by: tags}\n",
		"p.yaml:4:54: field regions[0].select.group_by: \"tags\" is not a grouping (want family or name_prefix)"},
	{"keep_latest_string", "    select: {name: \"ci-*\", keep_latest: two, group_by: family}\n",
		"p.yaml:4:41: field regions[0].select.keep_latest: want an integer, found string \"two\""},
	{"delete_snapshots_yes", "    select: {name: \"ci-*\"}\n    delete_snapshots: yes\n",
		"p.yaml:5:23: field regions[0].delete_snapshots: want true or false, found string \"yes\""},
	{"delete_snapshot_misspelt", "    select: {name: \"ci-*\"}\n    delete_snapshot: true\n",
		"p.yaml:5:5: field regions[0].delete_snapshot: unknown field (want one of region, image_ids, select, force, delete_snapshots, deprecate_first, protect)"},
	// keep_latest does not make a selector narrow: it would still select most of the account.
	{"keep_latest_does_not_narrow", "    select: {keep_latest: 2, group_by: family}\n",
		"p.yaml:4:13: field regions[0].select: selects every image: give name, tags or older_than"},
}

func TestRetentionErrors(t *testing.T) {
	for _, tt := range retentionErrorTests {
		_, err := Parse("p.yaml", []byte(retentionHead+tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s\ngot  %v\nwant %s", tt.name, err, tt.want)
		}
	}
}
