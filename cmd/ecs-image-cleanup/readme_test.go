package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestReadmeShowsTheDemoAudit keeps the markdown audit in the README real: it must be what
// `demo --format markdown` prints for its plan, but for the line that names the policy file and
// the time of the run.
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
	stable := func(s string) []string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
			if !strings.HasPrefix(line, "Policy `") { // path and time of the run
				out = append(out, line)
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
