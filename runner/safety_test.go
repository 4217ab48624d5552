package runner_test

import (
	"testing"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// TestFailFastOnWhatRetryingCannotFix: a region whose DeleteImage answers a permission or
// credential refusal stops after a few of them, one attempt per image, and its other images end
// not_attempted under the code; the other region is not affected.
func TestFailFastOnWhatRetryingCannotFix(t *testing.T) {
	for _, code := range []string{"Forbidden.RAM", "InvalidAccessKeyId.NotFound", "SignatureDoesNotMatch"} {
		t.Run(code, func(t *testing.T) {
			regions := []string{"cn-hangzhou", "cn-shanghai"}
			st := simpleState(200, regions...)
			const concurrency = 8
			h := newHarness(t, st, ecstest.Options{Deny: map[string]string{"cn-hangzhou/DeleteImage": code}},
				simplePolicy(concurrency, "", regions...))
			rep := h.run(t, runner.Apply, nil)
			hz := rep.Regions["cn-hangzhou"]
			if hz.Summary.Failed < 3 || hz.Summary.Failed > 3+concurrency {
				t.Errorf("cn-hangzhou failed %d images; want the few that revealed the refusal (3..%d)", hz.Summary.Failed, 3+concurrency)
			}
			if hz.Summary.Failed+hz.Summary.NotAttempted != 200 {
				t.Errorf("cn-hangzhou %+v", hz.Summary)
			}
			for _, e := range rep.Images {
				if e.Region == "cn-hangzhou" && e.Code != code {
					t.Errorf("%s: %s with code %q, want %s", e.ImageID, e.Outcome, e.Code, code)
				}
				if e.Region == "cn-hangzhou" && e.Attempts > 1 {
					t.Errorf("%s: %d attempts: a refusal like %s is never retried", e.ImageID, e.Attempts, code)
				}
			}
			sent := 0
			for _, c := range h.srv.Calls() {
				if c.Action == "DeleteImage" && c.Region == "cn-hangzhou" {
					sent++
				}
			}
			if sent > 3+concurrency {
				t.Errorf("%d DeleteImage requests to the refusing region", sent)
			}
			if sh := rep.Regions["cn-shanghai"].Summary; sh.Deleted != 200 {
				t.Errorf("cn-shanghai %+v: the other region must not be affected", sh)
			}
		})
	}
}

// TestDeletionsAreConfirmed: a DeleteImage that answers success but leaves the image is caught
// by the listing after apply and reported failed, DeleteNotConfirmed.
func TestDeletionsAreConfirmed(t *testing.T) {
	st := simpleState(200, "cn-hangzhou")
	h := newHarness(t, st, ecstest.Options{Seed: 3, Faults: map[string]ecstest.Faults{
		"DeleteImage": {UnappliedDeleteRatio: 0.1},
	}}, simplePolicy(8, "", "cn-hangzhou"))
	rep := h.run(t, runner.Apply, nil)
	unconfirmed := rep.ByCode[runner.CodeDeleteNotConfirmed]
	if unconfirmed == 0 || rep.Summary.Failed != unconfirmed || rep.Summary.Deleted+unconfirmed != 200 {
		t.Fatalf("summary %+v by_code %v", rep.Summary, rep.ByCode)
	}
	checkAgainstEmulator(t, rep, h.srv, st)
	lookups := 0
	for _, c := range h.srv.Calls() {
		if c.Action == "DescribeImages" && c.Params["ImageId"] != "" {
			lookups++
		}
	}
	if lookups != 2 {
		t.Errorf("%d lookups to confirm 200 deletions, want 2 (100 ids a call)", lookups)
	}
}

// TestOnlyLimitsTheRun: a run restricted to some images (as --retry-from and --plan do) touches
// no other, and accounts for each it names: one that is gone is skipped ImageGone.
func TestOnlyLimitsTheRun(t *testing.T) {
	st := simpleState(20, "cn-hangzhou")
	imgs := st.Regions["cn-hangzhou"].Images
	only := map[string]bool{"cn-hangzhou/" + imgs[3].ID: true, "cn-hangzhou/" + imgs[7].ID: true, "cn-hangzhou/m-gone": true}
	h := newHarness(t, st, ecstest.Options{}, simplePolicy(4, "", "cn-hangzhou"))
	rep := h.run(t, runner.Apply, func(c *runner.Config) { c.Only = only })
	if rep.Summary.Selected != 3 || rep.Summary.Deleted != 2 || rep.ByCode[runner.CodeImageGone] != 0 {
		t.Fatalf("summary %+v by_code %v", rep.Summary, rep.ByCode)
	}
	for _, e := range rep.Images {
		if e.ImageID == "m-gone" && (e.Outcome != report.Skipped || e.Code != runner.CodeImageGone) {
			t.Errorf("m-gone: %s %q, want skipped %s", e.Outcome, e.Code, runner.CodeImageGone)
		}
	}
	for key := range realDeletes(h.srv) {
		if !only[key] {
			t.Errorf("%s deleted though the run was limited", key)
		}
	}
}

func TestNothingSelectedIsACleanRun(t *testing.T) {
	st := simpleState(5, "cn-hangzhou")
	pol := "version: 1\nregions:\n  - region: cn-hangzhou\n    select:\n      name: \"nothing-matches-*\"\n"
	h := newHarness(t, st, ecstest.Options{}, pol)
	rep := h.run(t, runner.Apply, nil)
	if rep.Status != report.StatusCompleted || rep.Summary.Selected != 0 || rep.Fault != "" {
		t.Fatalf("status %s fault %q summary %+v", rep.Status, rep.Fault, rep.Summary)
	}
	if _, ok := rep.Regions["cn-hangzhou"]; !ok {
		t.Error("a region that selected nothing is missing from the report")
	}
}
