package runner_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// propRegions are the regions a generated account may have.
var propRegions = []string{"cn-hangzhou", "cn-shanghai"}

// propCase is one generated account, policy and set of faults, with what the policy must make
// of every image, derived here from the rules rather than by the policy package.
type propCase struct {
	state  *ecstest.State
	policy string
	opts   ecstest.Options
	// maxAttempts is the runner's error answers per image: 8 (the default) mostly, sometimes
	// fewer, so that images also end failed and unknown results are left unresolved.
	maxAttempts int
	// entries is every "region/id" the report must hold, with the outcomes it may have.
	entries map[string]expect
	// checked is every "region/id" a DeleteImage (dry or real) may be sent for: selected, not
	// protected, the account's own, in a status that can be selected.
	checked map[string]bool
	// deletable is every "region/id" a real DeleteImage may succeed for: checked, and not
	// refused by the service (force overrides an instance using it, nothing else).
	deletable map[string]bool
	// force is the force setting of each region of the policy.
	force map[string]bool
	// explicit is each region's explicit ids, for regions whose listing fails.
	explicit map[string][]string
}

// expect is what one report entry may be.
type expect struct {
	kind string // "skipped", "refused" (the service refuses it), "deletable"
	code string // for skipped: the code it must carry ("" for protected)
}

// propImage is one generated image before it is placed in the state.
type propImage struct {
	img      ecstest.Image
	instance bool
}

