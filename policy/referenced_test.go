package policy

import (
	"fmt"
	"testing"
)

func TestProtectReferenced(t *testing.T) {
	const regions = "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n%s  - region: cn-shanghai\n    image_ids: [m-b]\n"
	for _, tc := range []struct {
		name       string
		region     string // the cn-hangzhou entry's protect block
		global     string
		hz, sh     bool
		hzExplicit bool
	}{
		{"default", "", "", true, true, false},
		{"policy-wide off", "", "protect:\n  referenced: false\n", false, false, false},
		{"policy-wide on", "", "protect:\n  referenced: true\n", true, true, false},
		{"one region off", "    protect:\n      referenced: false\n", "", false, true, true},
		{"one region back on", "    protect:\n      referenced: true\n", "protect:\n  referenced: false\n", true, false, true},
		{"beside other rules", "    protect:\n      names: [\"golden-*\"]\n", "protect:\n  tags: {keep: \"true\"}\n  referenced: false\n", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := fmt.Sprintf(regions, tc.region) + tc.global
			p, err := Parse("p.yaml", []byte(src))
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			hz, sh := p.Region("cn-hangzhou"), p.Region("cn-shanghai")
			if hz.ProtectReferenced() != tc.hz || sh.ProtectReferenced() != tc.sh {
				t.Errorf("cn-hangzhou %v, cn-shanghai %v; want %v, %v", hz.ProtectReferenced(), sh.ProtectReferenced(), tc.hz, tc.sh)
			}
			if (hz.Protect.Referenced != nil) != tc.hzExplicit {
				t.Errorf("cn-hangzhou's own setting %v", hz.Protect.Referenced)
			}
		})
	}
	// A region built by hand keeps referenced images: the zero value is the safe one.
	if !(&Region{}).ProtectReferenced() {
		t.Error("a hand-built region does not protect referenced images")
	}
}

// referencedErrorTests are protect.referenced values other than the YAML booleans, with the
// exact message Parse gives.
var referencedErrorTests = []struct{ name, src, want string }{
	{"referenced_no", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\nprotect:\n  referenced: no\n",
		"p.yaml:6:15: field protect.referenced: want true or false, found string \"no\""},
	{"referenced_string", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\nprotect:\n  referenced: \"false\"\n",
		"p.yaml:6:15: field protect.referenced: want true or false, found string \"false\""},
	{"referenced_zero", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n    protect:\n      referenced: 0\n",
		"p.yaml:6:19: field regions[0].protect.referenced: want true or false, found integer 0"},
	{"referenced_null", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\nprotect:\n  referenced:\n",
		"p.yaml:6:14: field protect.referenced: has no value"},
	{"referenced_misspelt", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\nprotect:\n  refrenced: false\n",
		"p.yaml:6:3: field protect.refrenced: unknown field (want one of image_ids, tags, names, referenced)"},
}

// TestProtectReferencedOnlyLiteralBooleans: turning the check off takes the YAML boolean false in
// so many words, and a wrong value is named by file, line, column and field.
func TestProtectReferencedOnlyLiteralBooleans(t *testing.T) {
	for _, tc := range referencedErrorTests {
		_, err := Parse("p.yaml", []byte(tc.src))
		if err == nil || err.Error() != tc.want {
			t.Errorf("got\n%v\nwant\n%s", err, tc.want)
		}
	}
}
