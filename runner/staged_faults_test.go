package runner_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// The fault suite of staged retention: an account with images in every staged situation, and
// throttles, 500s, 503s and answers lost after the change took effect on every call that
// changes an image. For every image the report must say exactly what the emulator holds.

// stagedKind is the situation an image of the staged fault account starts in.
type stagedKind string

const (
	kindDeprecate stagedKind = "deprecate" // Available and selected: apply deprecates and tags it
	kindExpired   stagedKind = "expired"   // Deprecated, tagged past the grace period: apply deletes it
	kindInGrace   stagedKind = "in-grace"  // Deprecated, tagged inside the grace period: skipped
	kindByHand    stagedKind = "by-hand"   // Deprecated without our tag: apply tags it only
	kindShared    stagedKind = "shared"    // Available but shared: the deprecation is refused
	kindNamed     stagedKind = "named"     // Available, a launch template names it: protected
	kindNamedOld  stagedKind = "named-old" // Deprecated past the grace period, but a launch template names it
)

const stagedFaultPolicy = `version: 1
concurrency: 8
deprecate_first: 14d
regions:
  - region: cn-hangzhou
    select: {name: "ci-*", older_than: 30d}
  - region: cn-beijing
    select: {name: "ci-*", older_than: 30d}
`

// stagedFaultAccount builds two regions of every kind, and says which kind each image is.
func stagedFaultAccount() (*ecstest.State, map[string]stagedKind) {
	old := now.AddDate(0, -3, 0)
	expiredTag := now.AddDate(0, 0, -30).Format(time.RFC3339)
	youngTag := now.AddDate(0, 0, -3).Format(time.RFC3339)
	counts := []struct {
		kind stagedKind
		n    int
	}{{kindDeprecate, 24}, {kindExpired, 12}, {kindInGrace, 4}, {kindByHand, 10}, {kindShared, 4}, {kindNamed, 3}, {kindNamedOld, 2}}
	st := &ecstest.State{Regions: map[string]*ecstest.Region{}}
	kinds := map[string]stagedKind{}
	for ri, region := range []string{"cn-hangzhou", "cn-beijing"} {
		reg := &ecstest.Region{}
		lt := ecstest.LaunchTemplate{ID: fmt.Sprintf("lt-%d", ri), Name: "web"}
		for _, c := range counts {
			for i := range c.n {
				id := fmt.Sprintf("m-%d%s%02d", ri, c.kind, i)
				img := ecstest.Image{ID: id, Name: "ci-" + id[2:], CreationTime: old.Add(time.Duration(i) * time.Minute), SizeGiB: 20}
				switch c.kind {
				case kindExpired, kindNamedOld:
					img.Status, img.Tags = "Deprecated", map[string]string{policy.DeprecatedAtTag: expiredTag}
				case kindInGrace:
					img.Status, img.Tags = "Deprecated", map[string]string{policy.DeprecatedAtTag: youngTag}
				case kindByHand:
					img.Status = "Deprecated"
				case kindShared:
					img.SharedWith = []string{"1234567890"}
				}
				if c.kind == kindNamed || c.kind == kindNamedOld {
					lt.Versions = append(lt.Versions, ecstest.LaunchTemplateVersion{ImageID: id})
				}
				reg.Images = append(reg.Images, img)
				kinds[region+"/"+id] = c.kind
			}
		}
		reg.LaunchTemplates = []ecstest.LaunchTemplate{lt}
		st.Regions[region] = reg
	}
	return st, kinds
}

// stagedChangeFaults are the faults of every call that changes an image: throttles (400, 429,
// 503), 500s and 503s before any effect, and after the effect a dropped connection or a 500.
var stagedChangeFaults = ecstest.Faults{ThrottleRatio: 0.15, InternalErrorRatio: 0.2, UnavailableRatio: 0.05,
	DropAfterDeleteRatio: 0.2, ErrorAfterDeleteRatio: 0.15}