func genCase(t *rapid.T) *propCase {
	c := &propCase{
		state:     &ecstest.State{Regions: map[string]*ecstest.Region{}},
		entries:   map[string]expect{},
		checked:   map[string]bool{},
		deletable: map[string]bool{},
		force:     map[string]bool{},
		explicit:  map[string][]string{},
	}
	nRegions := rapid.IntRange(1, len(propRegions)).Draw(t, "regions")
	regions := propRegions[:nRegions]
	images := map[string][]propImage{}
	var allIDs []string
	ages := []time.Duration{90 * 24 * time.Hour, 24 * time.Hour, 30 * 24 * time.Hour, 30*24*time.Hour + time.Second}
	for ri, region := range regions {
		reg := &ecstest.Region{}
		c.state.Regions[region] = reg
		n := rapid.IntRange(0, 12).Draw(t, region+".images")
		for i := 0; i < n; i++ {
			p := fmt.Sprintf("%s[%d].", region, i)
			id := fmt.Sprintf("m-r%di%d", ri, i)
			img := ecstest.Image{
				ID:           id,
				Name:         fmt.Sprintf("%s-%d", rapid.SampledFrom([]string{"ci", "golden", "web"}).Draw(t, p+"name"), i%3),
				Status:       rapid.SampledFrom([]string{ecs.StatusAvailable, ecs.StatusAvailable, ecs.StatusUnAvailable, ecs.StatusCreateFailed, ecs.StatusDeprecated, ecs.StatusCreating, ecs.StatusWaiting}).Draw(t, p+"status"),
				OwnerAlias:   rapid.SampledFrom([]string{ecs.OwnerSelf, ecs.OwnerSelf, ecs.OwnerSelf, ecs.OwnerSelf, ecs.OwnerSystem, ecs.OwnerOthers, ecs.OwnerMarketplace}).Draw(t, p+"owner"),
				CreationTime: now.Add(-rapid.SampledFrom(ages).Draw(t, p+"age")),
				Tags:         map[string]string{},
			}
			if team := rapid.SampledFrom([]string{"", "ci", "web"}).Draw(t, p+"team"); team != "" {
				img.Tags["team"] = team
			}
			if rapid.IntRange(0, 9).Draw(t, p+"keep") >= 8 {
				img.Tags["keep"] = "true"
			}
			// Refusal flags are rare, so that most images are deletable.
			pi := propImage{img: img}
			refusal := -1
			if rapid.IntRange(0, 99).Draw(t, p+"refused") >= 80 {
				refusal = rapid.IntRange(0, 6).Draw(t, p+"refusal")
			}
			switch refusal {
			case 0:
				pi.instance = true
			case 1:
				pi.img.SharedWith = []string{"1111"}
			case 2:
				pi.img.Copying = true
			case 3:
				pi.img.Importing = true
			case 4:
				pi.img.Exporting = true
			case 5:
				pi.img.IsPublic = true
			case 6:
				pi.img.SharedToAll = true
			}
			if pi.instance {
				reg.Instances = append(reg.Instances, ecstest.Instance{ID: "i-" + id[2:], ImageID: id, Status: "Running"})
			}
			reg.Images = append(reg.Images, pi.img)
			images[region] = append(images[region], pi)
			allIDs = append(allIDs, id)
		}
	}

	// The policy names a non-empty subset of the account's regions; images of the others must
	// never be touched.
	var inPolicy []string
	for _, region := range regions {
		if rapid.IntRange(0, 5).Draw(t, region+".in_policy") > 0 {
			inPolicy = append(inPolicy, region)
		}
	}
	if len(inPolicy) == 0 {
		inPolicy = regions[:1]
	}

	subset := func(label string, from []string, max int) []string {
		if len(from) == 0 {
			return nil
		}
		k := rapid.IntRange(0, min(max, len(from))).Draw(t, label+".n")
		picked := map[string]bool{}
		var out []string
		for j := 0; j < k; j++ {
			id := rapid.SampledFrom(from).Draw(t, fmt.Sprintf("%s[%d]", label, j))
			if !picked[id] {
				picked[id] = true
				out = append(out, id)
			}
		}
		return out
	}
	type protect struct {
		ids   []string
		tags  map[string]string
		names []string
	}
	genProtect := func(label string) protect {
		var pr protect
		// Protection is drawn rarely, so that most cases delete something.
		if rapid.IntRange(0, 3).Draw(t, label+".has_image_ids") == 3 {
			pr.ids = subset(label+".image_ids", allIDs, 3)
		}
		switch rapid.IntRange(0, 7).Draw(t, label+".tags") {
		case 6:
			pr.tags = map[string]string{"keep": "true"}
		case 7:
			pr.tags = map[string]string{"team": "web"}
		}
		if rapid.IntRange(0, 2).Draw(t, label+".has_names") == 2 {
			pr.names = subset(label+".names", []string{"golden-*", "*-1", "web-?"}, 2)
		}
		return pr
	}
	writeProtect := func(b *strings.Builder, indent string, pr protect) {
		if len(pr.ids) == 0 && pr.tags == nil && len(pr.names) == 0 {
			return
		}
		fmt.Fprintf(b, "%sprotect:\n", indent)
		if len(pr.ids) > 0 {
			fmt.Fprintf(b, "%s  image_ids: [%s]\n", indent, strings.Join(pr.ids, ", "))
		}
		for k, v := range pr.tags {
			fmt.Fprintf(b, "%s  tags: {%s: %q}\n", indent, k, v)
		}
		if len(pr.names) > 0 {
			fmt.Fprintf(b, "%s  names: [%s]\n", indent, quoteAll(pr.names))
		}
	}
	protects := func(pr protect, img ecstest.Image) bool {
		for _, id := range pr.ids {
			if id == img.ID {
				return true
			}
		}
		for k, v := range pr.tags {
			if got, ok := img.Tags[k]; ok && got == v {
				return true
			}
		}
		for _, g := range pr.names {
			if ok, _ := path.Match(g, img.Name); ok {
				return true
			}
		}
		return false
	}

	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nconcurrency: %d\nregions:\n", rapid.IntRange(1, 8).Draw(t, "concurrency"))
	type regionPolicy struct {
		explicit []string
		hasSel   bool
		name     string
		tags     map[string]string
		older    time.Duration
		protect  protect
	}
	rps := map[string]*regionPolicy{}
	for _, region := range inPolicy {
		rp := &regionPolicy{}
		rps[region] = rp
		fmt.Fprintf(&b, "  - region: %s\n", region)
		var own []string
		for _, pi := range images[region] {
			own = append(own, pi.img.ID)
		}
		// Explicit ids: the region's own, sometimes another region's (missing here), sometimes
		// one that exists nowhere.
		rp.explicit = subset(region+".image_ids", own, 4)
		if len(allIDs) > 0 && rapid.IntRange(0, 5).Draw(t, region+".foreign_id") == 0 {
			id := rapid.SampledFrom(allIDs).Draw(t, region+".foreign")
			if !contains(rp.explicit, id) {
				rp.explicit = append(rp.explicit, id)
			}
		}
		if rapid.IntRange(0, 5).Draw(t, region+".missing_id") == 0 {
			rp.explicit = append(rp.explicit, "m-missing"+region[3:4])
		}
		if len(rp.explicit) > 0 {
			fmt.Fprintf(&b, "    image_ids: [%s]\n", strings.Join(rp.explicit, ", "))
		}
		c.explicit[region] = rp.explicit
		rp.hasSel = len(rp.explicit) == 0 || rapid.IntRange(0, 3).Draw(t, region+".select") > 0
		if rp.hasSel {
			b.WriteString("    select:\n")
			if rapid.Bool().Draw(t, region+".select.has_name") {
				rp.name = rapid.SampledFrom([]string{"ci-*", "*-1", "golden-?", "web-*", "*"}).Draw(t, region+".select.name")
				fmt.Fprintf(&b, "      name: %q\n", rp.name)
			}
			switch rapid.IntRange(0, 3).Draw(t, region+".select.tags") {
			case 1:
				rp.tags = map[string]string{"team": "ci"}
			case 2:
				rp.tags = map[string]string{"team": "web"}
			case 3:
				rp.tags = map[string]string{"keep": "true"}
			}
			for k, v := range rp.tags {
				fmt.Fprintf(&b, "      tags: {%s: %q}\n", k, v)
			}
			if rapid.Bool().Draw(t, region+".select.has_older_than") {
				rp.older = rapid.SampledFrom([]time.Duration{30 * 24 * time.Hour, 7 * 24 * time.Hour}).Draw(t, region+".select.older_than")
				fmt.Fprintf(&b, "      older_than: %dd\n", rp.older/(24*time.Hour))
			}
			if strings.Trim(rp.name, "*") == "" && rp.tags == nil && rp.older == 0 {
				// The policy rules want a selector that narrows by more than status: a
				// selector of only "*" would be refused, so narrow it by age.
				rp.older = 30 * 24 * time.Hour
				b.WriteString("      older_than: 30d\n")
			}
		}
		if rapid.IntRange(0, 4).Draw(t, region+".force") == 0 {
			c.force[region] = true
			b.WriteString("    force: true\n")
		}
		rp.protect = genProtect(region + ".protect")
		writeProtect(&b, "    ", rp.protect)
	}
	global := genProtect("protect")
	writeProtect(&b, "", global)
	c.policy = b.String()

	// What the policy must make of each image, from the rules: an image not the account's own is
	// never selected (an explicit one is skipped as not owned); Creating and Waiting never are
	// (an explicit one is skipped as not selectable); then an explicit id or the selector
	// selects; then any protect rule keeps it.
	for _, region := range inPolicy {
		rp := rps[region]
		present := map[string]bool{}
		for _, pi := range images[region] {
			img := pi.img
			key := region + "/" + img.ID
			present[img.ID] = true
			explicit := contains(rp.explicit, img.ID)
			switch {
			case img.OwnerAlias != ecs.OwnerSelf:
				if explicit {
					c.entries[key] = expect{kind: "skipped", code: runner.CodeNotOwned}
				}
				continue
			case img.Status == ecs.StatusCreating || img.Status == ecs.StatusWaiting:
				if explicit {
					c.entries[key] = expect{kind: "skipped", code: runner.CodeNotSelectable}
				}
				continue
			case explicit:
			case !rp.hasSel:
				continue
			default:
				if rp.name != "" {
					if ok, _ := path.Match(rp.name, img.Name); !ok {
						continue
					}
				}
				match := true
				for k, v := range rp.tags {
					if img.Tags[k] != v {
						match = false
					}
				}
				if !match || (rp.older > 0 && !img.CreationTime.Before(now.Add(-rp.older))) {
					continue
				}
			}
			if protects(rp.protect, img) || protects(global, img) {
				c.entries[key] = expect{kind: "skipped"}
				continue
			}
			c.checked[key] = true
			refused := img.Copying || img.Importing || img.Exporting || img.IsPublic ||
				len(img.SharedWith) > 0 || img.SharedToAll || (pi.instance && !c.force[region])
			if refused {
				c.entries[key] = expect{kind: "refused"}
				continue
			}
			c.entries[key] = expect{kind: "deletable"}
			c.deletable[key] = true
		}
		for _, id := range rp.explicit {
			if !present[id] {
				c.entries[region+"/"+id] = expect{kind: "skipped", code: "InvalidImageId.NotFound"}
			}
		}
	}

	ratio := func(label string) float64 {
		return rapid.SampledFrom([]float64{0, 0, 0.05, 0.1, 0.2, 0.3}).Draw(t, label)
	}
	c.maxAttempts = rapid.SampledFrom([]int{8, 2, 3}).Draw(t, "max_attempts")
	c.opts = ecstest.Options{Seed: rapid.Int64().Draw(t, "seed"), Faults: map[string]ecstest.Faults{
		"DeleteImage": {ThrottleRatio: ratio("delete.throttle"), InternalErrorRatio: ratio("delete.internal"),
			UnavailableRatio: ratio("delete.unavailable"), DropAfterDeleteRatio: ratio("delete.drop"),
			ErrorAfterDeleteRatio: ratio("delete.error_after"), StallAfterDeleteRatio: ratio("delete.stall_after")},
		"DescribeImages": {ThrottleRatio: ratio("describe.throttle"), InternalErrorRatio: ratio("describe.internal"),
			UnavailableRatio: ratio("describe.unavailable")},
	}}
	return c
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// rapidTB lets the package's testing.TB helpers (newHarness, run, checkSums) report to rapid,
// so that a failure is shrunk. The embedded testing.TB only supplies the interface's private
// method; every method the helpers call goes to rapid.
type rapidTB struct {
	testing.TB
	rt *rapid.T
}

func (r rapidTB) Helper()                      {}
func (r rapidTB) Cleanup(f func())             { r.rt.Cleanup(f) }
func (r rapidTB) Error(args ...any)            { r.rt.Error(args...) }
func (r rapidTB) Errorf(f string, args ...any) { r.rt.Errorf(f, args...) }
func (r rapidTB) Fatal(args ...any)            { r.rt.Fatal(args...) }
func (r rapidTB) Fatalf(f string, args ...any) { r.rt.Fatalf(f, args...) }
func (r rapidTB) Fail()                        { r.rt.Fail() }
func (r rapidTB) FailNow()                     { r.rt.FailNow() }
func (r rapidTB) Failed() bool                 { return r.rt.Failed() }
func (r rapidTB) Log(args ...any)              { r.rt.Log(args...) }
func (r rapidTB) Logf(f string, args ...any)   { r.rt.Logf(f, args...) }
func (r rapidTB) Skip(args ...any)             { r.rt.Skip(args...) }
func (r rapidTB) Skipf(f string, args ...any)  { r.rt.Skipf(f, args...) }
func (r rapidTB) SkipNow()                     { r.rt.SkipNow() }

// atLeastChecks makes the property run at least n cases unless -rapid.checks was given another
// value than rapid's default, and restores the flag afterwards. The package has its own TestMain
// (goleak), so the default cannot be raised there.
func atLeastChecks(t *testing.T, n int) {
	f := flag.Lookup("rapid.checks")
	if f == nil || f.Value.String() != f.DefValue {
		return
	}
	old := f.Value.String()
	if err := flag.Set("rapid.checks", fmt.Sprint(n)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flag.Set("rapid.checks", old) })
}

