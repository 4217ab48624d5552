package runner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// want is what the report must say of one image; an image absent from the map must be absent
// from the report (it was never selected).
type want struct {
	outcome report.Outcome
	code    string
}

// account builds a state of n images per region covering every category the job must tell
// apart, and what plan and apply must report for each.
type account struct {
	state     *ecstest.State
	explicit  map[string][]string // region -> explicit ids for the policy
	protect   map[string][]string // region -> protected ids
	plan      map[string]want     // "region/id" -> outcome in plan
	apply     map[string]want     // "region/id" -> outcome in apply
	deletable map[string]bool     // "region/id" the apply must delete
}

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func buildAccount(regions []string, perRegion int) *account {
	a := &account{
		state:     &ecstest.State{Regions: map[string]*ecstest.Region{}},
		explicit:  map[string][]string{},
		protect:   map[string][]string{},
		plan:      map[string]want{},
		apply:     map[string]want{},
		deletable: map[string]bool{},
	}
	old := now.Add(-90 * 24 * time.Hour)
	for ri, region := range regions {
		reg := &ecstest.Region{}
		a.state.Regions[region] = reg
		for i := 0; i < perRegion; i++ {
			id := fmt.Sprintf("m-r%di%04d", ri, i)
			key := region + "/" + id
			img := ecstest.Image{ID: id, Name: fmt.Sprintf("ci-%04d", i), CreationTime: old, SizeGiB: 20,
				Tags: map[string]string{"team": "ci"}}
			del := func() {
				a.plan[key] = want{outcome: report.WouldDelete}
				a.apply[key] = want{outcome: report.Deleted}
				a.deletable[key] = true
			}
			blocked := func(code string) {
				a.plan[key] = want{report.Blocked, code}
				a.apply[key] = want{report.Blocked, code}
			}
			skipped := func(code string) {
				a.plan[key] = want{report.Skipped, code}
				a.apply[key] = want{report.Skipped, code}
			}
			switch i % 20 {
			case 0, 1, 2, 3, 4, 5:
				del()
			case 6:
				img.Status = ecs.StatusUnAvailable
				del()
			case 7:
				img.Status = ecs.StatusCreateFailed
				del()
			case 8:
				img.Status = ecs.StatusDeprecated
				del()
			case 9:
				reg.Instances = append(reg.Instances, ecstest.Instance{ID: "i-" + id[2:], ImageID: id, Status: "Running"})
				blocked("ImageUsingByInstance")
			case 10:
				img.SharedWith = []string{"1234567890"}
				blocked("ImageUseShared")
			case 11:
				switch (i / 20) % 4 {
				case 0:
					img.Copying = true
					blocked("OperationDenied.ImageCopying")
				case 1:
					img.Importing = true
					blocked("ImageIsImporting")
				case 2:
					img.Exporting = true
					blocked("ImageIsExporting")
				default:
					img.IsPublic = true
					blocked("ImageIsPublic")
				}
			case 12:
				a.protect[region] = append(a.protect[region], id)
				skipped("")
			case 13:
				img.Tags["keep"] = "true"
				skipped("")
			case 14:
				img.Name = fmt.Sprintf("golden-ci-%04d", i)
				// golden-* does not match ci-*: never selected, absent from the report.
				if (i/20)%2 == 0 {
					img.Name = fmt.Sprintf("ci-golden-%04d", i)
					skipped("") // matches ci-* and the protect glob *golden*
				}
			case 15:
				img.CreationTime = now.Add(-24 * time.Hour) // too young
			case 16:
				img.Name = fmt.Sprintf("web-%04d", i) // wrong name
			case 17:
				if (i/20)%2 == 0 {
					img.Status = ecs.StatusCreating
				} else {
					img.Status = ecs.StatusWaiting
				}
			case 18:
				img.OwnerAlias = ecs.OwnerSystem // a system image named ci-*: never ours
				if (i/20)%2 == 0 {
					a.explicit[region] = append(a.explicit[region], id)
					skipped(runner.CodeNotOwned)
				}
			case 19:
				// An explicit id that does not exist at all.
				missing := fmt.Sprintf("m-missing%di%04d", ri, i)
				a.explicit[region] = append(a.explicit[region], missing)
				a.plan[region+"/"+missing] = want{report.Skipped, "InvalidImageId.NotFound"}
				a.apply[region+"/"+missing] = want{report.Skipped, "InvalidImageId.NotFound"}
				img.Tags["team"] = "web" // wrong tag: not selected
			}
			reg.Images = append(reg.Images, img)
		}
	}
	return a
}

