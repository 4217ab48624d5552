package runner_test

import (
	"strings"
	"testing"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// TestConfirmsAsItDeletes: apply confirms its deletions 100 at a time while the other deletes
// go on, not all at the end: each deleted image is looked up by id exactly once, in 3 lookups for
// 250 images, and the first lookup starts before the last real DeleteImage has ended.
func TestConfirmsAsItDeletes(t *testing.T) {
	const n = 250
	st := simpleState(n, "cn-hangzhou")
	h := newHarness(t, st, ecstest.Options{}, simplePolicy(4, "", "cn-hangzhou"))
	rep := h.run(t, runner.Apply, nil)
	if rep.Summary.Deleted != n || rep.Status != report.StatusCompleted {
		t.Fatalf("status %s summary %+v", rep.Status, rep.Summary)
	}
	var lookups []ecstest.Call
	var lastDelete ecstest.Call
	looked := map[string]int{}
	for _, c := range h.srv.Calls() {
		switch {
		case c.Action == "DescribeImages" && c.Params["ImageId"] != "":
			lookups = append(lookups, c)
			for _, id := range strings.Split(c.Params["ImageId"], ",") {
				looked[id]++
			}
		case c.Action == "DeleteImage" && !c.DryRun && c.End.After(lastDelete.End):
			lastDelete = c
		}
	}
	if len(lookups) != 3 {
		t.Errorf("%d confirming lookups, want 3 (100, 100 and 50 ids)", len(lookups))
	}
	for _, img := range st.Regions["cn-hangzhou"].Images {
		if looked[img.ID] != 1 {
			t.Errorf("%s looked up %d times after its delete, want once", img.ID, looked[img.ID])
		}
	}
	if len(lookups) > 0 && !lookups[0].Start.Before(lastDelete.End) {
		t.Errorf("the first confirming lookup started %s after the last delete ended: the deletes were not confirmed as they went",
			lookups[0].Start.Sub(lastDelete.End))
	}
}
