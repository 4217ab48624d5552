package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// byID indexes a report by image id.
func byID(rep *report.Report) map[string]report.Entry {
	m := map[string]report.Entry{}
	for _, e := range rep.Images {
		m[e.ImageID] = e
	}
	return m
}

// deletesOf counts the DeleteImage requests, dry or real, sent for each image.
func deletesOf(srv *ecstest.Server) map[string]int {
	m := map[string]int{}
	for _, c := range srv.Calls() {
		if c.Action == "DeleteImage" {
			m[c.ImageID]++
		}
	}
	return m
}

// fillerTemplates are n launch templates of one version each, naming images that do not exist,
// so that the listing takes more than one page.
func fillerTemplates(n int) []ecstest.LaunchTemplate {
	var out []ecstest.LaunchTemplate
	for i := 0; i < n; i++ {
		out = append(out, ecstest.LaunchTemplate{ID: fmt.Sprintf("lt-fill%03d", i), Name: fmt.Sprintf("fill-%03d", i),
			Versions: []ecstest.LaunchTemplateVersion{{ImageID: fmt.Sprintf("m-elsewhere%03d", i)}}})
	}
	return out
}

// TestKeptWhenANonDefaultNonLatestVersionNamesIt: an image that only version 42 of a template
// with 80 versions names (default 7, latest 80, on the second page of versions, the template on
// the second page of templates) is kept, plan and apply alike, and never gets a DeleteImage.
func TestKeptWhenANonDefaultNonLatestVersionNamesIt(t *testing.T) {
	st := simpleState(6, "cn-hangzhou")
	imgs := st.Regions["cn-hangzhou"].Images
	kept, keptExplicit := imgs[1].ID, imgs[4].ID
	tpl := ecstest.LaunchTemplate{ID: "lt-web", Name: "web", DefaultVersion: 7}
	for v := 1; v <= 80; v++ {
		tpl.Versions = append(tpl.Versions, ecstest.LaunchTemplateVersion{ImageID: "m-current"})
	}
	tpl.Versions[41].ImageID = kept
	// An explicit id is kept all the same, here by its template's default version.
	other := ecstest.LaunchTemplate{ID: "lt-zzz", Name: "zzz", Versions: []ecstest.LaunchTemplateVersion{{ImageID: keptExplicit}, {ImageID: "m-current"}}}
	st.Regions["cn-hangzhou"].LaunchTemplates = append(fillerTemplates(55), tpl, other)
	pol := fmt.Sprintf("version: 1\nconcurrency: 4\nregions:\n  - region: cn-hangzhou\n    image_ids: [%s]\n    select:\n      older_than: 30d\n", keptExplicit)
	h := newHarness(t, st, ecstest.Options{}, pol)

	for _, command := range []string{runner.Plan, runner.Apply} {
		rep := h.run(t, command, nil)
		got := byID(rep)
		for id, want := range map[string][]string{kept: {"lt-web:42"}, keptExplicit: {"lt-zzz:1"}} {
			e := got[id]
			if e.Outcome != report.Skipped || e.Code != runner.CodeReferencedByLaunchTemplate || !slices.Equal(e.ReferencedBy, want) {
				t.Errorf("%s %s: %s %q %v (%s), want skipped %s %v", command, id, e.Outcome, e.Code, e.ReferencedBy, e.Message, runner.CodeReferencedByLaunchTemplate, want)
			}
			if !strings.Contains(e.Message, want[0]) {
				t.Errorf("%s %s: message %q does not name %s", command, id, e.Message, want[0])
			}
		}
		wantOther := report.WouldDelete
		if command == runner.Apply {
			wantOther = report.Deleted
		}
		for _, img := range imgs {
			if img.ID != kept && img.ID != keptExplicit && got[img.ID].Outcome != wantOther {
				t.Errorf("%s %s: %s %q, want %s", command, img.ID, got[img.ID].Outcome, got[img.ID].Code, wantOther)
			}
		}
	}
	if n := deletesOf(h.srv); n[kept] != 0 || n[keptExplicit] != 0 {
		t.Errorf("DeleteImage sent for a referenced image: %v", n)
	}
	for _, id := range []string{kept, keptExplicit} {
		if _, ok := h.srv.Image("cn-hangzhou", id); !ok {
			t.Errorf("%s was deleted", id)
		}
	}
	// Every template's versions were read, every page of them.
	versionPages := map[string]int{}
	for _, c := range h.srv.Calls() {
		if c.Action == "DescribeLaunchTemplateVersions" {
			versionPages[c.Params["LaunchTemplateId"]]++
		}
	}
	if len(versionPages) != 57 || versionPages["lt-web"] != 2*2 { // two runs, two pages each
		t.Errorf("versions read for %d templates (want 57), lt-web in %d pages (want 4)", len(versionPages), versionPages["lt-web"])
	}
}