// fast makes a run take milliseconds: short backoffs, no pacing below 100k requests/s, and the
// emulator's TimeLeft hints (up to a second, to the next whole second) not passed on. The
// properties are about what is deleted and reported, not about how long the runner waits.
func fast(h *harness, maxAttempts int) func(*runner.Config) {
	return func(c *runner.Config) {
		c.Retry = runner.RetryConfig{BaseDelay: time.Microsecond, MaxDelay: time.Millisecond, MaxAttempts: maxAttempts}
		c.Rate = runner.RateConfig{Min: 100000}
		c.API = noRetryAfter{h.quick}
	}
}

// noRetryAfter is the real client with the service's retry-after hint dropped from its errors.
type noRetryAfter struct{ *ecs.Client }

func (n noRetryAfter) DescribeImagesPage(ctx context.Context, region string, f ecs.ListFilter, page, size int) (ecs.ImagePage, error) {
	p, err := n.Client.DescribeImagesPage(ctx, region, f, page, size)
	return p, dropRetryAfter(err)
}

func (n noRetryAfter) DeleteImage(ctx context.Context, in ecs.DeleteImageInput) (ecs.Result, error) {
	r, err := n.Client.DeleteImage(ctx, in)
	return r, dropRetryAfter(err)
}

func dropRetryAfter(err error) error {
	var e *ecs.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		c := *e
		c.RetryAfter = 0
		return &c
	}
	return err
}

