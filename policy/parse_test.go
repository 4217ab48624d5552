package policy

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// valid is a small policy that the bad inputs below break one way at a time.
const valid = `version: 1
regions:
  - region: cn-hangzhou
    select:
      name: "ci-*"
      older_than: 30d
`

func TestParseValid(t *testing.T) {
	p, err := Parse("p.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 || p.Concurrency != DefaultConcurrency || len(p.Regions) != 1 {
		t.Fatalf("got %+v", p)
	}
	r := p.Regions[0]
	if r.ID != "cn-hangzhou" || r.Force || r.Select == nil || r.Select.Name != "ci-*" || r.Select.OlderThan != 30*Day {
		t.Fatalf("got region %+v, select %+v", r, r.Select)
	}
	if strings.Join(r.Select.Statuses, ",") != "Available,UnAvailable,CreateFailed,Deprecated" {
		t.Fatalf("default statuses %v", r.Select.Statuses)
	}
}

// fullPolicy sets most keys of the file, for the parse test and the schema test.
const fullPolicy = `version: 1
concurrency: 16
regions:
  - region: cn-hangzhou
    image_ids: [m-bp67acfmxazb4p0001]
    select:
      name: "ci-*"
      tags: {team: ci}
      older_than: 2w
      status: [Available, Deprecated]
    force: true
    protect:
      image_ids: [m-keep]
  - region: ap-southeast-1
    image_ids: [m-a, m-b]
protect:
  image_ids: [m-keep2]
  tags: {keep: "true"}
  names: ["golden-*"]
limits:
  max_deletions: 100
  max_deletion_percent: 50
`

func TestParseFull(t *testing.T) {
	src := fullPolicy
	p, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Regions[0]
	if !r.Force || p.Regions[1].Force || p.Concurrency != 16 || r.Select.OlderThan != 14*Day ||
		r.Select.Tags["team"] != "ci" || len(r.Select.Statuses) != 2 || r.Protect.ImageIDs[0] != "m-keep" ||
		p.Protect.Names[0] != "golden-*" || p.Protect.Tags["keep"] != "true" ||
		p.Limits.MaxDeletions != 100 || p.Limits.MaxDeletionPercent != 50 || p.Region("ap-southeast-1") != p.Regions[1] {
		t.Fatalf("got %+v", p)
	}
}

