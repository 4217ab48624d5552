package runner_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// TestARetryGoesBeforeTheQueue: at concurrency 1 and a pace of 100/s, an image whose DryRun
// answered 500 is sent again once its backoff (a millisecond or two) is over, before the images
// still waiting for their first DryRun, not behind them all: a run of retries ends while the
// others keep the pace busy, rather than in a tail at the DryRun barrier.
func TestARetryGoesBeforeTheQueue(t *testing.T) {
	const n = 60
	st := simpleState(n, "cn-hangzhou")
	h := newHarness(t, st, ecstest.Options{Seed: 3, Faults: map[string]ecstest.Faults{
		"DeleteImage": {InternalErrorRatio: 0.2},
	}}, simplePolicy(1, "", "cn-hangzhou"))
	rep := h.run(t, runner.Plan, func(c *runner.Config) { c.Rate.Max = 100 })
	if rep.Summary.WouldDelete != n {
		t.Fatalf("summary %+v by_code %v", rep.Summary, rep.ByCode)
	}
	var dry []ecstest.Call
	for _, c := range h.srv.Calls() {
		if c.Action == "DeleteImage" && c.DryRun {
			dry = append(dry, c)
		}
	}
	slices.SortFunc(dry, func(a, b ecstest.Call) int { return a.Start.Compare(b.Start) })
	first := map[string]int{} // image: index of its first DryRun
	for i, c := range dry {
		if _, ok := first[c.ImageID]; !ok {
			first[c.ImageID] = i
		}
	}
	var early int // faults with at least 20 images still to be tried first after them
	for i, c := range dry {
		if c.Code != "InternalError" {
			continue
		}
		j := i + 1
		for j < len(dry) && dry[j].ImageID != c.ImageID {
			j++
		}
		var between int // first attempts of other images between the fault and its retry
		later := 0
		for _, k := range first {
			if k > i && k < j {
				between++
			}
			if k > i {
				later++
			}
		}
		if later >= 20 {
			early++
		}
		if between > 5 { // 50 ms of slack for a busy machine
			t.Errorf("%s: %d images had their first DryRun between its 500 and its retry (%s later)", c.ImageID, between,
				dry[min(j, len(dry)-1)].Start.Sub(c.End).Round(time.Millisecond))
		}
	}
	if early == 0 {
		t.Fatal("no 500 came with 20 images still to try: the test shows nothing of the order")
	}
}
