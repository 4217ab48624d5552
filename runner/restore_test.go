package runner_test

import (
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

func TestRestoreEndToEnd(t *testing.T) {
	t.Parallel()
	st := stagedAccount()
	// Deprecated by hand after day 0's apply would tag it: this one is added untagged and kept
	// out of the policy's selection by its name, so no apply ever tags it.
	st.Regions["cn-hangzhou"].Images = append(st.Regions["cn-hangzhou"].Images,
		ecstest.Image{ID: "m-hand", Name: "manual-hand", CreationTime: now.AddDate(0, -3, 0), Status: "Deprecated"})
	h := newHarness(t, st, ecstest.Options{}, stagedPolicy)
	image := func(id string) ecstest.Image {
		t.Helper()
		im, ok := h.srv.Image("cn-hangzhou", id)
		if !ok {
			t.Fatalf("%s is gone", id)
		}
		return im
	}
	deprecatedAt := func(id string, day int) {
		t.Helper()
		im := image(id)
		if im.Status != "Deprecated" || im.Tags[policy.DeprecatedAtTag] != now.AddDate(0, 0, day).Format(time.RFC3339) {
			t.Fatalf("%s: %s %v, want Deprecated tagged day %d", id, im.Status, im.Tags, day)
		}
	}
	restored := func(id string) {
		t.Helper()
		im := image(id)
		if _, tagged := im.Tags[policy.DeprecatedAtTag]; im.Status != "Available" || tagged {
			t.Fatalf("%s: %s %v, want Available untagged", id, im.Status, im.Tags)
		}
	}

	// Day 0: apply deprecates m-a and m-b, and tags the hand-deprecated m-dep it selects.
	h.run(t, runner.Apply, at(0))
	for _, id := range []string{"m-a", "m-b", "m-dep"} {
		deprecatedAt(id, 0)
	}

	// Day 1: restore, limited by --image-ids, touches m-a only; an id that is not ours to restore
	// is reported.
	limited := h.run(t, runner.Restore, func(c *runner.Config) {
		at(1)(c)
		c.RestoreIDs = []string{"m-a", "m-hand"}
	})
	wantOutcome(t, limited, "m-a", report.Restored, "")
	wantOutcome(t, limited, "m-hand", report.Skipped, runner.CodeNotRestorable)
	if limited.Summary.Restored != 1 || len(limited.Images) != 2 {
		t.Fatalf("limited restore: %+v %+v", limited.Summary, limited.Images)
	}
	restored("m-a")
	deprecatedAt("m-b", 0)

	// Day 2: --since 1d finds nothing (the tags are two days old); a full restore brings back
	// every image the job deprecated, and never the one deprecated by hand.
	since := h.run(t, runner.Restore, func(c *runner.Config) {
		at(2)(c)
		c.RestoreSince = 24 * time.Hour
	})
	if len(since.Images) != 0 {
		t.Fatalf("--since 1d restored: %+v", since.Images)
	}
	deprecatedAt("m-b", 0)
	calls := len(h.srv.Calls())
	all := h.run(t, runner.Restore, at(2))
	wantOutcome(t, all, "m-b", report.Restored, "")
	wantOutcome(t, all, "m-dep", report.Restored, "")
	if all.Summary.Restored != 2 || len(all.Images) != 2 || all.Status != report.StatusCompleted {
		t.Fatalf("restore: %s %+v %+v", all.Status, all.Summary, all.Images)
	}
	for _, id := range []string{"m-a", "m-b", "m-dep"} {
		restored(id)
	}
	if im := image("m-hand"); im.Status != "Deprecated" {
		t.Fatalf("m-hand: %s", im.Status)
	}
	// Every change had its DryRun first; the untag followed the real change.
	dry, real := map[string]bool{}, map[string]bool{}
	for _, c := range h.srv.Calls()[calls:] {
		switch {
		case c.Action == "ModifyImageAttribute" && c.DryRun:
			dry[c.ImageID] = true
		case c.Action == "ModifyImageAttribute":
			if !dry[c.ImageID] {
				t.Fatalf("%s: ModifyImageAttribute without a DryRun first", c.ImageID)
			}
			real[c.ImageID] = true
		case c.Action == "UntagResources":
			if id := c.Params["ResourceId.1"]; !real[id] || c.Params["TagKey.1"] != policy.DeprecatedAtTag {
				t.Fatalf("%s: UntagResources before the status change, or of another key: %v", id, c.Params)
			}
		case c.Action == "DeleteImage" || c.Action == "TagResources":
			t.Fatalf("restore sent %s", c.Action)
		}
	}

	// Day 3: a later apply starts the clock again.
	again := h.run(t, runner.Apply, at(3))
	wantOutcome(t, again, "m-a", report.Deprecated, "")
	for _, id := range []string{"m-a", "m-b", "m-dep"} {
		deprecatedAt(id, 3)
	}
}

func TestRestoreNotConfirmed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, stagedAccount(), ecstest.Options{}, stagedPolicy)
	h.run(t, runner.Apply, at(0))
	var asked []report.Entry
	rep := h.run(t, runner.Restore, func(c *runner.Config) {
		at(1)(c)
		c.Confirm = func(es []report.Entry) bool { asked = es; return false }
	})
	if len(asked) != 3 || rep.Status != report.StatusAborted || rep.Summary.NotAttempted != 3 {
		t.Fatalf("asked %d, %s %+v", len(asked), rep.Status, rep.Summary)
	}
	if im, _ := h.srv.Image("cn-hangzhou", "m-a"); im.Status != "Deprecated" {
		t.Fatalf("m-a: %s", im.Status)
	}
}