// TestKeptWhenAScalingConfigurationNamesIt: an image named by an Auto Scaling scaling
// configuration, active or not, is kept; one named by a template version and a scaling
// configuration carries both.
func TestKeptWhenAScalingConfigurationNamesIt(t *testing.T) {
	st := simpleState(5, "cn-hangzhou")
	imgs := st.Regions["cn-hangzhou"].Images
	reg := st.Regions["cn-hangzhou"]
	for i := 0; i < 60; i++ {
		reg.ScalingConfigurations = append(reg.ScalingConfigurations, ecstest.ScalingConfiguration{
			ID: fmt.Sprintf("asc-fill%02d", i), ScalingGroupID: "asg-fill", ImageID: "m-elsewhere"})
	}
	reg.ScalingConfigurations = append(reg.ScalingConfigurations,
		ecstest.ScalingConfiguration{ID: "asc-web", ScalingGroupID: "asg-web", ImageID: imgs[0].ID},
		ecstest.ScalingConfiguration{ID: "asc-old", ScalingGroupID: "asg-web", ImageID: imgs[1].ID, LifecycleState: "Inactive"},
		ecstest.ScalingConfiguration{ID: "asc-both", ScalingGroupID: "asg-both", ImageID: imgs[2].ID})
	reg.LaunchTemplates = []ecstest.LaunchTemplate{{ID: "lt-both", Versions: []ecstest.LaunchTemplateVersion{{ImageID: imgs[2].ID}}}}
	h := newHarness(t, st, ecstest.Options{}, simplePolicy(4, "", "cn-hangzhou"))
	rep := h.run(t, runner.Apply, nil)
	got := byID(rep)
	for id, w := range map[string]struct {
		code string
		refs []string
	}{
		imgs[0].ID: {runner.CodeReferencedByScalingConfiguration, []string{"asc-web"}},
		imgs[1].ID: {runner.CodeReferencedByScalingConfiguration, []string{"asc-old"}},
		imgs[2].ID: {runner.CodeReferencedByLaunchTemplate, []string{"lt-both:1", "asc-both"}},
	} {
		if e := got[id]; e.Outcome != report.Skipped || e.Code != w.code || !slices.Equal(e.ReferencedBy, w.refs) {
			t.Errorf("%s: %s %q %v, want skipped %s %v", id, e.Outcome, e.Code, e.ReferencedBy, w.code, w.refs)
		}
	}
	if rep.Summary.Deleted != 2 || rep.Summary.Skipped != 3 {
		t.Errorf("summary %+v", rep.Summary)
	}
	if n := deletesOf(h.srv); n[imgs[0].ID]+n[imgs[1].ID]+n[imgs[2].ID] != 0 {
		t.Errorf("DeleteImage sent for a referenced image: %v", n)
	}
	var ess []ecstest.Call
	for _, c := range h.srv.Calls() {
		if c.Action == "DescribeScalingConfigurations" {
			ess = append(ess, c)
		}
	}
	if len(ess) != 2 || ess[0].Version != ecs.ESSAPIVersion || ess[0].Status != 200 {
		t.Errorf("%d DescribeScalingConfigurations calls (want 2 pages): %+v", len(ess), ess)
	}
}