// stagedTagFaults fail the tag calls more often, so that some images run out of attempts between
// the status change and the tag: Deprecated without the tag, or Available with it.
var stagedTagFaults = ecstest.Faults{ThrottleRatio: 0.15, InternalErrorRatio: 0.45, UnavailableRatio: 0.05,
	DropAfterDeleteRatio: 0.2, ErrorAfterDeleteRatio: 0.15}

// imageOf is what the emulator holds of an image at the end: its status and our tag, or gone.
type imageOf struct {
	gone   bool
	status string
	tag    string // the DeprecatedAtTag value; "" without it
}

func finalImage(srv *ecstest.Server, key string) imageOf {
	region, id, _ := strings.Cut(key, "/")
	im, ok := srv.Image(region, id)
	if !ok {
		return imageOf{gone: true}
	}
	return imageOf{status: im.Status, tag: im.Tags[policy.DeprecatedAtTag]}
}

// callImage is the image a call is about: ImageId, or a tag call's first ResourceId.
func callImage(c ecstest.Call) string {
	if c.ImageID != "" {
		return c.Region + "/" + c.ImageID
	}
	return c.Region + "/" + c.Params["ResourceId.1"]
}

// lostAnswer reports whether a call's answer hides whether it took effect: the connection was
// dropped, or the answer was an error after the effect. (The emulator logs Effect on every real
// change that took effect, whatever it answered.)
func lostAnswer(c ecstest.Call) bool { return c.Effect && (c.Dropped || c.Status >= 400) }

// stagedCalls indexes the call log of one run by image.
type stagedCalls struct {
	byImage map[string][]ecstest.Call
	all     []ecstest.Call
}

func callsFrom(srv *ecstest.Server, from int) stagedCalls {
	all := srv.Calls()[from:]
	sc := stagedCalls{byImage: map[string][]ecstest.Call{}, all: all}
	for _, c := range all {
		switch c.Action {
		case "ModifyImageAttribute", "TagResources", "UntagResources", "DeleteImage":
			k := callImage(c)
			sc.byImage[k] = append(sc.byImage[k], c)
		}
	}
	return sc
}

// lookedUpAfter reports whether a DescribeImages naming the image was answered after the call
// after: a lookup that could tell whether a change whose answer was lost took effect.
func (sc stagedCalls) lookedUpAfter(key string, after ecstest.Call) bool {
	region, id, _ := strings.Cut(key, "/")
	for _, c := range sc.all {
		if c.Action == "DescribeImages" && c.Region == region && c.Status == 200 && c.Start.After(after.End) &&
			slices.Contains(strings.Split(c.Params["ImageId"], ","), id) {
			return true
		}
	}
	return false
}

// checkChangeOrder asserts the rules every change of the run keeps: Force is never sent; a real
// ModifyImageAttribute or DeleteImage only after a DryRun of the same request passed; a tag
// call only after the status change it completes took effect (or, for TagResources, of an image
// that was Deprecated already).
func checkChangeOrder(t *testing.T, sc stagedCalls, kinds map[string]stagedKind, wantStatus string) {
	t.Helper()
	for key, calls := range sc.byImage {
		dryPassed := map[string]bool{} // action+status whose DryRun passed
		statusTook := false
		for _, c := range calls {
			what := c.Action + " " + c.Params["Status"]
			if c.Force || c.Params["Force"] == "true" {
				t.Errorf("%s: %s sent Force", key, c.Action)
			}
			switch {
			case c.DryRun && c.Code == "DryRunOperation":
				dryPassed[what] = true
			case c.DryRun:
			case c.Action == "ModifyImageAttribute" || c.Action == "DeleteImage":
				if !dryPassed[what] {
					t.Errorf("%s: real %s sent before its DryRun passed", key, what)
				}
				if c.Action == "ModifyImageAttribute" && c.Params["Status"] != wantStatus {
					t.Errorf("%s: ModifyImageAttribute Status=%s sent, want only %s", key, c.Params["Status"], wantStatus)
				}
				if c.Action == "ModifyImageAttribute" && c.Effect {
					statusTook = true
				}
			case c.Action == "TagResources" && !statusTook && kinds[key] != kindByHand:
				t.Errorf("%s: TagResources before its Status=Deprecated took effect", key)
			case c.Action == "UntagResources" && !statusTook:
				t.Errorf("%s: UntagResources before its Status=Available took effect", key)
			}
		}
	}
}

