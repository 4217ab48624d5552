package runner_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// oldImage is a self-owned Available image that `older_than: 30d` selects.
func oldImage(id string, snapshots ...string) ecstest.Image {
	return ecstest.Image{ID: id, Name: "ci-" + strings.TrimPrefix(id, "m-"), CreationTime: now.Add(-90 * 24 * time.Hour),
		SizeGiB: 20, Snapshots: snapshots}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i+1)
	}
	return out
}

func entries(rep *report.Report) map[string]report.Entry {
	m := map[string]report.Entry{}
	for _, e := range rep.Images {
		m[e.Region+"/"+e.ImageID] = e
	}
	return m
}

// lookupCalls counts a region's calls of an action per image id.
func lookupCalls(srv *ecstest.Server, action string) map[string]int {
	m := map[string]int{}
	for _, c := range srv.Calls() {
		if c.Action == action {
			m[c.Params["ImageId"]]++
		}
	}
	return m
}

// blockerState holds one blocked image of every kind, and one deletable image.
func blockerState() *ecstest.State {
	reg := &ecstest.Region{}
	// 250 instances: three pages of DescribeInstances at 100 a page. Listed out of order.
	for i := 250; i >= 1; i-- {
		reg.Instances = append(reg.Instances, ecstest.Instance{ID: fmt.Sprintf("i-u%04d", i), ImageID: "m-used250"})
	}
	reg.Instances = append(reg.Instances, ecstest.Instance{ID: "i-stopped", ImageID: "m-usedstopped", Status: "Stopped"})
	used250, stopped := oldImage("m-used250"), oldImage("m-usedstopped")
	shared := oldImage("m-shared2")
	shared.SharedWith = []string{"2222222222", "1111111111"}
	all := oldImage("m-sharedall")
	all.SharedToAll = true
	all.SharedWith = ids("3", 150) // two pages of DescribeImageSharePermission
	copying, importing, exporting, public := oldImage("m-copy"), oldImage("m-import"), oldImage("m-export"), oldImage("m-public")
	copying.Copying, importing.Importing, exporting.Exporting, public.IsPublic = true, true, true, true
	reg.Images = []ecstest.Image{used250, stopped, shared, all, copying, importing, exporting, public, oldImage("m-free")}
	return &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": reg}}
}