// TestUnreadableReferencesKeepTheRegion: when a region's references cannot be read, refused or
// failing past every retry, none of its images gets a DeleteImage: they end not_attempted with
// the code, the run warns, and the other region goes on.
func TestUnreadableReferencesKeepTheRegion(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts ecstest.Options
		code string
	}{
		{"ESS refused", ecstest.Options{Deny: map[string]string{"cn-hangzhou/DescribeScalingConfigurations": "Forbidden.RAM"}}, "Forbidden.RAM"},
		{"template versions refused", ecstest.Options{Deny: map[string]string{"cn-hangzhou/DescribeLaunchTemplateVersions": "Forbidden.RAM"}}, "Forbidden.RAM"},
		{"templates refused", ecstest.Options{Deny: map[string]string{"cn-hangzhou/DescribeLaunchTemplates": "InvalidAccessKeyId.NotFound"}}, "InvalidAccessKeyId.NotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := simpleState(10, "cn-hangzhou", "cn-shanghai")
			st.Regions["cn-hangzhou"].LaunchTemplates = fillerTemplates(3)
			h := newHarness(t, st, tc.opts, simplePolicy(4, "", "cn-hangzhou", "cn-shanghai"))
			rep := h.run(t, runner.Apply, nil)
			checkUnreadable(t, h, rep, "cn-hangzhou", tc.code)
			if sh := rep.Regions["cn-shanghai"].Summary; sh.Deleted != 10 {
				t.Errorf("cn-shanghai %+v: the other region must go on", sh)
			}
		})
	}
	// An ESS that answers only 500s: retried like any read, MaxAttempts error answers, then the
	// region gives up and deletes nothing.
	t.Run("ESS failing", func(t *testing.T) {
		st := simpleState(10, "cn-hangzhou")
		h := newHarness(t, st, ecstest.Options{Faults: map[string]ecstest.Faults{"DescribeScalingConfigurations": {InternalErrorRatio: 1}}},
			simplePolicy(4, "", "cn-hangzhou"))
		rep := h.run(t, runner.Apply, func(c *runner.Config) { c.Retry.MaxAttempts = 5 })
		checkUnreadable(t, h, rep, "cn-hangzhou", "InternalError")
		n := 0
		for _, c := range h.srv.Calls() {
			if c.Action == "DescribeScalingConfigurations" {
				n++
			}
		}
		if n != 5 {
			t.Errorf("%d DescribeScalingConfigurations attempts, want 5", n)
		}
	})
}

func checkUnreadable(t *testing.T, h *harness, rep *report.Report, region, code string) {
	t.Helper()
	if s := rep.Regions[region].Summary; s.NotAttempted != 10 || s.Selected != 10 {
		t.Errorf("%s %+v, want all 10 not_attempted", region, s)
	}
	for _, e := range rep.Images {
		if e.Region == region && (e.Outcome != report.NotAttempted || e.Code != code || e.Attempts != 0) {
			t.Errorf("%s: %s %q after %d attempts, want not_attempted %s", e.ImageID, e.Outcome, e.Code, e.Attempts, code)
		}
	}
	for _, c := range h.srv.Calls() {
		if c.Action == "DeleteImage" && c.Region == region {
			t.Fatalf("DeleteImage (dry %v) sent in %s though its references could not be read", c.DryRun, region)
		}
	}
	found := false
	for _, w := range rep.Warnings {
		found = found || strings.HasPrefix(w, region+": could not read what still names its images ("+code+")")
	}
	if !found {
		t.Errorf("no warning for %s in %q", region, rep.Warnings)
	}
	if rep.Status != report.StatusCompleted || rep.Fault != "" {
		t.Errorf("status %s fault %q: one region's references stop that region only", rep.Status, rep.Fault)
	}
}

// TestProtectReferencedOff: protect.referenced: false deletes a referenced image, as the service
// allows, and reads no references at all; a region's own setting wins over the policy's.
func TestProtectReferencedOff(t *testing.T) {
	st := simpleState(3, "cn-hangzhou", "cn-shanghai")
	for _, region := range []string{"cn-hangzhou", "cn-shanghai"} {
		reg := st.Regions[region]
		reg.LaunchTemplates = []ecstest.LaunchTemplate{{ID: "lt-a", Versions: []ecstest.LaunchTemplateVersion{{ImageID: reg.Images[0].ID}}}}
		reg.ScalingConfigurations = []ecstest.ScalingConfiguration{{ID: "asc-a", ImageID: reg.Images[1].ID}}
	}
	pol := "version: 1\nregions:\n  - region: cn-hangzhou\n    select: {older_than: 30d}\n" +
		"  - region: cn-shanghai\n    select: {older_than: 30d}\n    protect: {referenced: true}\n" +
		"protect:\n  referenced: false\n"
	h := newHarness(t, st, ecstest.Options{}, pol)
	rep := h.run(t, runner.Apply, nil)
	if hz := rep.Regions["cn-hangzhou"].Summary; hz.Deleted != 3 {
		t.Errorf("cn-hangzhou %+v: with referenced: false every image goes", hz)
	}
	if sh := rep.Regions["cn-shanghai"].Summary; sh.Deleted != 1 || sh.Skipped != 2 {
		t.Errorf("cn-shanghai %+v: its own referenced: true keeps two", sh)
	}
	for _, c := range h.srv.Calls() {
		if c.Region == "cn-hangzhou" && slices.Contains([]string{"DescribeLaunchTemplates", "DescribeLaunchTemplateVersions", "DescribeScalingConfigurations"}, c.Action) {
			t.Errorf("%s sent in cn-hangzhou, where the check is off", c.Action)
		}
	}
}