// lastLost reports whether the last real call of action for the image lost its answer.
func (sc stagedCalls) lastLost(key, action string) (ecstest.Call, bool) {
	var last ecstest.Call
	found := false
	for _, c := range sc.byImage[key] {
		if c.Action == action && !c.DryRun {
			last, found = c, true
		}
	}
	return last, found && lostAnswer(last)
}

// claimedOverLostAnswer reports whether the report's success for an image rests on an answer
// that was lost without a lookup verifying it: the last real call of action had a lost answer
// and nothing after it (a success, or a lookup) told.
func (sc stagedCalls) claimedOverLostAnswer(key, action string) bool {
	last, lost := sc.lastLost(key, action)
	return lost && !sc.lookedUpAfter(key, last)
}

// verifiedCount counts the images of an outcome whose success rests on a lookup: the last real
// call of one of actions lost its answer.
func (sc stagedCalls) verifiedCount(rep *report.Report, o report.Outcome, actions ...string) int {
	n := 0
	for key, e := range outcomesByKey(rep) {
		for _, action := range actions {
			if _, lost := sc.lastLost(key, action); lost && e.Outcome == o {
				n++
				break
			}
		}
	}
	return n
}

// wantTallied asserts that the seed reached each of the situations the checks are about.
func wantTallied(t *testing.T, tally map[string]int, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if tally[k] == 0 {
			t.Errorf("no image ended %q: the seed no longer exercises it (%v)", k, tally)
		}
	}
}

func TestStagedFaultSuite(t *testing.T) {
	t.Parallel()
	for _, same := range []string{"ignore", "error"} {
		t.Run("SameStatus="+same, func(t *testing.T) {
			t.Parallel()
			stagedFaultSuite(t, same)
		})
	}
}