// TestBlockersOfEachKind: plan looks up what holds each blocked image, every page of it, and
// gives every code its remediation; codes without a lookup send none.
func TestBlockersOfEachKind(t *testing.T) {
	h := newHarness(t, blockerState(), ecstest.Options{}, simplePolicy(4, "", "cn-hangzhou"))
	rep := h.run(t, runner.Plan, func(c *runner.Config) { c.Blockers = true })
	got := entries(rep)
	wantCodes := map[string]string{
		"m-used250": "ImageUsingByInstance", "m-usedstopped": "ImageUsingByInstance",
		"m-shared2": "ImageUseShared", "m-sharedall": "ImageUseShared",
		"m-copy": "OperationDenied.ImageCopying", "m-import": "ImageIsImporting", "m-export": "ImageIsExporting",
		"m-public": "ImageIsPublic",
	}
	for id, code := range wantCodes {
		e := got["cn-hangzhou/"+id]
		if e.Outcome != report.Blocked || e.Code != code {
			t.Errorf("%s: %s %s, want blocked %s", id, e.Outcome, e.Code, code)
			continue
		}
		b := e.Blockers
		if b == nil {
			t.Errorf("%s: no blockers", id)
			continue
		}
		if b.Remediation == "" || b.Remediation != ecs.Remediation(code) {
			t.Errorf("%s: remediation %q", id, b.Remediation)
		}
		if b.LookupError != "" {
			t.Errorf("%s: lookup error %q", id, b.LookupError)
		}
	}
	if e := got["cn-hangzhou/m-free"]; e.Outcome != report.WouldDelete || e.Blockers != nil {
		t.Errorf("m-free: %+v", e)
	}
	if b := got["cn-hangzhou/m-used250"].Blockers; !slices.Equal(b.Instances, ids("i-u", 250)) {
		t.Errorf("m-used250: %d instances %v", len(b.Instances), b.Instances)
	}
	if b := got["cn-hangzhou/m-usedstopped"].Blockers; !slices.Equal(b.Instances, []string{"i-stopped"}) {
		t.Errorf("m-usedstopped: a stopped instance holds the image too: %v", b.Instances)
	}
	if b := got["cn-hangzhou/m-shared2"].Blockers; !slices.Equal(b.SharedWith, []string{"1111111111", "2222222222"}) || b.PublishedToAll {
		t.Errorf("m-shared2: %+v", b)
	}
	if b := got["cn-hangzhou/m-sharedall"].Blockers; !slices.Equal(b.SharedWith, ids("3", 150)) || !b.PublishedToAll {
		t.Errorf("m-sharedall: %d accounts, published %v", len(b.SharedWith), b.PublishedToAll)
	}
	for _, id := range []string{"m-copy", "m-import", "m-export", "m-public"} {
		if b := got["cn-hangzhou/"+id].Blockers; len(b.Instances)+len(b.SharedWith) > 0 || b.PublishedToAll {
			t.Errorf("%s: %+v", id, b)
		}
	}

	inst := lookupCalls(h.srv, "DescribeInstances")
	if inst["m-used250"] != 3 || inst["m-usedstopped"] != 1 || len(inst) != 2 {
		t.Errorf("DescribeInstances calls per image: %v (want every page of the two images in use, nothing else)", inst)
	}
	share := lookupCalls(h.srv, "DescribeImageSharePermission")
	if share["m-shared2"] != 1 || share["m-sharedall"] != 2 || len(share) != 2 {
		t.Errorf("DescribeImageSharePermission calls per image: %v", share)
	}
	for _, c := range h.srv.Calls() {
		if c.Action == "DescribeInstances" && c.Params["NextToken"] == "" && c.Params["ImageId"] == "" {
			t.Errorf("DescribeInstances without ImageId: %v", c.Params)
		}
	}
}

// TestBlockersSwitchedOff: without the lookups, nothing but the job's usual calls is sent, and
// blocked images still carry their remediation.
func TestBlockersSwitchedOff(t *testing.T) {
	h := newHarness(t, blockerState(), ecstest.Options{}, simplePolicy(4, "", "cn-hangzhou"))
	rep := h.run(t, runner.Plan, nil)
	for _, c := range h.srv.Calls() {
		switch c.Action {
		case "DescribeImages", "DeleteImage", // the job itself
			"DescribeLaunchTemplates", "DescribeLaunchTemplateVersions", "DescribeScalingConfigurations": // protect.referenced
		default:
			t.Errorf("%s sent with blockers off", c.Action)
		}
	}
	n := 0
	for _, e := range rep.Images {
		if e.Outcome != report.Blocked {
			continue
		}
		n++
		if b := e.Blockers; b == nil || b.Remediation != ecs.Remediation(e.Code) || b.LookupError != "" || len(b.Instances)+len(b.SharedWith) > 0 {
			t.Errorf("%s: blockers %+v", e.ImageID, e.Blockers)
		}
	}
	if n != 8 {
		t.Errorf("%d blocked images, want 8", n)
	}
}