// listingFailed returns the regions whose listing failed, as the report names them: their
// selected images cannot be known, only their explicit ids.
func listingFailed(rep *report.Report) map[string]bool {
	m := map[string]bool{}
	for name, rt := range rep.Regions {
		if strings.HasPrefix(rt.Error, "could not list images") {
			m[name] = true
		}
	}
	return m
}

// checkCase asserts everything the issue asks of one run, apply or plan.
func checkCase(t *rapid.T, tb testing.TB, c *propCase, h *harness, rep *report.Report, command string) {
	// A region whose listing failed for good stops alone: the others go on, no fault stops the
	// run, and the run is partial rather than completed.
	failedRegions := listingFailed(rep)
	wantStatus := report.StatusCompleted
	if len(failedRegions) > 0 {
		wantStatus = report.StatusPartial
	}
	if rep.Status != wantStatus {
		t.Fatalf("status %s, want %s (fault %q, regions that could not be listed %v)", rep.Status, wantStatus, rep.Fault, failedRegions)
	}
	if rep.Fault != "" {
		t.Fatalf("fault %q: these runs can meet none", rep.Fault)
	}
	for name, rt := range rep.Regions {
		if rt.Error != "" && !failedRegions[name] {
			t.Fatalf("%s: region error %q is not a listing failure", name, rt.Error)
		}
	}

	// (1) DeleteImage only for images the policy selects and nothing protects, the account's
	// own; a real one only on apply, and only for an image the service would delete.
	for _, call := range h.srv.Calls() {
		if call.Action != "DeleteImage" {
			continue
		}
		key := call.Region + "/" + call.ImageID
		if !c.checked[key] {
			t.Errorf("DeleteImage (dry %v) sent for %s, which must not be checked at all", call.DryRun, key)
		}
		if call.Force != c.force[call.Region] {
			t.Errorf("DeleteImage of %s with Force=%v, policy force=%v", key, call.Force, c.force[call.Region])
		}
		if !call.DryRun {
			if command == runner.Plan {
				t.Errorf("plan sent a real DeleteImage for %s", key)
			}
			if !c.deletable[key] {
				t.Errorf("real DeleteImage sent for %s, which is not deletable", key)
			}
		}
	}

	// (2) Every selected image has exactly one entry, and nothing else does.
	got := map[string]report.Entry{}
	for _, e := range rep.Images {
		key := e.Region + "/" + e.ImageID
		if _, dup := got[key]; dup {
			t.Errorf("%s appears twice", key)
		}
		got[key] = e
	}
	for key, w := range c.entries {
		region, id, _ := strings.Cut(key, "/")
		e, ok := got[key]
		if failedRegions[region] {
			if contains(c.explicit[region], id) && (!ok || e.Outcome != report.NotAttempted) {
				t.Errorf("%s: explicit id in a region whose listing failed: %v, want not_attempted", key, e.Outcome)
			}
			continue
		}
		if !ok {
			t.Errorf("%s missing from the report (want %s %s)", key, w.kind, w.code)
			continue
		}
		switch w.kind {
		case "skipped":
			if e.Outcome != report.Skipped || e.Code != w.code {
				t.Errorf("%s: %s %q (%s), want skipped %q", key, e.Outcome, e.Code, e.Message, w.code)
			}
		case "refused":
			if e.Outcome != report.Blocked && e.Outcome != report.Failed {
				t.Errorf("%s: %s %q (%s), want blocked (or failed under faults)", key, e.Outcome, e.Code, e.Message)
			}
		case "deletable":
			want := report.Deleted
			if command == runner.Plan {
				want = report.WouldDelete
			}
			if e.Outcome != want && e.Outcome != report.Failed {
				t.Errorf("%s: %s %q (%s), want %s (or failed under faults)", key, e.Outcome, e.Code, e.Message, want)
			}
		}
	}
	for key, e := range got {
		if _, ok := c.entries[key]; !ok {
			t.Errorf("%s in the report as %s %q but not selected", key, e.Outcome, e.Code)
		}
		region, _, _ := strings.Cut(key, "/")
		if failedRegions[region] && !contains(c.explicit[region], e.ImageID) {
			t.Errorf("%s in the report though its region could not be listed", key)
		}
		// (5) A failure says why; nothing is left not_attempted unless its region could not
		// be listed.
		if (e.Outcome == report.Failed || e.Outcome == report.Blocked) && e.Code == "" {
			t.Errorf("%s: %s without a code (%s)", key, e.Outcome, e.Message)
		}
		if e.Outcome == report.NotAttempted && !failedRegions[region] {
			t.Errorf("%s not_attempted, and its region was listed", key)
		}
	}

	// (3) The sums hold (h.run checked them; again, so that the failure is rapid's).
	checkSums(tb, rep)

	// (4) The report agrees with the emulator.
	dropped := map[string]bool{}
	for _, call := range h.srv.Calls() {
		if call.Action == "DeleteImage" && call.Dropped {
			dropped[call.Region+"/"+call.ImageID] = true
		}
	}
	for region, reg := range c.state.Regions {
		for _, img := range reg.Images {
			key := region + "/" + img.ID
			_, exists := h.srv.Image(region, img.ID)
			e := got[key]
			if !exists && e.Outcome != report.Deleted {
				t.Errorf("%s was deleted in the emulator but reported %q %q (%s)", key, e.Outcome, e.Code, e.Message)
			}
			if exists && e.Outcome == report.Deleted {
				t.Errorf("%s reported deleted but still exists", key)
			}
		}
	}
}

