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
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

const stagedConfirmPolicy = `version: 1
deprecate_first: 14d
regions:
  - region: cn-hangzhou
    select: {name: "ci-*", older_than: 30d}
  - region: cn-beijing
    select: {name: "ci-*", older_than: 30d}
`

// stagedConfirmSetup starts an emulator whose account apply would only deprecate (two images in
// cn-hangzhou, one in cn-beijing) and tag (one Deprecated by hand in cn-beijing); with expired,
// one Deprecated image in cn-hangzhou past its grace period is to be deleted too.
func stagedConfirmSetup(t *testing.T, expired bool) (*ecstest.Server, string) {
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", ecstest.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ecstest.AccessKeySecret)
	t.Setenv("HOME", t.TempDir())
	old := time.Now().UTC().AddDate(0, -3, 0)
	hz := []ecstest.Image{
		{ID: "m-hz1", Name: "ci-hz1", CreationTime: old},
		{ID: "m-hz2", Name: "ci-hz2", CreationTime: old},
	}
	if expired {
		hz = append(hz, ecstest.Image{ID: "m-hzold", Name: "ci-hzold", CreationTime: old, Status: "Deprecated",
			Tags: map[string]string{policy.DeprecatedAtTag: time.Now().UTC().AddDate(0, 0, -20).Format(time.RFC3339)}})
	}
	srv := ecstest.NewServer(&ecstest.State{Regions: map[string]*ecstest.Region{
		"cn-hangzhou": {Images: hz},
		"cn-beijing": {Images: []ecstest.Image{
			{ID: "m-bj1", Name: "ci-bj1", CreationTime: old},
			{ID: "m-bjhand", Name: "ci-bjhand", CreationTime: old, Status: "Deprecated"},
		}},
	}}, ecstest.Options{})
	t.Cleanup(srv.Close)
	return srv, writeFile(t, filepath.Join(t.TempDir(), "policy.yaml"), stagedConfirmPolicy)
}

// changesSent counts the calls that change an image: every one but a DryRun.
func changesSent(srv *ecstest.Server) int {
	n := 0
	for _, c := range srv.Calls() {
		switch c.Action {
		case "ModifyImageAttribute", "DeleteImage":
			if !c.DryRun {
				n++
			}
		case "TagResources", "UntagResources":
			n++
		}
	}
	return n
}