// TestBlockerLookupsRetryAndShareTheLimit: the lookups are retried like any read and stay within
// the one concurrency limit with everything else.
func TestBlockerLookupsRetryAndShareTheLimit(t *testing.T) {
	reg := &ecstest.Region{}
	for i, id := range ids("m-u", 40) {
		reg.Images = append(reg.Images, oldImage(id))
		reg.Instances = append(reg.Instances, ecstest.Instance{ID: fmt.Sprintf("i-%04d", i), ImageID: id})
	}
	for _, id := range ids("m-s", 40) {
		img := oldImage(id)
		img.SharedWith = []string{"1234567890"}
		reg.Images = append(reg.Images, img)
	}
	flaky := ecstest.Faults{Latency: 2 * time.Millisecond, InternalErrorRatio: 0.3, ThrottleRatio: 0.2}
	h := newHarness(t, &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": reg}}, ecstest.Options{Seed: 7,
		Faults: map[string]ecstest.Faults{"*": {Latency: 2 * time.Millisecond}, "DescribeInstances": flaky, "DescribeImageSharePermission": flaky}},
		simplePolicy(3, "", "cn-hangzhou"))
	rep := h.run(t, runner.Plan, func(c *runner.Config) { c.Blockers = true })
	for _, e := range rep.Images {
		b := e.Blockers
		switch {
		case b == nil || b.LookupError != "":
			t.Errorf("%s: %+v", e.ImageID, b)
		case strings.HasPrefix(e.ImageID, "m-u") && len(b.Instances) != 1:
			t.Errorf("%s: instances %v", e.ImageID, b.Instances)
		case strings.HasPrefix(e.ImageID, "m-s") && !slices.Equal(b.SharedWith, []string{"1234567890"}):
			t.Errorf("%s: shared with %v", e.ImageID, b.SharedWith)
		}
	}
	retried := 0
	for _, calls := range []map[string]int{lookupCalls(h.srv, "DescribeInstances"), lookupCalls(h.srv, "DescribeImageSharePermission")} {
		for _, n := range calls {
			retried += n - 1
		}
	}
	if retried == 0 {
		t.Error("no lookup was retried, yet a third of the answers were errors")
	}
	if peak := h.srv.PeakInFlight(); peak > 3 {
		t.Errorf("%d requests in flight at once, over the concurrency of 3", peak)
	}
}

// TestBlockerLookupRefusedStopsTheRegion: a lookup the RAM policy does not allow is asked a few
// times, not once per image; the images stay blocked and the report says why the rest were not
// looked up. The other region is not affected.
func TestBlockerLookupRefusedStopsTheRegion(t *testing.T) {
	st := &ecstest.State{Regions: map[string]*ecstest.Region{}}
	for _, region := range []string{"cn-hangzhou", "cn-shanghai"} {
		reg := &ecstest.Region{}
		for i, id := range ids("m-"+region[3:5], 30) {
			reg.Images = append(reg.Images, oldImage(id))
			reg.Instances = append(reg.Instances, ecstest.Instance{ID: fmt.Sprintf("i-%s%04d", region[3:5], i), ImageID: id})
		}
		st.Regions[region] = reg
	}
	const concurrency = 2
	h := newHarness(t, st, ecstest.Options{Deny: map[string]string{"cn-hangzhou/DescribeInstances": "Forbidden.RAM"}},
		simplePolicy(concurrency, "", "cn-hangzhou", "cn-shanghai"))
	rep := h.run(t, runner.Plan, func(c *runner.Config) { c.Blockers = true })
	refused, skipped := 0, 0
	for _, e := range rep.Images {
		if e.Outcome != report.Blocked || e.Code != "ImageUsingByInstance" {
			t.Errorf("%s: %s %s: a failed lookup must not change the outcome", e.ImageID, e.Outcome, e.Code)
		}
		b := e.Blockers
		switch {
		case e.Region == "cn-shanghai":
			if b.LookupError != "" || len(b.Instances) != 1 {
				t.Errorf("%s: %+v", e.ImageID, b)
			}
		case strings.HasPrefix(b.LookupError, "DescribeInstances: Forbidden.RAM"):
			refused++
		case b.LookupError == "not looked up: cn-hangzhou: DescribeInstances stopped after 3 consecutive Forbidden.RAM answers":
			skipped++
		default:
			t.Errorf("%s: %+v", e.ImageID, b)
		}
	}
	if refused < 3 || refused > 3+concurrency || refused+skipped != 30 {
		t.Errorf("%d lookups refused, %d not made; want 3..%d refused and the rest not made", refused, skipped, 3+concurrency)
	}
	sent := 0
	for _, c := range h.srv.Calls() {
		if c.Action == "DescribeInstances" && c.Region == "cn-hangzhou" {
			sent++
		}
	}
	if sent != refused {
		t.Errorf("%d DescribeInstances sent, %d reported refused", sent, refused)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "DescribeInstances stopped") {
		t.Errorf("warnings %q", rep.Warnings)
	}
}
