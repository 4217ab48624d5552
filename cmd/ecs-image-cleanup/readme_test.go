package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/examples"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// TestReadmeShowsTheDemoAudit keeps the markdown audit in the README real: it must be what
// `demo --format markdown` prints for its plan, but for the line that names the policy file and
// the time of the run, and the dates staged retention's images become eligible for deletion,
// which move with the time of the run (how long after it each is must be as shown).
func TestReadmeShowsTheDemoAudit(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"demo", "--state", "../../examples/emulator-state.yaml", "--policy", "../../examples/demo.yaml",
		"--format", "markdown", "--report-dir", t.TempDir()}
	if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("demo exited %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	_, plan, ok := strings.Cut(stdout.String(), "\n== plan ")
	plan, _, ok2 := strings.Cut(plan, "\n== apply ")
	if !ok || !ok2 {
		t.Fatalf("no plan section in the demo's output:\n%s", stdout.String())
	}
	_, plan, _ = strings.Cut(plan, "\n") // the "(report: PATH)" rest of the heading line
	readme, err := os.ReadFile("../../docs/report.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- demo audit: begin -->\n```markdown\n", "```\n<!-- demo audit: end -->"
	_, shown, ok := strings.Cut(string(readme), begin)
	shown, _, ok2 = strings.Cut(shown, end)
	if !ok || !ok2 {
		t.Fatalf("docs/report.md has no %q ... %q block", begin, end)
	}
	eligible := regexp.MustCompile(`\| \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in (\d+[dhm])\) \|$`)
	stable := func(s string) []string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
			if !strings.HasPrefix(line, "Policy `") { // path and time of the run
				out = append(out, eligible.ReplaceAllString(line, "| DATE (in $1) |"))
			}
		}
		return out
	}
	got, want := stable(plan), stable(shown)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the README's audit is not the demo's; paste the plan section of `go run ./cmd/ecs-image-cleanup demo --format markdown`:\n%s",
			strings.TrimSpace(plan))
	}
}

// TestReadmeDemoFigures keeps the README's account of the demo true: the figures it gives are
// those of the demo's own plan and apply reports, its staged region's included.
func TestReadmeDemoFigures(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--report-dir", dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("demo exited %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	var before, after int
	if _, err := fmt.Sscanf(stdout.String()[strings.LastIndex(stdout.String(), "images in the emulator: "):],
		"images in the emulator: %d before, %d after", &before, &after); err != nil {
		t.Fatalf("no image count in the demo's output: %v\n%s", err, stdout.String())
	}
	plan, apply := readReport(t, filepath.Join(dir, "plan.json")), readReport(t, filepath.Join(dir, "apply.json"))
	p, a := plan.Summary, apply.Summary
	if after != before-a.Deleted {
		t.Errorf("%d images before, %d after, %d deleted", before, after, a.Deleted)
	}

	// The staged region: one image deprecated, one deleted whose tag is 26 days old, one in its
	// grace period whose tag is 5 days old, and one shared that could not be deprecated.
	const staged = "cn-beijing"
	st, err := ecstest.ParseState(examples.EmulatorState)
	if err != nil {
		t.Fatal(err)
	}
	var newest time.Time
	tagAge := map[string]int{} // days before the newest image was created, as the demo moves them
	for _, reg := range st.Regions {
		for _, img := range reg.Images {
			if img.CreationTime.After(newest) {
				newest = img.CreationTime
			}
		}
	}
	for _, img := range st.Regions[staged].Images {
		if at, err := time.Parse(time.RFC3339, img.Tags[policy.DeprecatedAtTag]); err == nil {
			tagAge[img.ID] = int(newest.Add(time.Hour).Sub(at) / (24 * time.Hour))
		}
	}
	var deletedAge, graceAge, grace int
	for _, e := range apply.Images {
		switch {
		case e.Region != staged:
		case e.Outcome == report.Deleted:
			deletedAge = tagAge[e.ImageID]
		case e.Code == report.CodeInGracePeriod:
			graceAge, grace = tagAge[e.ImageID], grace+1
		}
	}
	bj := apply.Regions[staged].Summary
	pol, err := policy.Parse(examples.DemoPolicyName, examples.DemoPolicy)
	if err != nil {
		t.Fatal(err)
	}
	var deprecateFirst time.Duration
	for _, r := range pol.Regions {
		if r.ID == staged {
			deprecateFirst = r.DeprecateFirst
		}
	}
	if bj.Deprecated != 1 || bj.Deleted != 1 || grace != 1 || bj.Blocked != 1 || apply.ByCode["ImageUseShared"] < 1 ||
		deprecateFirst != 14*24*time.Hour {
		t.Errorf("the staged region is not as the README tells it: %+v, %d in grace period, deprecate_first %v", bj, grace, deprecateFirst)
	}

	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Join(strings.Fields(string(data)), " ")
	for _, want := range []string{
		fmt.Sprintf("Of the demo account's %d images, plan finds %d to delete, %d to deprecate, %d the service refuses (with what holds each), %d kept (",
			before, p.WouldDelete, p.WouldDeprecate, p.Blocked, p.Skipped),
		fmt.Sprintf("and %d snapshots that would go with them; apply deletes the %d and %d of the snapshots,",
			p.Snapshots.WouldDelete, a.Deleted, a.Snapshots.Deleted),
		fmt.Sprintf("Its region %s is [staged](docs/staged-retention.md) (`deprecate_first: 14d`): apply deprecates one image, deletes one deprecated %d days ago, skips one deprecated %d days ago",
			staged, deletedAge, graceAge),
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("the README does not say %q", want)
		}
	}
}