// TestLastInFamily: last_in_family marks exactly the deletions that leave a family without an
// Available image, and the report and summary warn once per such family.
func TestLastInFamily(t *testing.T) {
	old := now.Add(-90 * 24 * time.Hour)
	mk := func(id, family string) ecstest.Image {
		return ecstest.Image{ID: id, Name: "ci-" + id[2:], Family: family, CreationTime: old}
	}
	young := mk("m-young", "kept")
	young.CreationTime = now.Add(-time.Hour)
	used := mk("m-used", "blocked")
	dep := mk("m-dep", "deprecated")
	dep.Status = ecs.StatusDeprecated
	st := &ecstest.State{Regions: map[string]*ecstest.Region{
		"cn-hangzhou": {
			Images: []ecstest.Image{
				mk("m-gone1", "gone"), mk("m-gone2", "gone"), // both deleted: the family is emptied
				mk("m-kept1", "kept"), young, // the young one stays
				mk("m-blk1", "blocked"), used, // the used one is refused: it stays
				mk("m-ref1", "referenced"), mk("m-ref2", "referenced"), // m-ref2 is kept by a template
				mk("m-lone", "lone"),            // alone in its family
				mk("m-dep1", "deprecated"), dep, // a Deprecated image launches nothing
				mk("m-nofam", ""),
			},
			Instances:       []ecstest.Instance{{ID: "i-1", ImageID: "m-used"}},
			LaunchTemplates: []ecstest.LaunchTemplate{{ID: "lt-a", Versions: []ecstest.LaunchTemplateVersion{{ImageID: "m-ref2"}}}},
		},
		"cn-shanghai": {Images: []ecstest.Image{mk("m-gone1", "gone"), mk("m-sh2", "gone")}},
	}}
	pol := "version: 1\nregions:\n  - region: cn-hangzhou\n    select: {name: \"ci-*\", older_than: 30d}\n" +
		"  - region: cn-shanghai\n    image_ids: [m-gone1]\n"
	h := newHarness(t, st, ecstest.Options{}, pol)
	want := map[string]bool{"cn-hangzhou/m-gone1": true, "cn-hangzhou/m-gone2": true, "cn-hangzhou/m-lone": true, "cn-hangzhou/m-dep1": true}
	for _, command := range []string{runner.Plan, runner.Apply} {
		rep := h.run(t, command, nil)
		for _, e := range rep.Images {
			if key := e.Region + "/" + e.ImageID; e.LastInFamily != want[key] {
				t.Errorf("%s %s (%s): last_in_family %v, want %v", command, key, e.Outcome, e.LastInFamily, want[key])
			}
		}
		verb := map[string]string{runner.Plan: "would leave", runner.Apply: "left"}[command]
		wantWarnings := []string{
			"cn-hangzhou: deleting m-dep1 " + verb + " image family deprecated without an Available image",
			"cn-hangzhou: deleting m-gone1, m-gone2 " + verb + " image family gone without an Available image",
			"cn-hangzhou: deleting m-lone " + verb + " image family lone without an Available image",
		}
		var got []string
		for _, w := range rep.Warnings {
			if strings.Contains(w, "image family") {
				got = append(got, w)
			}
		}
		if len(got) != len(wantWarnings) {
			t.Fatalf("%s warnings %q, want %d about families", command, rep.Warnings, len(wantWarnings))
		}
		for i, w := range wantWarnings {
			if !strings.HasPrefix(got[i], w) {
				t.Errorf("%s warning %q, want it to start %q", command, got[i], w)
			}
		}
	}
	// The selection's listing has every Available image older than its cut-off: the families
	// are read from it, and only the younger images are listed again (m-young is one).
	youngReads := 0
	for _, c := range h.srv.Calls() {
		if c.Action != "DescribeImages" || c.Region != "cn-hangzhou" || c.Params["ImageId"] != "" {
			continue
		}
		switch {
		case c.Params["Filter.1.Key"] == "CreationStartTime" || c.Params["Filter.2.Key"] == "CreationStartTime":
			youngReads++
		case c.Params["Status"] == ecs.StatusAvailable:
			t.Errorf("a full listing of the Available images for the families: %v", c.Params)
		}
	}
	if youngReads != 2 {
		t.Errorf("%d listings of the young Available images, want one a run", youngReads)
	}
}