func propertyRun(tt *testing.T, command string) func(*rapid.T) {
	return func(t *rapid.T) {
		c := genCase(t)
		t.Logf("policy:\n%s", c.policy)
		tb := rapidTB{TB: tt, rt: t}
		h := newHarness(tb, c.state, c.opts, c.policy)
		// A stalled delete ends at the client's timeout: keep it short.
		quick, err := ecs.New(ecs.Config{Endpoint: h.srv.URL(), Credential: ecs.StaticCredential(ecstest.AccessKeyID, ecstest.AccessKeySecret, ""),
			MaxIdleConns: 64, Timeout: 150 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer quick.Close()
		h.quick = quick
		rep := h.run(tb, command, fast(h, c.maxAttempts))
		checkCase(t, tb, c, h, rep, command)
	}
}

// TestPropertyApplyNeverDeletesWhatItMustNot runs apply over random accounts, policies and
// faults: no real DeleteImage for a protected, unselected, foreign or refused image; every
// selected image has exactly one outcome; the sums hold; the report agrees with the emulator.
func TestPropertyApplyNeverDeletesWhatItMustNot(t *testing.T) {
	atLeastChecks(t, 1000)
	rapid.Check(t, propertyRun(t, runner.Apply))
}

// TestPropertyPlanNeverDeletes is the same for plan, which must send no real DeleteImage at all.
func TestPropertyPlanNeverDeletes(t *testing.T) {
	atLeastChecks(t, 1000)
	rapid.Check(t, propertyRun(t, runner.Plan))
}

// TestUnknownDeleteThatTookEffectIsReportedDeleted was found by the property above: a real
// DeleteImage takes effect but its answer is lost (the connection drops) and the image's
// retries run out. The confirming listing after apply finds it gone, so it is reported
// deleted, not failed NetworkError. With MaxAttempts 1 the first drop ends the item.
func TestUnknownDeleteThatTookEffectIsReportedDeleted(t *testing.T) {
	st := simpleState(1, "cn-hangzhou")
	h := newHarness(t, st, ecstest.Options{Faults: map[string]ecstest.Faults{"DeleteImage": {DropAfterDeleteRatio: 1}}},
		simplePolicy(1, "", "cn-hangzhou"))
	rep := h.run(t, runner.Apply, func(c *runner.Config) {
		c.Retry = runner.RetryConfig{BaseDelay: time.Microsecond, MaxDelay: time.Millisecond, MaxAttempts: 1}
	})
	if rep.Summary.Deleted != 1 || rep.Summary.Failed != 0 {
		t.Errorf("summary %+v, want the one image deleted", rep.Summary)
	}
	checkAgainstEmulator(t, rep, h.srv, st)
}

// TestListingFailureStopsOnlyItsRegion was found by the property above: one region's listing
// fails for good (the RAM policy denies it there). That region alone stops, with the reason in
// the report's regions; the other region's images are deleted, and no run-wide fault is set.
func TestListingFailureStopsOnlyItsRegion(t *testing.T) {
	st := simpleState(2, "cn-hangzhou", "cn-shanghai")
	h := newHarness(t, st, ecstest.Options{Deny: map[string]string{"cn-shanghai/DescribeImages": "Forbidden.RAM"}},
		simplePolicy(2, "", "cn-hangzhou", "cn-shanghai"))
	rep := h.run(t, runner.Apply, nil)
	if rep.Fault != "" {
		t.Errorf("fault %q: a region's listing failure is not the run's", rep.Fault)
	}
	if got := rep.Regions["cn-hangzhou"].Summary.Deleted; got != 2 {
		t.Errorf("cn-hangzhou deleted %d of its 2 images", got)
	}
	if e := rep.Regions["cn-shanghai"].Error; !strings.Contains(e, "could not list images") || !strings.Contains(e, "Forbidden.RAM") {
		t.Errorf("cn-shanghai error %q, want the listing failure and its code", e)
	}
	if len(st.Regions["cn-shanghai"].Images) != len(h.srv.Images("cn-shanghai")) {
		t.Errorf("images were deleted in the region that could not be listed")
	}
}
