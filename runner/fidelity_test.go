package runner_test

import (
	"testing"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// Tests of issue 17: what each gap of the emulator would have hidden in the job.

// TestExplicitMarketplaceIDIsNotOwned: DescribeImages without ImageOwnerAlias leaves
// marketplace images out, so the lookup of explicit ids never finds one. An emulator that listed
// them hid that the job then reported a marketplace image "not found" (InvalidImageId.NotFound)
// instead of saying it is not the account's own. It must be skipped ImageNotOwned, never sent a
// DeleteImage.
func TestExplicitMarketplaceIDIsNotOwned(t *testing.T) {
	market := oldImage("m-market")
	market.OwnerAlias, market.OwnerID = ecs.OwnerMarketplace, "5555"
	st := &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {Images: []ecstest.Image{market, oldImage("m-mine")}}}}
	h := newHarness(t, st, ecstest.Options{}, "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-market, m-mine, m-nothing]\n")
	rep := h.run(t, runner.Apply, nil)
	got := entries(rep)
	if e := got["cn-hangzhou/m-market"]; e.Outcome != report.Skipped || e.Code != runner.CodeNotOwned {
		t.Errorf("marketplace image: %s %q (%s), want skipped %s", e.Outcome, e.Code, e.Message, runner.CodeNotOwned)
	}
	if e := got["cn-hangzhou/m-mine"]; e.Outcome != report.Deleted {
		t.Errorf("own image: %s %q (%s), want deleted", e.Outcome, e.Code, e.Message)
	}
	if e := got["cn-hangzhou/m-nothing"]; e.Outcome != report.Skipped || e.Code != "InvalidImageId.NotFound" {
		t.Errorf("missing image: %s %q, want skipped InvalidImageId.NotFound", e.Outcome, e.Code)
	}
	if n := deletesOf(h.srv)["m-market"]; n != 0 {
		t.Errorf("%d DeleteImage sent for the marketplace image", n)
	}
	if _, ok := h.srv.Image("cn-hangzhou", "m-market"); !ok {
		t.Error("the marketplace image is gone")
	}
}