// ramDocument is a RAM policy document: its Allow statements, each action with the resources
// it is granted on ("*", or an ARN pattern with * wildcards).
type ramDocument map[string][]string

// loadRAM reads RAM policy documents and returns what their Allow statements grant together.
func loadRAM(t *testing.T, paths ...string) ramDocument {
	t.Helper()
	grants := ramDocument{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Version   string
			Statement []struct {
				Effect   string
				Action   []string
				Resource any
			}
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if doc.Version != "1" {
			t.Errorf("%s: Version %q, want \"1\"", p, doc.Version)
		}
		for _, st := range doc.Statement {
			if st.Effect != "Allow" {
				continue
			}
			var resources []string
			switch r := st.Resource.(type) {
			case string:
				resources = []string{r}
			case []any:
				for _, v := range r {
					s, _ := v.(string)
					resources = append(resources, s)
				}
			}
			for _, a := range st.Action {
				grants[a] = append(grants[a], resources...)
			}
		}
	}
	return grants
}

// ramResource is the resource RAM checks a call against: the ARN of the image or snapshot for
// the actions ECS's RAM table gives a resource type, "*" for the list actions, which have none.
func ramResource(c ecstest.Call) string {
	switch c.Action {
	case "DeleteImage", "DescribeImageSharePermission", "ModifyImageAttribute":
		return "acs:ecs:" + c.Region + ":1234567890123456:image/" + c.Params["ImageId"]
	case "DeleteSnapshot":
		return "acs:ecs:" + c.Region + ":1234567890123456:snapshot/" + c.Params["SnapshotId"]
	}
	return "*"
}

// grants reports whether the documents allow an action on a resource. A pattern's * matches any
// run of characters, as in RAM; a list action's "*" is granted only by a Resource of "*".
func (d ramDocument) grants(action, resource string) bool {
	for _, pattern := range d[action] {
		if pattern == "*" {
			return true
		}
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
		if resource != "*" && regexp.MustCompile(re).MatchString(resource) {
			return true
		}
	}
	return false
}

// checkGranted fails for every call the run sent that the documents do not allow.
func checkGranted(t *testing.T, srv *ecstest.Server, docs ramDocument, names string) map[string]bool {
	t.Helper()
	sent := map[string]bool{}
	for _, c := range srv.Calls() {
		prefix := "ecs:"
		if c.Version == ecs.ESSAPIVersion {
			prefix = "ess:"
		}
		a := prefix + c.Action
		if res := ramResource(c); !docs.grants(a, res) && !sent[a] {
			t.Errorf("the job sends %s on %s but %s does not allow it", a, res, names)
		}
		sent[a] = true
	}
	return sent
}