func stagedFaultSuite(t *testing.T, sameStatus string) {
	st, kinds := stagedFaultAccount()
	h := newHarness(t, st, ecstest.Options{Seed: 18, SameStatus: sameStatus, Faults: map[string]ecstest.Faults{
		"ModifyImageAttribute": stagedChangeFaults, "TagResources": stagedTagFaults,
		"UntagResources": stagedTagFaults, "DeleteImage": stagedChangeFaults,
	}}, stagedFaultPolicy)
	retry := func(c *runner.Config) { c.Retry.MaxAttempts = 3 } // so that some images run out of attempts
	day0 := now.Format(time.RFC3339)

	// ---- apply ----
	rep := h.run(t, runner.Apply, func(c *runner.Config) { at(0)(c); retry(c) })
	if rep.Status != report.StatusCompleted || rep.Fault != "" {
		t.Fatalf("apply: %s %q", rep.Status, rep.Fault)
	}
	sc := callsFrom(h.srv, 0)
	checkChangeOrder(t, sc, kinds, "Deprecated")
	got := outcomesByKey(rep)
	if len(got) != len(kinds) {
		t.Errorf("apply reported %d images, want every one of the %d once", len(got), len(kinds))
	}
	tally := map[string]int{}
	for key, kind := range kinds {
		e, ok := got[key]
		if !ok {
			t.Errorf("%s (%s): not in the report", key, kind)
			continue
		}
		im := finalImage(h.srv, key)
		tally[fmt.Sprintf("%s %s %s", kind, e.Outcome, im.status)]++
		bad := func(why string) {
			t.Errorf("%s (%s): reported %s %q (%s), emulator %+v: %s", key, kind, e.Outcome, e.Code, e.Message, im, why)
		}
		if (e.Outcome == report.Failed || e.Outcome == report.Blocked) && e.Code == "" {
			bad("a failure without a code")
		}
		switch kind {
		case kindDeprecate:
			switch {
			case e.Outcome == report.Deprecated:
				if im.status != "Deprecated" || im.tag != day0 {
					bad("reported deprecated, but the image is not Deprecated and tagged")
				}
				if sc.claimedOverLostAnswer(key, "ModifyImageAttribute") || sc.claimedOverLostAnswer(key, "TagResources") {
					bad("deprecated claimed over a lost answer that no lookup verified")
				}
			case e.Outcome == report.Failed && im.status == "Available":
				if im.tag != "" || strings.Contains(e.Message, "deprecated, but") {
					bad("the image is unchanged, and the report must say so")
				}
			case e.Outcome == report.Failed && im.status == "Deprecated" && im.tag == "":
				if !strings.HasPrefix(e.Message, "deprecated, but could not tag it") {
					bad("the image is Deprecated without our tag: the message must say so")
				}
			default:
				bad("outcome and emulator disagree")
			}
		case kindExpired:
			switch {
			case e.Outcome == report.Deleted && im.gone:
			case e.Outcome == report.Failed && !im.gone && im.status == "Deprecated" && im.tag != "":
			default:
				bad("outcome and emulator disagree")
			}
		case kindInGrace, kindNamedOld:
			if e.Outcome != report.Skipped || im.status != "Deprecated" || im.tag == day0 || (kind == kindInGrace && e.Code != runner.CodeInGracePeriod) {
				bad("must be skipped and untouched")
			}
		case kindByHand:
			switch {
			case e.Outcome == report.Skipped && e.Code == runner.CodeInGracePeriod && im.status == "Deprecated" && im.tag == day0:
				if sc.claimedOverLostAnswer(key, "TagResources") {
					bad("tagged claimed over a lost answer that no lookup verified")
				}
			case e.Outcome == report.Failed && im.status == "Deprecated" && im.tag == "":
			default:
				bad("outcome and emulator disagree")
			}
		case kindShared:
			ok := (e.Outcome == report.Blocked && e.Code == ecstest.CodeDeprecateShared) || e.Outcome == report.Failed
			if !ok || im.status != "Available" || im.tag != "" {
				bad("must be blocked (or failed) and unchanged")
			}
			if e.Outcome == report.Blocked && (e.Blockers == nil || !strings.HasSuffix(e.Blockers.Remediation, "the next run deprecates it (deprecate_first)")) {
				bad("a refused deprecation's remediation must say the next run deprecates it")
			}
		case kindNamed:
			if e.Outcome != report.Skipped || im.status != "Available" || im.tag != "" {
				bad("must be skipped and unchanged")
			}
		}
		// Only the images the run may change have any change sent, DryRun or not.
		for _, c := range sc.byImage[key] {
			switch {
			case kind == kindShared && c.Action == "ModifyImageAttribute" && !c.DryRun:
				t.Errorf("%s: a real ModifyImageAttribute was sent for a shared image", key)
			case kind == kindNamed || kind == kindNamedOld || kind == kindInGrace:
				t.Errorf("%s (%s): %s sent for an image the run must not touch", key, kind, c.Action)
			case c.Action == "DeleteImage" && kind != kindExpired:
				t.Errorf("%s (%s): DeleteImage sent", key, kind)
			case c.Action == "TagResources" && c.Params["Tag.1.Value"] != day0:
				t.Errorf("%s: tagged %q, want the run's time %s", key, c.Params["Tag.1.Value"], day0)
			}
		}
	}
	t.Logf("apply: %v", tally)
	wantExercised(t, sc.all, "ModifyImageAttribute", "TagResources", "DeleteImage")
	wantTallied(t, tally, "deprecate deprecated Deprecated", "deprecate failed Available", "deprecate failed Deprecated",
		"expired deleted ", "expired failed Deprecated", "by-hand skipped Deprecated", "by-hand failed Deprecated")
	if n := sc.verifiedCount(rep, report.Deprecated, "ModifyImageAttribute", "TagResources"); n == 0 {
		t.Error("no deprecation rested on a lookup after a lost answer: the seed no longer exercises it")
	}

	// ---- restore ----
	// Everything Deprecated with our tag now: what apply deprecated or tagged, the images in
	// their grace period, the named ones and the expired ones whose delete failed.
	restorable := map[string]bool{}
	for key := range kinds {
		if im := finalImage(h.srv, key); im.status == "Deprecated" && im.tag != "" {
			restorable[key] = true
		}
	}
	from := len(h.srv.Calls())
	res := h.run(t, runner.Restore, func(c *runner.Config) { at(1)(c); retry(c) })
	if res.Status != report.StatusCompleted || res.Fault != "" {
		t.Fatalf("restore: %s %q", res.Status, res.Fault)
	}
	rc := callsFrom(h.srv, from)
	checkChangeOrder(t, rc, kinds, "Available")
	got = outcomesByKey(res)
	if len(got) != len(restorable) {
		t.Errorf("restore reported %d images, want the %d deprecated with our tag, each once", len(got), len(restorable))
	}
	tally = map[string]int{}
	for key, e := range got {
		im := finalImage(h.srv, key)
		tally[fmt.Sprintf("%s %s tagged=%v", e.Outcome, im.status, im.tag != "")]++
		bad := func(why string) {
			t.Errorf("%s: restore reported %s %q (%s), emulator %+v: %s", key, e.Outcome, e.Code, e.Message, im, why)
		}
		switch {
		case !restorable[key]:
			bad("not an image the job deprecated")
		case e.Outcome == report.Restored:
			if im.status != "Available" || im.tag != "" {
				bad("reported restored, but the image is not Available and untagged")
			}
			if rc.claimedOverLostAnswer(key, "ModifyImageAttribute") || rc.claimedOverLostAnswer(key, "UntagResources") {
				bad("restored claimed over a lost answer that no lookup verified")
			}
		case e.Outcome == report.Failed && e.Code != "" && im.status == "Deprecated" && im.tag != "":
			if strings.Contains(e.Message, "set back to Available") {
				bad("the image is unchanged, and the report must say so")
			}
		case e.Outcome == report.Failed && e.Code != "" && im.status == "Available" && im.tag != "":
			if !strings.HasPrefix(e.Message, "set back to Available, but could not remove") {
				bad("the image is Available with our tag: the message must say so")
			}
		default:
			bad("outcome and emulator disagree")
		}
	}
	for _, c := range rc.all {
		if c.Action == "DeleteImage" || c.Action == "TagResources" {
			t.Errorf("restore sent %s for %s", c.Action, callImage(c))
		}
	}
	t.Logf("restore: %v", tally)
	wantExercised(t, rc.all, "ModifyImageAttribute", "UntagResources")
	wantTallied(t, tally, "restored Available tagged=false", "failed Deprecated tagged=true", "failed Available tagged=true")
	if n := rc.verifiedCount(res, report.Restored, "ModifyImageAttribute", "UntagResources"); n == 0 {
		t.Error("no restore rested on a lookup after a lost answer: the seed no longer exercises it")
	}
}

