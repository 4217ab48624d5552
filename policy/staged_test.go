package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDeprecateFirst(t *testing.T) {
	p, err := Parse("p.yaml", []byte(`version: 1
deprecate_first: 2w
regions:
  - region: cn-hangzhou
    deprecate_first: 14d
    select: {name: "ci-*"}
  - region: cn-shanghai
    select: {name: "ci-*", status: [Available, Deprecated]}
  - region: cn-beijing
    deprecate_first: 90min
    image_ids: [m-abc]
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.DeprecateFirst != 2*Week || p.Regions[0].DeprecateFirst != 14*Day || p.Regions[1].DeprecateFirst != 2*Week ||
		p.Regions[2].DeprecateFirst != 90*60*1e9 {
		t.Fatalf("deprecate_first: policy %v, regions %v %v %v", p.DeprecateFirst,
			p.Regions[0].DeprecateFirst, p.Regions[1].DeprecateFirst, p.Regions[2].DeprecateFirst)
	}
	if d := p.Regions[0].Describe(time.Now()); !strings.Contains(d, "deprecated first, deleted 2w later") {
		t.Errorf("describe: %s", d)
	}
	none, err := Parse("p.yaml", []byte(valid))
	if err != nil || none.Regions[0].DeprecateFirst != 0 {
		t.Fatalf("no deprecate_first: %v %v", none, err)
	}
}

func TestDeprecateFirstErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"version: 1\ndeprecate_first: 14\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n",
			`p.yaml:2:18: field deprecate_first: want a string, found integer 14`},
		{"version: 1\nregions:\n  - region: cn-hangzhou\n    deprecate_first: 1m\n    image_ids: [m-a]\n",
			`p.yaml:4:22: field regions[0].deprecate_first: "1m" is ambiguous`},
		{"version: 1\nregions:\n  - region: cn-hangzhou\n    deprecate_first: [14d]\n    image_ids: [m-a]\n",
			`p.yaml:4:22: field regions[0].deprecate_first:`},
		{"version: 1\nregions:\n  - region: cn-hangzhou\n    deprecat_first: 14d\n    image_ids: [m-a]\n",
			`p.yaml:4:5: field regions[0].deprecat_first:`},
		{"version: 1\ndeprecate_first: 1d\nregions:\n  - region: cn-hangzhou\n    select: {name: ci-*, status: [Available]}\n",
			`p.yaml:5:34: field regions[0].select.status: leaves out Deprecated, but deprecate_first deprecates`},
	} {
		_, err := Parse("p.yaml", []byte(tc.src))
		var pe *Errors
		if !errors.As(err, &pe) || !strings.HasPrefix(pe.List[0].Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
}