// TestApplyAsksBeforeDeprecating: an apply that would only deprecate asks as one that deletes
// does, saying per region what it would deprecate and delete; no leaves every image
// not_attempted with nothing sent but DryRuns; without a terminal it needs --yes.
func TestApplyAsksBeforeDeprecating(t *testing.T) {
	for _, tc := range []struct {
		answer   string
		code     int
		expired  bool
		question string
		headings []string
	}{
		{"no\n", exitUsage, false, "Deprecate 3 images and tag 1 Deprecated image?",
			[]string{"cn-beijing: would deprecate 1 image\n", "cn-beijing: would tag 1 image (Deprecated without", "cn-hangzhou: would deprecate 2 images\n"}},
		{"yes\n", exitOK, false, "Deprecate 3 images and tag 1 Deprecated image?", nil},
		{"no\n", exitUsage, true, "Delete 1 image, deprecate 3 images and tag 1 Deprecated image?",
			[]string{"cn-hangzhou: would delete 1 image\n", "cn-hangzhou: would deprecate 2 images\n", "cn-beijing: would deprecate 1 image\n"}},
	} {
		t.Run(strings.TrimSpace(tc.answer)+map[bool]string{true: " with a delete"}[tc.expired], func(t *testing.T) {
			srv, pol := stagedConfirmSetup(t, tc.expired)
			withTerminal(t, tc.answer)
			rep := filepath.Join(t.TempDir(), "apply.json")
			stderr := new(syncBuffer)
			code := run(t.Context(), []string{"apply", "--policy", pol, "--endpoint", srv.URL(), "--report", rep, "--log-level", "error"},
				new(syncBuffer), stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			prompt, _, asked := strings.Cut(stderr.String(), tc.question)
			if !asked {
				t.Fatalf("not asked %q:\n%s", tc.question, stderr)
			}
			for _, h := range tc.headings {
				if !strings.Contains(prompt, h) {
					t.Errorf("the question does not say %q:\n%s", h, prompt)
				}
			}
			for _, id := range []string{"m-hz1", "m-hz2", "m-bj1", "m-bjhand"} {
				if !regexp.MustCompile(`(?m)^  ` + id + ` +ci-`).MatchString(prompt) {
					t.Errorf("the question does not list %s:\n%s", id, prompt)
				}
			}
			r := readReport(t, rep)
			if tc.code == exitOK {
				if r.Summary.Deprecated != 3 || changesSent(srv) == 0 {
					t.Fatalf("yes: %+v, %d changes", r.Summary, changesSent(srv))
				}
				return
			}
			if n := changesSent(srv); n != 0 {
				t.Errorf("no: %d changes sent", n)
			}
			if r.Status != report.StatusAborted || r.Summary.NotAttempted != len(r.Images) {
				t.Errorf("no: %s %+v", r.Status, r.Summary)
			}
			for _, e := range r.Images {
				if e.Outcome != report.NotAttempted || e.Code != runner.CodeNotConfirmed {
					t.Errorf("no: %s %s %q", e.ImageID, e.Outcome, e.Code)
				}
			}
		})
	}

	t.Run("no terminal", func(t *testing.T) {
		srv, pol := stagedConfirmSetup(t, false)
		code, _, stderr := edgeRun(t, srv, "apply", "--policy", pol, "--report", filepath.Join(t.TempDir(), "r.json"))
		if code != exitUsage || len(srv.Calls()) != 0 || !strings.Contains(stderr, "pass --yes") {
			t.Fatalf("exit %d, %d calls\n%s", code, len(srv.Calls()), stderr)
		}
		rep := filepath.Join(t.TempDir(), "r.json")
		code, _, stderr = edgeRun(t, srv, "apply", "--policy", pol, "--yes", "--report", rep)
		if r := readReport(t, rep); code != exitOK || r.Summary.Deprecated != 3 || strings.Contains(stderr, "Type yes") {
			t.Fatalf("--yes: exit %d %+v\n%s", code, r.Summary, stderr)
		}
	})
}

// TestRestoreAsksPerRegion: restore's question lists, per region, the images it would restore.
func TestRestoreAsksPerRegion(t *testing.T) {
	srv, pol := stagedConfirmSetup(t, false)
	if code, _, stderr := edgeRun(t, srv, "apply", "--policy", pol, "--yes", "--report", filepath.Join(t.TempDir(), "a.json")); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	before := changesSent(srv)
	withTerminal(t, "no\n")
	stderr := new(syncBuffer)
	code := run(t.Context(), []string{"restore", "--policy", pol, "--endpoint", srv.URL(), "--report", filepath.Join(t.TempDir(), "r.json"),
		"--log-level", "error"}, new(syncBuffer), stderr)
	prompt, _, asked := strings.Cut(stderr.String(), "Restore 4 images?")
	if code != exitUsage || !asked || changesSent(srv) != before {
		t.Fatalf("exit %d, asked %v, %d changes\n%s", code, asked, changesSent(srv)-before, stderr)
	}
	for _, want := range []string{"cn-beijing: would restore 2 images\n", "cn-hangzhou: would restore 2 images\n"} {
		if !strings.Contains(prompt, want) {
			t.Errorf("the question does not say %q:\n%s", want, prompt)
		}
	}
	for _, id := range []string{"m-hz1", "m-hz2", "m-bj1", "m-bjhand"} {
		if !regexp.MustCompile(`(?m)^  ` + id + ` +ci-`).MatchString(prompt) {
			t.Errorf("the question does not list %s:\n%s", id, prompt)
		}
	}
}