func outcomesByKey(rep *report.Report) map[string]report.Entry {
	m := map[string]report.Entry{}
	for _, e := range rep.Images {
		m[e.Region+"/"+e.ImageID] = e
	}
	return m
}

// wantExercised asserts that the seed did what the suite is for: each action had a throttle, a
// 500, and a change whose answer was lost after it took effect.
func wantExercised(t *testing.T, calls []ecstest.Call, actions ...string) {
	t.Helper()
	for _, action := range actions {
		var throttled, failed, lost int
		for _, c := range calls {
			if c.Action != action {
				continue
			}
			switch {
			case lostAnswer(c):
				lost++
			case strings.HasPrefix(c.Code, "Throttling") || c.Code == "ServiceUnavailable":
				throttled++
			case c.Code == "InternalError":
				failed++
			}
		}
		if throttled == 0 || failed == 0 || lost == 0 {
			t.Errorf("%s: %d throttled, %d 500s, %d lost answers: the seed no longer exercises them all", action, throttled, failed, lost)
		}
	}
}

// TestStagedLostAnswers: every real change takes effect and loses its answer. A retry of the
// change then meets an image that already shows it, which the service answers with success or
// refuses (the API reference does not say: ecstest's SameStatus gives both), or the attempts run
// out; either way only a lookup tells, and it tells that each change took effect. When the
// lookup fails too, the report says the result is unknown, never that the change was made.
func TestStagedLostAnswers(t *testing.T) {
	t.Parallel()
	lost := ecstest.Faults{DropAfterDeleteRatio: 1}
	account := func() *ecstest.State {
		old := now.AddDate(0, -3, 0)
		return &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {Images: []ecstest.Image{
			{ID: "m-a", Name: "ci-a", CreationTime: old},
			{ID: "m-dep", Name: "ci-dep", CreationTime: old, Status: "Deprecated"}, // by hand: tagged only
		}}}}
	}
	retry := func(c *runner.Config) { c.Retry.MaxAttempts = 3 }
	for _, same := range []string{"ignore", "error"} {
		t.Run("SameStatus="+same, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, account(), ecstest.Options{SameStatus: same, Faults: map[string]ecstest.Faults{
				"ModifyImageAttribute": lost, "TagResources": lost, "UntagResources": lost}}, stagedPolicy)
			rep := h.run(t, runner.Apply, func(c *runner.Config) { at(0)(c); retry(c) })
			wantOutcome(t, rep, "m-a", report.Deprecated, "")
			wantOutcome(t, rep, "m-dep", report.Skipped, runner.CodeInGracePeriod)
			for _, id := range []string{"m-a", "m-dep"} {
				if im := finalImage(h.srv, "cn-hangzhou/"+id); im.status != "Deprecated" || im.tag != now.Format(time.RFC3339) {
					t.Fatalf("%s: %+v, want Deprecated and tagged", id, im)
				}
			}
			// What the retry of Status=Deprecated was answered: the mode's answer.
			var retried []string
			for _, c := range h.srv.Calls() {
				if c.Action == "ModifyImageAttribute" && !c.DryRun {
					retried = append(retried, fmt.Sprintf("%d %s", c.Status, c.Code))
				}
			}
			want := []string{"0 ", "0 ", "0 "} // three attempts, every answer lost
			if same == "error" {
				want = []string{"0 ", "403 " + ecstest.CodeSameStatus}
			}
			if !slices.Equal(retried, want) {
				t.Errorf("real ModifyImageAttribute answered %q, want %q", retried, want)
			}

			res := h.run(t, runner.Restore, func(c *runner.Config) { at(1)(c); retry(c) })
			wantOutcome(t, res, "m-a", report.Restored, "")
			wantOutcome(t, res, "m-dep", report.Restored, "")
			for _, id := range []string{"m-a", "m-dep"} {
				if im := finalImage(h.srv, "cn-hangzhou/"+id); im.status != "Available" || im.tag != "" {
					t.Fatalf("%s after restore: %+v, want Available and untagged", id, im)
				}
			}
		})
	}
	t.Run("lookup fails", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, account(), ecstest.Options{SameStatus: "error", Faults: map[string]ecstest.Faults{"ModifyImageAttribute": lost}}, stagedPolicy)
		// The listing is over when the deprecate step starts; from then on no lookup is answered.
		denyFrom := func(phase string) func(*runner.Config) {
			return func(c *runner.Config) {
				c.Progress = func(p runner.Progress) {
					if p.Phase == phase {
						h.srv.SetDeny("DescribeImages", "Forbidden.RAM")
					}
				}
			}
		}
		rep := h.run(t, runner.Apply, func(c *runner.Config) { at(0)(c); retry(c); denyFrom("deprecate")(c) })
		e := wantOutcome(t, rep, "m-a", report.Failed, runner.CodeChangeResultUnknown)
		if !strings.Contains(e.Message, "ModifyImageAttribute was sent") {
			t.Errorf("message %q", e.Message)
		}
		if im := finalImage(h.srv, "cn-hangzhou/m-a"); im.status != "Deprecated" || im.tag != "" {
			t.Fatalf("m-a: %+v: the change took effect, the tag was never sent", im)
		}
		for _, c := range h.srv.Calls() {
			if c.Action == "TagResources" && c.Params["ResourceId.1"] == "m-a" {
				t.Fatal("tagged an image whose deprecation was never confirmed")
			}
		}
	})
}
