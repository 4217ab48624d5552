package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

func readReport(t *testing.T, path string) *report.Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

func entriesByID(rep *report.Report) map[string]report.Entry {
	m := map[string]report.Entry{}
	for _, e := range rep.Images {
		m[e.ImageID] = e
	}
	return m
}

// deleteCalls returns the ids that got a DeleteImage, dry or real, from call number from on.
func deleteCalls(srv *ecstest.Server, from int, dry bool) []string {
	var ids []string
	for _, c := range srv.Calls()[from:] {
		if c.Action == "DeleteImage" && c.DryRun == dry {
			ids = append(ids, c.ImageID)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestApplyPlanCarriesOutTheReviewedPlan: plan; then the account changes (a new image the policy
// selects, a protection tag on a planned image, a planned image deleted by someone else); then
// apply --plan deletes exactly the planned images minus the newly protected one, touches none of
// the new ones, says how many it saw, and reports the gone one under its own code.
func TestApplyPlanCarriesOutTheReviewedPlan(t *testing.T) {
	srv, _ := confirmSetup(t)
	dir := t.TempDir()
	pol := policyCopy(t)
	planPath := filepath.Join(dir, "plan.json")
	code, _, stderr := edgeRun(t, srv, "plan", "--policy", pol, "--report", planPath)
	if code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	plan := readReport(t, planPath)
	var planned []string
	for _, e := range plan.Images {
		if e.Outcome == report.WouldDelete {
			planned = append(planned, e.ImageID)
		}
	}
	slices.Sort(planned)
	if want := []string{"m-bjci0002", "m-hzci0001", "m-hzci0002", "m-hzci0003", "m-shci0001", "m-shci0003"}; !slices.Equal(planned, want) {
		t.Fatalf("the plan would delete %v, want %v", planned, want)
	}

	// The account moves on after the review.
	ref, _ := srv.Image("cn-hangzhou", "m-hzci0003")
	if !srv.AddImage("cn-hangzhou", ecstest.Image{ID: "m-hznew01", Name: "ci-build-new", Family: "ci-build",
		CreationTime: ref.CreationTime.Add(-24 * time.Hour)}) {
		t.Fatal("AddImage")
	}
	if !srv.SetTag("cn-hangzhou", "m-hzci0002", "keep", "true") || !srv.RemoveImage("cn-shanghai", "m-shci0003") {
		t.Fatal("SetTag or RemoveImage")
	}
	// The new image is one the policy selects now: a fresh plan would pick it.
	fresh := filepath.Join(dir, "fresh.json")
	if code, _, stderr := edgeRun(t, srv, "plan", "--policy", pol, "--report", fresh); code != exitOK {
		t.Fatalf("fresh plan: exit %d\n%s", code, stderr)
	}
	if e := entriesByID(readReport(t, fresh))["m-hznew01"]; e.Outcome != report.WouldDelete {
		t.Fatalf("a fresh plan says %s for the new image: the test does not test what it says", e.Outcome)
	}

	before := len(srv.Calls())
	applyPath := filepath.Join(dir, "apply.json")
	code, _, stderr = edgeRun(t, srv, "apply", "--yes", "--plan", planPath, "--report", applyPath)
	if code != exitOK {
		t.Fatalf("apply --plan: exit %d\n%s", code, stderr)
	}
	if got, want := deleteCalls(srv, before, false), []string{"m-bjci0002", "m-hzci0001", "m-hzci0003", "m-shci0001"}; !slices.Equal(got, want) {
		t.Errorf("real deletes %v, want %v", got, want)
	}
	if dry := deleteCalls(srv, before, true); slices.Contains(dry, "m-hznew01") || slices.Contains(dry, "m-hzci0002") {
		t.Errorf("DryRun sent for an image outside the plan or protected now: %v", dry)
	}
	rep := readReport(t, applyPath)
	got := entriesByID(rep)
	if e := got["m-hzci0002"]; e.Outcome != report.Skipped || !strings.Contains(e.ProtectedBy, "keep") {
		t.Errorf("m-hzci0002: %s %q protected_by %q, want skipped by the new tag", e.Outcome, e.Code, e.ProtectedBy)
	}
	if e := got["m-shci0003"]; e.Outcome != report.Skipped || e.Code != "ImageGone" {
		t.Errorf("m-shci0003: %s %q, want skipped ImageGone", e.Outcome, e.Code)
	}
	if _, ok := got["m-hznew01"]; ok {
		t.Error("the new image is in the report of the plan's apply")
	}
	if rep.Plan != planPath || !slices.ContainsFunc(rep.Warnings, func(w string) bool {
		return strings.Contains(w, "cn-hangzhou: 1 images the policy selects now are not in the plan")
	}) {
		t.Errorf("plan %q, warnings %q: want the plan named and the new image counted", rep.Plan, rep.Warnings)
	}
	if _, ok := srv.Image("cn-hangzhou", "m-hznew01"); !ok {
		t.Error("the new image was deleted")
	}
	// Staged retention: what the plan said apply would deprecate, apply --plan deprecates.
	if e := got["m-bjci0001"]; e.Outcome != report.Deprecated {
		t.Errorf("m-bjci0001: %s %q, want deprecated as the plan said (%s)", e.Outcome, e.Code, e.Message)
	}
	if img, _ := srv.Image("cn-beijing", "m-bjci0001"); img.Status != "Deprecated" {
		t.Errorf("m-bjci0001 is %s after apply --plan, want Deprecated", img.Status)
	}
}

// TestApplyPlanRefusals: a plan is refused before any request when the policy changed, when it
// is too old, when it is not a plan, and --retry-from refuses a plan with a pointer to --plan,
// and a restore's report.
func TestApplyPlanRefusals(t *testing.T) {
	srv, _ := confirmSetup(t)
	dir := t.TempDir()
	pol := policyCopy(t)
	planPath := filepath.Join(dir, "plan.json")
	if code, _, stderr := edgeRun(t, srv, "plan", "--policy", pol, "--report", planPath); code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	plan := readReport(t, planPath)
	writeJSON := func(name string, r *report.Report) string {
		p := filepath.Join(dir, name)
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := *plan
	old.FinishedAt = time.Now().Add(-8 * 24 * time.Hour)
	oldPath := writeJSON("old.json", &old)
	applied := *plan
	applied.Command = "apply"
	appliedPath := writeJSON("applied.json", &applied)
	restored := *plan
	restored.Command = "restore"
	restoredPath := writeJSON("restored.json", &restored)
	edited := filepath.Join(dir, "edited.yaml")
	data, _ := os.ReadFile(pol)
	if err := os.WriteFile(edited, append(data, []byte("# a comment is a change\n")...), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"policy edited", []string{"apply", "--yes", "--plan", planPath, "--policy", edited}, "the policy changed since the plan"},
		{"plan too old", []string{"apply", "--yes", "--plan", oldPath}, "more than --max-plan-age 1w"},
		{"older than a shorter max age", []string{"apply", "--yes", "--plan", oldPath, "--max-plan-age", "2d"}, "more than --max-plan-age 2d"},
		{"not a plan", []string{"apply", "--yes", "--plan", appliedPath}, "not of plan"},
		{"retry-from a plan", []string{"apply", "--yes", "--policy", pol, "--retry-from", planPath}, "apply --plan " + planPath},
		{"plan and retry-from", []string{"apply", "--yes", "--plan", planPath, "--retry-from", planPath}, "give one"},
		{"retry-from a restore", []string{"apply", "--yes", "--policy", pol, "--retry-from", restoredPath}, "is a report of restore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(srv.Calls())
			code, _, stderr := edgeRun(t, srv, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d saying %q:\n%s", code, exitUsage, tc.want, stderr)
			}
			if n := len(srv.Calls()) - before; n != 0 {
				t.Errorf("%d requests were sent", n)
			}
		})
	}
	// A plan of the right age passes the same checks.
	if code, _, stderr := edgeRun(t, srv, "apply", "--yes", "--plan", oldPath, "--max-plan-age", "9d", "--report", filepath.Join(dir, "a.json")); code != exitOK {
		t.Errorf("a plan within --max-plan-age: exit %d\n%s", code, stderr)
	}
}