func (a *account) policyYAML(regions []string, extra string) string {
	var b strings.Builder
	b.WriteString("version: 1\nconcurrency: 16\nregions:\n")
	for _, region := range regions {
		fmt.Fprintf(&b, "  - region: %s\n", region)
		if ids := a.explicit[region]; len(ids) > 0 {
			fmt.Fprintf(&b, "    image_ids: [%s]\n", strings.Join(ids, ", "))
		}
		b.WriteString("    select:\n      name: \"ci-*\"\n      tags: {team: ci}\n      older_than: 30d\n")
		if ids := a.protect[region]; len(ids) > 0 {
			fmt.Fprintf(&b, "    protect:\n      image_ids: [%s]\n", strings.Join(ids, ", "))
		}
	}
	b.WriteString("protect:\n  tags: {keep: \"true\"}\n  names: [\"*golden*\"]\n")
	b.WriteString(extra)
	return b.String()
}

type harness struct {
	srv    *ecstest.Server
	client *ecs.Client
	quick  *ecs.Client // the property tests' client, with a short request timeout
	pol    *policy.Policy
	data   []byte
}

func newHarness(t testing.TB, st *ecstest.State, opts ecstest.Options, policyYAML string) *harness {
	t.Helper()
	srv := ecstest.NewServer(st, opts)
	t.Cleanup(srv.Close)
	client, err := ecs.New(ecs.Config{Endpoint: srv.URL(), Credential: ecs.StaticCredential(ecstest.AccessKeyID, ecstest.AccessKeySecret, ""), MaxIdleConns: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	pol, err := policy.Parse("policy.yaml", []byte(policyYAML))
	if err != nil {
		t.Fatalf("policy: %v\n%s", err, policyYAML)
	}
	return &harness{srv: srv, client: client, quick: client, pol: pol, data: []byte(policyYAML)}
}

// unpacedStart is a cold-start pace no test's emulator pushes back on.
const unpacedStart = 100000

func (h *harness) run(t testing.TB, command string, mutate func(*runner.Config)) *report.Report {
	t.Helper()
	cfg := runner.Config{Command: command, Policy: h.pol, PolicyPath: "policy.yaml", PolicyBytes: h.data, API: h.client,
		Now: func() time.Time { return now }, Retry: runner.RetryConfig{BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond},
		// Tests of what is deleted and reported start unpaced; the tests of pacing set Rate.
		Rate: runner.RateConfig{Start: unpacedStart}}
	if mutate != nil {
		mutate(&cfg)
	}
	rep, err := runner.New(cfg).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, rep)
	return rep
}

// checkSums asserts the report's arithmetic: one entry per image, outcomes summing to selected,
// by_code counting exactly the blocked and failed entries.
func checkSums(t testing.TB, rep *report.Report) {
	t.Helper()
	seen := map[string]bool{}
	var s report.Summary
	byCode := map[string]int{}
	for _, e := range rep.Images {
		key := e.Region + "/" + e.ImageID
		if seen[key] {
			t.Errorf("%s appears twice in the report", key)
		}
		seen[key] = true
		s.Selected++
		switch e.Outcome {
		case report.Deleted:
			s.Deleted++
		case report.WouldDelete:
			s.WouldDelete++
		case report.Blocked:
			s.Blocked++
			byCode[e.Code]++
		case report.Failed:
			s.Failed++
			byCode[e.Code]++
		case report.Skipped:
			s.Skipped++
		case report.NotAttempted:
			s.NotAttempted++
		case report.Deprecated:
			s.Deprecated++
		case report.WouldDeprecate:
			s.WouldDeprecate++
		case report.Restored:
			s.Restored++
		default:
			t.Errorf("%s: unknown outcome %q", key, e.Outcome)
		}
	}
	// Sizes and snapshots are counted from the entries too, each snapshot of a region once.
	snaps := map[string]bool{}
	for _, e := range rep.Images {
		if e.Outcome == report.Deleted || e.Outcome == report.WouldDelete {
			s.ImageGiB += e.SizeGiB
		}
		for _, sn := range e.Snapshots {
			if snaps[e.Region+"/"+sn.SnapshotID] {
				continue
			}
			snaps[e.Region+"/"+sn.SnapshotID] = true
			s.Snapshots.Total++
			switch sn.Outcome {
			case report.Deleted:
				s.Snapshots.Deleted++
				s.SnapshotGiB += sn.SizeGiB
			case report.WouldDelete:
				s.Snapshots.WouldDelete++
				s.SnapshotGiB += sn.SizeGiB
			case report.Kept:
				s.Snapshots.Kept++
			case report.Failed:
				s.Snapshots.Failed++
			case report.Skipped:
				s.Snapshots.Skipped++
			case report.NotAttempted:
				s.Snapshots.NotAttempted++
			default:
				t.Errorf("%s/%s: snapshot %s: unknown outcome %q", e.Region, e.ImageID, sn.SnapshotID, sn.Outcome)
			}
		}
	}
	if s != rep.Summary {
		t.Errorf("summary %+v, entries give %+v", rep.Summary, s)
	}
	if fmt.Sprint(byCode) != fmt.Sprint(rep.ByCode) {
		t.Errorf("by_code %v, entries give %v", rep.ByCode, byCode)
	}
}

func checkOutcomes(t *testing.T, rep *report.Report, wants map[string]want) {
	t.Helper()
	got := map[string]report.Entry{}
	for _, e := range rep.Images {
		got[e.Region+"/"+e.ImageID] = e
	}
	for key, w := range wants {
		e, ok := got[key]
		switch {
		case !ok:
			t.Errorf("%s: missing from the report, want %s %s", key, w.outcome, w.code)
		case e.Outcome != w.outcome || (w.code != "" && e.Code != w.code):
			t.Errorf("%s: got %s %q (%s), want %s %q", key, e.Outcome, e.Code, e.Message, w.outcome, w.code)
		}
	}
	for key, e := range got {
		if _, ok := wants[key]; !ok {
			t.Errorf("%s: in the report as %s %q but should not have been selected", key, e.Outcome, e.Code)
		}
	}
}

func TestPlanThenApplyEndToEnd(t *testing.T) {
	regions := []string{"cn-hangzhou", "cn-shanghai", "ap-southeast-1"}
	a := buildAccount(regions, 167) // 501 images
	h := newHarness(t, a.state, ecstest.Options{}, a.policyYAML(regions, ""))

	plan := h.run(t, runner.Plan, nil)
	if plan.Status != report.StatusCompleted {
		t.Fatalf("plan status %s (fault %q)", plan.Status, plan.Fault)
	}
	checkOutcomes(t, plan, a.plan)
	for _, c := range h.srv.Calls() {
		if c.Action == "DeleteImage" && !c.DryRun {
			t.Fatalf("plan sent a real DeleteImage for %s", c.ImageID)
		}
	}

	apply := h.run(t, runner.Apply, nil)
	if apply.Status != report.StatusCompleted {
		t.Fatalf("apply status %s (fault %q)", apply.Status, apply.Fault)
	}
	checkOutcomes(t, apply, a.apply)
	t.Logf("plan %+v by_code %v; apply %+v by_code %v", plan.Summary, plan.ByCode, apply.Summary, apply.ByCode)

	realDeletes := map[string]int{}
	for _, c := range h.srv.Calls() {
		if c.Action != "DeleteImage" {
			continue
		}
		if c.Force || c.Params["Force"] == "true" {
			t.Errorf("Force sent for %s though the policy does not ask for it", c.ImageID)
		}
		if !c.DryRun {
			realDeletes[c.Region+"/"+c.ImageID]++
		}
	}
	for key := range a.deletable {
		if realDeletes[key] != 1 {
			t.Errorf("%s: %d real deletes, want exactly 1", key, realDeletes[key])
		}
		region, id, _ := strings.Cut(key, "/")
		if _, ok := h.srv.Image(region, id); ok {
			t.Errorf("%s reported deleted but still exists", key)
		}
	}
	for key := range realDeletes {
		if !a.deletable[key] {
			t.Errorf("%s: a real DeleteImage was sent for an image that is not deletable", key)
		}
	}
	if apply.Summary.Deleted != len(a.deletable) {
		t.Errorf("deleted %d, want %d", apply.Summary.Deleted, len(a.deletable))
	}
}
