package policy

import (
	"slices"
	"testing"
)

// TestKnownRegions: every known region is a well-formed id, listed once, and the ones every
// account can use are there.
func TestKnownRegions(t *testing.T) {
	for i, r := range KnownRegions {
		if !regionIDPattern.MatchString(r) {
			t.Errorf("%q is not a region id", r)
		}
		if slices.Index(KnownRegions, r) != i {
			t.Errorf("%s is listed twice", r)
		}
	}
	for _, r := range []string{"cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "cn-qingdao", "cn-zhangjiakou",
		"cn-huhehaote", "cn-wulanchabu", "cn-chengdu", "cn-heyuan", "cn-guangzhou", "cn-nanjing", "cn-fuzhou", "cn-wuhan-lr",
		"cn-hongkong", "ap-southeast-1", "ap-southeast-3", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
		"ap-northeast-1", "ap-northeast-2", "us-east-1", "us-west-1", "eu-central-1", "eu-west-1", "me-east-1",
		"me-central-1", "na-south-1"} {
		if !slices.Contains(KnownRegions, r) {
			t.Errorf("%s is missing", r)
		}
	}
}

// TestUnknownRegionWarns: a well-formed region id that is not known loads, with a warning at the
// id that names the nearest known one when it is close; a known one draws none.
func TestUnknownRegionWarns(t *testing.T) {
	src := "version: 1\nregions:\n  - region: cn-hangzou\n    image_ids: [m-a]\n  - region: xx-nowhere-9\n    image_ids: [m-b]\n" +
		"  - region: cn-shanghai\n    image_ids: [m-c]\n  - region: ap-southeast-9\n    image_ids: [m-d]\n"
	p, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"p.yaml:3:13: field regions[0].region: cn-hangzou is not an ECS region known on 2026-12-06; did you mean cn-hangzhou?",
		"p.yaml:5:13: field regions[1].region: xx-nowhere-9 is not an ECS region known on 2026-12-06 (a newer region is fine; a typo would fail every call)",
		"p.yaml:9:13: field regions[3].region: ap-southeast-9 is not an ECS region known on 2026-12-06; did you mean ap-southeast-1?",
	}
	var got []string
	for _, w := range p.Warnings {
		got = append(got, w.Error())
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings\n%q\nwant\n%q", got, want)
	}
	for _, name := range examplePolicies {
		p, err := Load("../examples/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Warnings) > 0 {
			t.Errorf("%s: %v", name, p.Warnings)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"cn-hangzou", "cn-hangzhou", 1}, {"cn-hongkong", "cn-hangzhou", 5}, {"kitten", "sitting", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