// parseErrorTests are bad inputs, one kind of problem each (or several, to show that all are
// reported), with the exact message Parse gives.
var parseErrorTests = []struct {
	name, src, want string
}{
	{"empty", "",
		"p.yaml: policy is empty"},
	{"comment_only", "# only a comment\n",
		"p.yaml: policy is empty"},
	{"syntax", "version: 1\nregions: [\n",
		"p.yaml:2: did not find expected node content"},
	{"two_documents", "version: 1\n---\nversion: 1\n",
		"p.yaml:2:1: policy must be one YAML document, found a second"},
	{"not_a_mapping", "- a\n- b\n",
		"p.yaml:1:1: want a mapping, found a list"},
	{"version_2", "version: 2\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n",
		"p.yaml:1:10: field version: unsupported version 2 (want 1)"},
	{"version_missing", "regions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n",
		"p.yaml:1:1: field version: required: write version: 1"},
	{"regions_empty", "version: 1\nregions: []\n",
		"p.yaml:2:10: field regions: is empty: list at least one region"},
	{"regions_missing", "version: 1\n",
		"p.yaml:1:1: field regions: required: list at least one region"},
	{"duplicate_key", "version: 1\nversion: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n",
		"p.yaml:2:1: field version: duplicate key, first at 1:1"},
	{"all_reported", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n    force: on\n  - region: cn-shanghai\n    select: {name: ci-*, older_than: 30x}\nlimits: {max_deletions: 0}\n",
		"p.yaml:5:12: field regions[0].force: want true or false, found string \"on\"\np.yaml:7:38: field regions[1].select.older_than: \"30x\" is not a duration (units: min, h, d, w)\np.yaml:8:25: field limits.max_deletions: 0 is ambiguous (no deletions, or no limit?): use at least 1, or leave the key out for no limit"},
	{"unknown_field", "version: 1\nregions:\n  - region: cn-hangzhou\n    selct:\n      name: ci-*\n",
		"p.yaml:4:5: field regions[0].selct: unknown field (want one of region, image_ids, select, force, delete_snapshots, deprecate_first, protect)"},
	{"bad_duration", "version: 1\nregions:\n  - region: cn-hangzhou\n    select:\n      name: ci-*\n      older_than: 30x\n",
		"p.yaml:6:19: field regions[0].select.older_than: \"30x\" is not a duration (units: min, h, d, w)"},
	{"zero_duration", "version: 1\nregions:\n  - region: cn-hangzhou\n    select:\n      older_than: 0d\n",
		"p.yaml:5:19: field regions[0].select.older_than: \"0d\" is not a positive duration"},
	{"status_only", "version: 1\nregions:\n  - region: cn-hangzhou\n    select:\n      status: [Available]\n",
		"p.yaml:5:7: field regions[0].select: selects every image: give name, tags or older_than"},
	{"match_all_name", "version: 1\nregions:\n  - region: cn-hangzhou\n    select:\n      name: \"*\"\n",
		"p.yaml:5:13: field regions[0].select.name: \"*\" matches every image name, so the selector would select every image: give a narrower name, tags or older_than"},
	{"match_all_name_question", "version: 1\nregions:\n  - region: cn-hangzhou\n    select: {name: \"?*\", status: [Available]}\n",
		"p.yaml:4:20: field regions[0].select.name: \"?*\" matches every image name, so the selector would select every image: give a narrower name, tags or older_than"},
	{"months_as_m", "version: 1\nregions:\n  - region: cn-hangzhou\n    select:\n      name: ci-*\n      older_than: 6m\n",
		"p.yaml:6:19: field regions[0].select.older_than: \"6m\" is ambiguous: write 6min for minutes, or 180d for about 6 months (units: min, h, d, w)"},
	{"bad_glob", "version: 1\nregions:\n  - region: cn-hangzhou\n    select:\n      name: \"ci-[\"\n",
		"p.yaml:5:13: field regions[0].select.name: \"ci-[\" is not a valid glob (syntax error in pattern)"},
	{"bad_statuses", "version: 1\nregions:\n  - region: cn-hangzhou\n    select:\n      name: ci-*\n      status: [Creating, Avail, Available, Available]\n",
		"p.yaml:6:16: field regions[0].select.status[0]: Creating images are never selectable: they are still being made\np.yaml:6:26: field regions[0].select.status[1]: \"Avail\" is not an image status (want Available, UnAvailable, CreateFailed, Deprecated)\np.yaml:6:44: field regions[0].select.status[3]: Available is listed twice (first at 6:33)"},
	{"force_yes", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n    force: yes\n",
		"p.yaml:5:12: field regions[0].force: want true or false, found string \"yes\""},
	{"force_string", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n    force: \"true\"\n",
		"p.yaml:5:12: field regions[0].force: want true or false, found string \"true\""},
	{"region_ids_and_image_ids", "version: 1\nregions:\n  - region: Hangzhou\n    image_ids: [m-a]\n  - region: cn-hangzhou\n    image_ids: [m-a]\n  - region: cn-hangzhou\n    image_ids: [i-abc, m-b, m-b]\n",
		"p.yaml:3:13: field regions[0].region: \"Hangzhou\" is not a region id (e.g. cn-hangzhou, ap-southeast-1)\np.yaml:7:13: field regions[2].region: region cn-hangzhou is listed twice (first at 5:13); give each region one entry\np.yaml:8:17: field regions[2].image_ids[0]: \"i-abc\" is not an image id (e.g. m-bp67acfmxazb4p0001)\np.yaml:8:29: field regions[2].image_ids[2]: m-b is listed twice (first at 8:24)"},
	{"region_selects_nothing", "version: 1\nregions:\n  - region: cn-hangzhou\n",
		"p.yaml:3:5: field regions[0]: selects nothing: give image_ids, select or both"},
	{"region_missing", "version: 1\nregions:\n  - image_ids: [m-a]\n",
		"p.yaml:3:5: field regions[0].region: required: name the region, e.g. cn-hangzhou"},
	{"ranges", "version: 1\nconcurrency: 0\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\nlimits:\n  max_deletions: 0\n  max_deletion_percent: 101\n",
		"p.yaml:2:14: field concurrency: 0 is out of range 1..256\np.yaml:7:18: field limits.max_deletions: 0 is ambiguous (no deletions, or no limit?): use at least 1, or leave the key out for no limit\np.yaml:8:25: field limits.max_deletion_percent: 101 is out of range 1..100"},
	{"float_int", "version: 1\nconcurrency: 8.5\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\nlimits:\n  max_deletions: -3\n",
		"p.yaml:2:14: field concurrency: want an integer, found number 8.5\np.yaml:7:18: field limits.max_deletions: -3 is negative: use at least 1, or leave the key out for no limit"},
	{"list_as_string", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: m-a\n",
		"p.yaml:4:16: field regions[0].image_ids: want a list, found string \"m-a\""},
	{"protect_problems", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\nprotect:\n  tags: {keep: true, \"\": x}\n  names: [\"golden-*\", \"[\", \"golden-*\"]\n",
		"p.yaml:6:16: field protect.tags.keep: want a string, found boolean true (quote it: \"true\")\np.yaml:6:22: field protect.tags: tag key is empty\np.yaml:7:23: field protect.names[1]: \"[\" is not a valid glob (syntax error in pattern)\np.yaml:7:28: field protect.names[2]: \"golden-*\" is listed twice (first at 7:11)"},
	{"misindented", "version: 1\nregions:\n  - region: cn-hangzhou\n    select:\nname: ci-*\n",
		"p.yaml:4:12: field regions[0].select: has no value\np.yaml:5:1: field name: unknown field (want one of version, concurrency, deprecate_first, regions, protect, limits)"},
	{"merge_key", "version: 1\nbase: &b {region: cn-hangzhou, image_ids: [m-a]}\nregions:\n  - <<: *b\n",
		"p.yaml:2:1: field base: unknown field (want one of version, concurrency, deprecate_first, regions, protect, limits)\np.yaml:4:5: field regions[0]: merge keys (<<) are not supported"},
	{"tab", "version: 1\nregions:\n\t- region: cn-hangzhou\n",
		"p.yaml:3: found character that cannot start any token"},
	{"alias_bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e]\n",
		"p.yaml: policy has more than 100000 YAML nodes once aliases are expanded"},
	{"duplicate_protect", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n    protect: {}\n    protect: {}\n",
		"p.yaml:6:5: field regions[0].protect: duplicate key, first at 5:5"},
	{"tagged_string", "version: !!str 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n",
		"p.yaml:1:10: field version: want an integer, found string \"1\""},
	{"empty_tags", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n    select: {tags: {}}\n",
		"p.yaml:5:13: field regions[0].select: selects every image: give name, tags or older_than"},
	{"int_overflow", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\nlimits:\n  max_deletions: 99999999999999999999999\n",
		"p.yaml:6:18: field limits.max_deletions: want an integer, found number 99999999999999999999999"},
}

// badInputs are the sources of parseErrorTests, for seeding FuzzParse.
var badInputs = func() []string {
	var srcs []string
	for _, tt := range parseErrorTests {
		srcs = append(srcs, tt.src)
	}
	return srcs
}()

// TestParseErrors pins the exact message, line and column of each kind of problem.
func TestParseErrors(t *testing.T) {
	for _, tt := range parseErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error; want\n%s", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.List) == 0 {
				t.Errorf("error is %T, not *Errors", err)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{"1min": time.Minute, "6min": 6 * time.Minute, "90min": 90 * time.Minute, "36h": 36 * time.Hour, "30d": 30 * Day, "2w": 14 * Day, "007d": 7 * Day}
	for s, want := range good {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "d", "30", "30x", "0d", "-1d", "1.5d", "1d12h", " 1d", "30s", "30D", "99999999999999999999w", "9999999999999w",
		"6m", "1m", "90m", "0m", "0min", "min", "6mins", "6mo", "6M", "6 min", "99999999999999999999min", "999999999999999min"} {
		if got, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", s, got)
		}
	}
	// A bare m offers both readings, each written in units ParseDuration takes.
	for s, want := range map[string]string{
		"6m":                  `"6m" is ambiguous: write 6min for minutes, or 180d for about 6 months (units: min, h, d, w)`,
		"1m":                  `"1m" is ambiguous: write 1min for minutes, or 30d for about 1 month (units: min, h, d, w)`,
		"018m":                `"018m" is ambiguous: write 18min for minutes, or 540d for about 18 months (units: min, h, d, w)`,
		"0m":                  `"0m" is not a positive duration`,
		"6mo":                 `"6mo" is not a duration (units: min, h, d, w)`,
		"5000m":               `"5000m" is ambiguous: write 5000min for minutes, or a number of days for months (units: min, h, d, w)`,
		"999999999999999999m": `"999999999999999999m" is too long a duration`,
	} {
		_, err := ParseDuration(s)
		if err == nil || err.Error() != want {
			t.Errorf("ParseDuration(%q): got %v, want %s", s, err, want)
		}
		for _, suggested := range regexp.MustCompile(`\d+(min|d)\b`).FindAllString(want, -1) {
			if _, err := ParseDuration(suggested); err != nil {
				t.Errorf("the message for %q suggests %s, which ParseDuration refuses: %v", s, suggested, err)
			}
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(valid+"#"+strings.Repeat("x", MaxFileSize)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(big)
	if want := big + ": 1048675 bytes, more than the 1 MiB allowed"; err == nil || err.Error() != want {
		t.Errorf("big file: got %v, want %s", err, want)
	}
}

// Each region entry knows where its id is written, for the messages of later checks.
func TestRegionPosition(t *testing.T) {
	p, err := Parse("p.yaml", []byte("version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-1]\n  -   region:   cn-shanghai\n      image_ids: [m-2]\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := [2][2]int{{p.Regions[0].Line, p.Regions[0].Column}, {p.Regions[1].Line, p.Regions[1].Column}}
	if got != [2][2]int{{3, 13}, {5, 17}} {
		t.Fatalf("positions %v, want [[3 13] [5 17]]", got)
	}
}
