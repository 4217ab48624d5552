package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// TestRestoreCommand runs restore in-process against the emulator: the confirmation, --yes,
// --image-ids and --since, and the image deprecated by hand that is never touched.
func TestRestoreCommand(t *testing.T) {
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", ecstest.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ecstest.AccessKeySecret)
	t.Setenv("HOME", t.TempDir())
	now := time.Now().UTC()
	old := now.AddDate(0, -3, 0)
	tag := func(ago time.Duration) map[string]string {
		return map[string]string{policy.DeprecatedAtTag: now.Add(-ago).Format(time.RFC3339)}
	}
	srv := ecstest.NewServer(&ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {Images: []ecstest.Image{
		{ID: "m-a", Name: "ci-a", CreationTime: old, Status: "Deprecated", Tags: tag(time.Hour)},
		{ID: "m-b", Name: "ci-b", CreationTime: old, Status: "Deprecated", Tags: tag(2 * time.Hour)},
		{ID: "m-old", Name: "ci-old", CreationTime: old, Status: "Deprecated", Tags: tag(72 * time.Hour)},
		{ID: "m-hand", Name: "ci-hand", CreationTime: old, Status: "Deprecated"},
		{ID: "m-live", Name: "ci-live", CreationTime: old},
	}}}}, ecstest.Options{})
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	pol := writeFile(t, filepath.Join(dir, "policy.yaml"), `version: 1
deprecate_first: 14d
regions:
  - region: cn-hangzhou
    select:
      name: "ci-*"
      older_than: 30d
protect:
  tags: {keep: "true"}
`)
	status := func(id string) (string, bool) {
		im, ok := srv.Image("cn-hangzhou", id)
		if !ok {
			t.Fatalf("%s is gone", id)
		}
		_, tagged := im.Tags[policy.DeprecatedAtTag]
		return im.Status, tagged
	}
	wantRestored := func(id string, want bool) {
		t.Helper()
		st, tagged := status(id)
		if got := st == "Available" && !tagged; got != want {
			t.Fatalf("%s: %s, tagged %v; want restored %v", id, st, tagged, want)
		}
	}
	changes := func() int {
		n := 0
		for _, c := range srv.Calls() {
			if (c.Action == "ModifyImageAttribute" && !c.DryRun) || c.Action == "UntagResources" || c.Action == "DeleteImage" || c.Action == "TagResources" {
				n++
			}
		}
		return n
	}
	rep := func(name string) string { return filepath.Join(dir, name) }

	// Without a terminal, restore needs --yes, and sends nothing.
	if code, _, stderr := edgeRun(t, srv, "restore", "--policy", pol, "--report", rep("r0.json")); code != exitUsage || len(srv.Calls()) != 0 {
		t.Fatalf("no terminal, no --yes: exit %d, %d calls\n%s", code, len(srv.Calls()), stderr)
	}

	// A person who answers no: nothing changes, exit 1. The question lists each image it would
	// restore, and no other.
	withTerminal(t, "no\n")
	asked := new(syncBuffer)
	if code := run(t.Context(), []string{"restore", "--policy", pol, "--endpoint", srv.URL(), "--report", rep("r1.json"), "--log-level", "error"},
		new(syncBuffer), asked); code != exitUsage || changes() != 0 {
		t.Fatalf("not confirmed: exit %d, %d changes", code, changes())
	}
	prompt, _, ok := strings.Cut(asked.String(), "Restore 3 images?")
	if !ok || !strings.Contains(prompt, "cn-hangzhou: would restore 3 images\n") || strings.Contains(prompt, "m-hand") || strings.Contains(prompt, "m-live") {
		t.Errorf("the question does not list the images to restore, or lists others:\n%s", asked.String())
	}
	for _, id := range []string{"m-a", "m-b", "m-old"} {
		if !regexp.MustCompile(`(?m)^  ` + id + ` +ci-`).MatchString(prompt) {
			t.Errorf("the question does not list %s:\n%s", id, prompt)
		}
	}
	if r := readReport(t, rep("r1.json")); r.Status != report.StatusAborted || r.Summary.NotAttempted != 3 {
		t.Fatalf("not confirmed: %s %+v", r.Status, r.Summary)
	}

	// --image-ids: only m-a; an id that is not ours to restore is reported, and the run fails
	// nothing.
	code, _, stderr := edgeRun(t, srv, "restore", "--policy", pol, "--yes", "--image-ids", "m-a,m-hand", "--report", rep("r2.json"))
	r := readReport(t, rep("r2.json"))
	if code != exitOK || r.Summary.Restored != 1 || entriesByID(r)["m-hand"].Outcome != report.Skipped {
		t.Fatalf("--image-ids: exit %d %+v\n%s", code, r.Summary, stderr)
	}
	wantRestored("m-a", true)
	wantRestored("m-b", false)

	// --since 1d: m-b (2h), not m-old (3d).
	if code, _, stderr := edgeRun(t, srv, "restore", "--policy", pol, "--yes", "--since", "1d", "--report", rep("r3.json")); code != exitOK {
		t.Fatalf("--since: exit %d\n%s", code, stderr)
	}
	wantRestored("m-b", true)
	wantRestored("m-old", false)

	// Everything the job deprecated; never the image deprecated by hand.
	if code, _, stderr := edgeRun(t, srv, "restore", "--policy", pol, "--yes", "--report", rep("r4.json")); code != exitOK {
		t.Fatalf("restore: exit %d\n%s", code, stderr)
	} else if !strings.Contains(stderr, "cn-hangzhou: restored 1 image\n") ||
		!regexp.MustCompile(`(?m)^ +region +selected( +\w+){6} +restored\n(?:.*\n)* +total( +\d+){7} +1$`).MatchString(stderr) {
		t.Errorf("the summary does not list and count the restored image:\n%s", stderr)
	}
	if r := readReport(t, rep("r4.json")); r.Command != "restore" || r.Summary.Restored != 1 || entriesByID(r)["m-old"].Outcome != report.Restored {
		t.Fatalf("restore: %s %+v", r.Command, r.Summary)
	}
	wantRestored("m-old", true)
	if st, _ := status("m-hand"); st != "Deprecated" {
		t.Fatalf("m-hand: %s", st)
	}

	// Bad flags are refused before any request.
	calls := len(srv.Calls())
	for _, args := range [][]string{{"--since", "3"}, {"--image-ids", ","}, {"--retry-from", "x.json"}} {
		if code, _, _ := edgeRun(t, srv, append([]string{"restore", "--policy", pol, "--yes"}, args...)...); code != exitUsage || len(srv.Calls()) != calls {
			t.Errorf("restore %v: exit %d", args, code)
		}
	}
}
