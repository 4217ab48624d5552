package runner_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// TestDryRunNotHonouredLosesAtMostOneImageARegion runs plan and apply at concurrency 256
// against an endpoint that really deletes on DryRun, over 2 regions of 300 images. Each region
// sends one DryRun and waits for its answer before any other, so the service can delete at most
// one image a region before the run stops; the report counts each image it lost as deleted, and
// no real DeleteImage is ever sent. In the "blocked first" case the first 50 images of each
// region are in use: a refusal says nothing of whether DryRun is honoured, so those go one at a
// time too, and the first image the service would delete is still the only one lost.
func TestDryRunNotHonouredLosesAtMostOneImageARegion(t *testing.T) {
	regions := []string{"cn-hangzhou", "cn-beijing"}
	const perRegion = 300
	for _, blockedFirst := range []int{0, 50} {
		for _, command := range []string{runner.Plan, runner.Apply} {
			t.Run(fmt.Sprintf("%s/blocked_first=%d", command, blockedFirst), func(t *testing.T) {
				st := simpleState(perRegion, regions...)
				for _, reg := range st.Regions {
					for i := range blockedFirst {
						id := reg.Images[i].ID // GenerateImages ids sort in order: these are listed, and sent, first
						reg.Instances = append(reg.Instances, ecstest.Instance{ID: "i-" + id, ImageID: id, Status: "Running"})
					}
				}
				h := newHarness(t, st, ecstest.Options{IgnoreDryRun: true},
					simplePolicy(256, "limits:\n  max_deletions: 1\n", regions...))
				rep := h.run(t, command, nil)

				lostTotal := 0
				for _, region := range regions {
					lost := perRegion - len(h.srv.Images(region))
					if lost > 1 {
						t.Errorf("%s: the service deleted %d images on DryRun; at most 1 a region may be lost", region, lost)
					}
					lostTotal += lost
				}
				t.Logf("images the service deleted on DryRun: %d (summary.deleted %d)", lostTotal, rep.Summary.Deleted)
				if lostTotal == 0 {
					t.Fatal("no image was lost: the test did not meet the fault")
				}
				if rep.Summary.Deleted != lostTotal {
					t.Errorf("summary.deleted %d, but the emulator lost %d images", rep.Summary.Deleted, lostTotal)
				}
				checkAgainstEmulator(t, rep, h.srv, st)
				for _, e := range rep.Images {
					if e.Outcome != report.Deleted {
						continue
					}
					if e.Code != runner.CodeDryRunNotHonoured || !strings.Contains(e.Message, "ignored DryRun") {
						t.Errorf("%s/%s deleted with code %q message %q; want %s and a message that DryRun was ignored",
							e.Region, e.ImageID, e.Code, e.Message, runner.CodeDryRunNotHonoured)
					}
				}
				if !strings.Contains(rep.Fault, "did not honour DryRun") {
					t.Errorf("fault %q: want it to say DryRun was not honoured", rep.Fault)
				}
				if rep.Summary.Blocked > len(regions)*blockedFirst || rep.Summary.WouldDelete != 0 {
					t.Errorf("summary %+v", rep.Summary)
				}
				if want := len(regions)*perRegion - lostTotal - rep.Summary.Blocked; rep.Summary.NotAttempted != want {
					t.Errorf("not_attempted %d, want %d (summary %+v)", rep.Summary.NotAttempted, want, rep.Summary)
				}
				if n := len(realDeletes(h.srv)); n != 0 {
					t.Errorf("%d real DeleteImage requests", n)
				}
				// Per region: the refusals, then the one DryRun the service answered with success.
				sent := map[string]int{}
				for _, c := range h.srv.Calls() {
					if c.Action == "DeleteImage" {
						sent[c.Region]++
					}
				}
				for _, region := range regions {
					if sent[region] > blockedFirst+1 {
						t.Errorf("%s: %d DeleteImage requests; want at most %d", region, sent[region], blockedFirst+1)
					}
				}
			})
		}
	}
}

// TestListingFailureMakesThePartialStatus: a region whose listing fails for good leaves the
// run partial, not completed, and every summary format names the region's error.
func TestListingFailureMakesThePartialStatus(t *testing.T) {
	st := simpleState(3, "cn-hangzhou", "cn-shanghai")
	h := newHarness(t, st, ecstest.Options{Deny: map[string]string{"cn-shanghai/DescribeImages": "Forbidden.RAM"}},
		simplePolicy(2, "", "cn-hangzhou", "cn-shanghai"))
	for _, command := range []string{runner.Plan, runner.Apply} {
		rep := h.run(t, command, nil)
		if rep.Status != report.StatusPartial || rep.Fault != "" {
			t.Errorf("%s: status %q fault %q; want %q and no fault", command, rep.Status, rep.Fault, report.StatusPartial)
		}
		regionErr := rep.Regions["cn-shanghai"].Error
		if !strings.Contains(regionErr, "could not list images") || !strings.Contains(regionErr, "Forbidden.RAM") {
			t.Fatalf("%s: cn-shanghai error %q", command, regionErr)
		}
		for _, format := range report.Formats {
			var b strings.Builder
			if err := report.WriteSummary(&b, rep, format); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.Contains(out, "partial") || !strings.Contains(out, "cn-shanghai") ||
				!strings.Contains(out, "could not list images") || !strings.Contains(out, "Forbidden.RAM") {
				t.Errorf("%s, %s summary does not show the partial status and cn-shanghai's error:\n%s", command, format, out)
			}
		}
	}
	if got := len(h.srv.Images("cn-hangzhou")); got != 0 {
		t.Errorf("cn-hangzhou kept %d images: the other region must go on", got)
	}
}

// TestStagedDryRunNotHonouredChangesOneImageARegion: an endpoint that really changes an image on
// a ModifyImageAttribute DryRun (deprecating it, or on restore making it Available) gets one
// DryRun a region, then one at a time until one passes, as DeleteImage's do: it changes at
// most one image a region before the run stops on it, at concurrency 64.
func TestStagedDryRunNotHonouredChangesOneImageARegion(t *testing.T) {
	regions := []string{"cn-hangzhou", "cn-beijing"}
	const perRegion = 100
	for _, command := range []string{runner.Plan, runner.Apply, runner.Restore} {
		t.Run(command, func(t *testing.T) {
			st := simpleState(perRegion, regions...)
			want := "Available" // what an ignored DryRun does not leave
			if command == runner.Restore {
				want = "Deprecated"
				for _, reg := range st.Regions {
					for i := range reg.Images {
						reg.Images[i].Status = "Deprecated"
						reg.Images[i].Tags = map[string]string{"ecs-image-cleanup/deprecated-at": now.AddDate(0, 0, -1).UTC().Format("2006-01-02T15:04:05Z")}
					}
				}
			}
			h := newHarness(t, st, ecstest.Options{IgnoreDryRun: true}, simplePolicy(64, "deprecate_first: 14d\n", regions...))
			rep := h.run(t, command, func(c *runner.Config) { c.Confirm = func([]report.Entry) bool { return true } })
			changed := 0
			for _, region := range regions {
				n := 0
				for _, img := range h.srv.Images(region) {
					if img.Status != want {
						n++
					}
				}
				if n > 1 {
					t.Errorf("%s: the service changed %d images on DryRun; at most 1 a region may be", region, n)
				}
				changed += n
			}
			if changed == 0 {
				t.Fatal("no image was changed: the test did not meet the fault")
			}
			if !strings.Contains(rep.Fault, "did not honour DryRun") {
				t.Errorf("fault %q: want it to say DryRun was not honoured", rep.Fault)
			}
		})
	}
}