// TestRAMPolicyCoversEveryCall: examples/ram-policy.json and the optional documents beside it
// (ram-policy-*.json) together allow every action a plan and an apply send with every feature
// on (references, blockers, delete_snapshots), ESS's under its own service prefix and each on the
// resource it names, so that a user who applies them meets no refusal.
func TestRAMPolicyCoversEveryCall(t *testing.T) {
	paths, err := filepath.Glob("../examples/ram-policy*.json")
	if err != nil || len(paths) < 2 {
		t.Fatalf("ram policies %v, %v", paths, err)
	}
	docs := loadRAM(t, paths...)
	st, err := ecstest.LoadState("../examples/emulator-state.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := os.ReadFile("../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, st, ecstest.Options{}, string(pol))
	// The command checks the policy's regions first (DescribeRegions), then runs.
	if _, err := h.client.Regions(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, command := range []string{runner.Plan, runner.Apply} {
		h.run(t, command, func(c *runner.Config) { c.Blockers = true })
	}
	sent := checkGranted(t, h.srv, docs, strings.Join(paths, " + "))
	// Staged retention: the same account and policy, deprecating first, then restoring.
	staged := newHarness(t, st, ecstest.Options{}, string(pol)+"deprecate_first: 14d\n")
	for _, command := range []string{runner.Plan, runner.Apply, runner.Restore} {
		staged.run(t, command, nil)
	}
	for a := range checkGranted(t, staged.srv, docs, strings.Join(paths, " + ")) {
		sent[a] = true
	}
	for _, a := range []string{"ecs:DescribeRegions", "ecs:DescribeImages", "ecs:DeleteImage", "ecs:DescribeLaunchTemplates", "ecs:DescribeLaunchTemplateVersions",
		"ess:DescribeScalingConfigurations", "ecs:DescribeInstances", "ecs:DescribeImageSharePermission", "ecs:DeleteSnapshot",
		"ecs:ModifyImageAttribute", "ecs:TagResources", "ecs:UntagResources"} {
		if !sent[a] {
			t.Errorf("the run never sent %s: the test does not cover it", a)
		}
	}
	// No document grants more than the job sends.
	for a := range docs {
		if !sent[a] {
			t.Errorf("the RAM documents allow %s, which the job never sends", a)
		}
	}
}

// TestRAMRequiredPolicyAlone: examples/ram-policy.json alone covers a plan and an apply with
// every optional feature off: protect.referenced false, no delete_snapshots, no --blockers.
func TestRAMRequiredPolicyAlone(t *testing.T) {
	docs := loadRAM(t, "../examples/ram-policy.json")
	st := simpleState(3, "cn-hangzhou")
	st.Regions["cn-hangzhou"].LaunchTemplates = fillerTemplates(2)
	h := newHarness(t, st, ecstest.Options{}, simplePolicy(2, "protect:\n  referenced: false\nlimits:\n  max_deletion_percent: 100\n", "cn-hangzhou"))
	h.run(t, runner.Plan, nil)
	h.run(t, runner.Apply, nil)
	sent := checkGranted(t, h.srv, docs, "examples/ram-policy.json")
	if !sent["ecs:DeleteImage"] || !sent["ecs:DescribeImages"] {
		t.Errorf("the run sent only %v", sent)
	}
}

// TestFamiliesFromAListingWithoutCutOff: a selection without older_than lists every own
// Available image, so the families come from it alone: no second listing, and none with a
// CreationStartTime made of a cut-off it does not have.
func TestFamiliesFromAListingWithoutCutOff(t *testing.T) {
	old := now.Add(-90 * 24 * time.Hour)
	st := &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {Images: []ecstest.Image{
		{ID: "m-gone", Name: "ci-gone", Family: "gone", CreationTime: old},
		{ID: "m-kept", Name: "ci-kept", Family: "kept", CreationTime: old},
		{ID: "m-other", Name: "app-other", Family: "kept", CreationTime: old},
	}}}}
	h := newHarness(t, st, ecstest.Options{}, "version: 1\nregions:\n  - region: cn-hangzhou\n    select: {name: \"ci-*\"}\n")
	rep := h.run(t, runner.Plan, nil)
	for _, e := range rep.Images {
		if want := e.ImageID == "m-gone"; e.LastInFamily != want {
			t.Errorf("%s: last_in_family %v, want %v", e.ImageID, e.LastInFamily, want)
		}
	}
	listings := 0
	for _, c := range h.srv.Calls() {
		if c.Action != "DescribeImages" || c.Params["ImageId"] != "" {
			continue
		}
		listings++
		for k, v := range c.Params {
			if strings.HasPrefix(k, "Filter.") && v == "CreationStartTime" {
				t.Errorf("a listing with a CreationStartTime filter: %v", c.Params)
			}
		}
	}
	if listings != 1 {
		t.Errorf("%d listings of the region, want the selection's alone", listings)
	}
}
