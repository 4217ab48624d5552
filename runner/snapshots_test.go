package runner_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// snapPolicy selects images older than 30d in cn-hangzhou and deletes their snapshots; m-keep is
// protected.
const snapPolicy = `version: 1
concurrency: 4
regions:
  - region: cn-hangzhou
    select:
      older_than: 30d
    delete_snapshots: true
    protect:
      image_ids: [m-keep]
`

// sharingState: m-a and the young m-b share s-ab; m-c and m-d share s-cd and both go; disks were
// made from s-e; the protected m-keep uses m-g's s-g; m-f is in use and stays with s-f.
func sharingState() *ecstest.State {
	young := oldImage("m-b", "s-b", "s-ab")
	young.CreationTime = now.Add(-10 * 24 * time.Hour)
	used := oldImage("m-f", "s-f")
	return &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {
		Images: []ecstest.Image{
			oldImage("m-a", "s-a", "s-ab"), young,
			oldImage("m-c", "s-c", "s-cd"), oldImage("m-d", "s-d", "s-cd"),
			oldImage("m-e", "s-e"),
			used,
			oldImage("m-g", "s-g"), oldImage("m-keep", "s-keep", "s-g"),
		},
		Instances: []ecstest.Instance{{ID: "i-1", ImageID: "m-f"}},
		Snapshots: []ecstest.Snapshot{{ID: "s-cd", SizeGiB: 100}, {ID: "s-e", SizeGiB: 30, UsedByDisks: true}},
	}}}
}

// snapOutcomes renders the snapshots of a report's entries as "image: snapshot outcome code
// [used_by]", one line per snapshot of each image.
func snapOutcomes(rep *report.Report) []string {
	var out []string
	for _, e := range rep.Images {
		for _, s := range e.Snapshots {
			line := fmt.Sprintf("%s: %s %s %s", e.ImageID, s.SnapshotID, s.Outcome, s.Code)
			if len(s.UsedBy) > 0 {
				line += " " + strings.Join(s.UsedBy, ",")
			}
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// checkSnapshotOrder asserts that every DeleteSnapshot in the call log came after a real
// DeleteImage that succeeded for every image of the state that used the snapshot, and never with
// Force.
func checkSnapshotOrder(t *testing.T, srv *ecstest.Server, st *ecstest.State) {
	t.Helper()
	usedBy := map[string][]string{}
	for _, reg := range st.Regions {
		for _, img := range reg.Images {
			for _, s := range img.Snapshots {
				usedBy[s] = append(usedBy[s], img.ID)
			}
		}
	}
	deletedAt := map[string]int{}
	for i, c := range srv.Calls() {
		switch {
		case c.Action == "DeleteImage" && !c.DryRun && (c.Status == 200 || c.Dropped):
			if _, ok := deletedAt[c.ImageID]; !ok {
				deletedAt[c.ImageID] = i
			}
		case c.Action == "DeleteSnapshot":
			id := c.Params["SnapshotId"]
			if c.Params["Force"] == "true" {
				t.Errorf("DeleteSnapshot %s sent with Force", id)
			}
			for _, img := range usedBy[id] {
				if at, ok := deletedAt[img]; !ok || at > i {
					t.Errorf("DeleteSnapshot %s (call %d) before image %s was deleted", id, i, img)
				}
			}
		}
	}
}

func deleteSnapshotCalls(srv *ecstest.Server) map[string]int {
	m := map[string]int{}
	for _, c := range srv.Calls() {
		if c.Action == "DeleteSnapshot" {
			m[c.Params["SnapshotId"]]++
		}
	}
	return m
}

// TestSnapshotsSharedBetweenImages: plan lists the snapshots that would go and deletes none;
// apply deletes a snapshot only once every image using it is gone. A snapshot shared with an image
// that stays is kept, then deleted by the run in which that last image goes; one shared by two
// images of the same run is deleted once, after both. Disks made from a snapshot keep it.
func TestSnapshotsSharedBetweenImages(t *testing.T) {
	st := sharingState()
	h := newHarness(t, st, ecstest.Options{}, snapPolicy)

	plan := h.run(t, runner.Plan, nil)
	want := []string{
		"m-a: s-a would_delete", "m-a: s-ab kept SnapshotCreatedImage m-b",
		"m-c: s-c would_delete", "m-c: s-cd would_delete",
		"m-d: s-d would_delete", "m-d: s-cd would_delete",
		"m-e: s-e would_delete", // a plan cannot see disks
		"m-g: s-g kept SnapshotCreatedImage m-keep",
	}
	if got := snapOutcomes(plan); !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(deleteSnapshotCalls(h.srv)); n != 0 {
		t.Fatalf("plan sent DeleteSnapshot for %d snapshots", n)
	}
	if s := plan.Summary; s.Snapshots != (report.SnapshotSummary{Total: 7, WouldDelete: 5, Kept: 2}) ||
		s.SnapshotGiB != 20+20+100+20+30 || s.ImageGiB != 5*20 {
		t.Errorf("plan summary %+v", s)
	}
	if e := entries(plan)["cn-hangzhou/m-f"]; e.Outcome != report.Blocked || len(e.Snapshots) != 0 {
		t.Errorf("a blocked image's snapshots are not the run's business: %+v", e)
	}

	apply := h.run(t, runner.Apply, nil)
	want = []string{
		"m-a: s-a deleted", "m-a: s-ab kept SnapshotCreatedImage m-b",
		"m-c: s-c deleted", "m-c: s-cd deleted",
		"m-d: s-d deleted", "m-d: s-cd deleted",
		"m-e: s-e kept SnapshotCreatedDisk",
		"m-g: s-g kept SnapshotCreatedImage m-keep",
	}
	if got := snapOutcomes(apply); !slices.Equal(got, want) {
		t.Errorf("apply:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	calls := deleteSnapshotCalls(h.srv)
	if !maps(calls, map[string]int{"s-a": 1, "s-c": 1, "s-cd": 1, "s-d": 1, "s-e": 1}) {
		t.Errorf("DeleteSnapshot calls %v: one per snapshot no image holds, none for those the listing shows in use", calls)
	}
	for id, exists := range map[string]bool{"s-a": false, "s-ab": true, "s-cd": false, "s-e": true, "s-g": true, "s-f": true, "s-b": true} {
		if h.srv.SnapshotExists(id) != exists {
			t.Errorf("%s exists: %v, want %v", id, !exists, exists)
		}
	}
	e := entries(apply)["cn-hangzhou/m-e"].Snapshots[0]
	if e.Attempts != 1 || e.RequestID == "" || !strings.Contains(e.Remediation, "Force=true") {
		t.Errorf("s-e entry %+v", e)
	}
	if s := apply.Summary.Snapshots; s != (report.SnapshotSummary{Total: 7, Deleted: 4, Kept: 3}) {
		t.Errorf("apply snapshots %+v", s)
	}
	if apply.Summary.SnapshotGiB != 20+20+100+20 {
		t.Errorf("snapshot_gib %d", apply.Summary.SnapshotGiB)
	}
	checkSnapshotOrder(t, h.srv, st)

	// Forty days on, m-b is old too: it goes, and s-ab with it.
	later := h.run(t, runner.Apply, func(c *runner.Config) { c.Now = func() time.Time { return now.Add(40 * 24 * time.Hour) } })
	want = []string{"m-b: s-b deleted", "m-b: s-ab deleted"}
	if got := snapOutcomes(later); !slices.Equal(got, want) {
		t.Errorf("later apply:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if h.srv.SnapshotExists("s-ab") {
		t.Error("s-ab outlived the last image that used it")
	}
	checkSnapshotOrder(t, h.srv, st)
}

func maps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSnapshotsOnlyAfterConfirmedDeletion: an image whose DeleteImage answered success but that is
// still there keeps its snapshots; no DeleteSnapshot is sent for them.
func TestSnapshotsOnlyAfterConfirmedDeletion(t *testing.T) {
	st := &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {Images: []ecstest.Image{
		oldImage("m-1", "s-1"), oldImage("m-2", "s-2"), oldImage("m-3", "s-3"),
	}}}}
	h := newHarness(t, st, ecstest.Options{Faults: map[string]ecstest.Faults{"DeleteImage": {UnappliedDeleteRatio: 1}}}, snapPolicy)
	rep := h.run(t, runner.Apply, nil)
	for _, e := range rep.Images {
		if e.Outcome != report.Failed || e.Code != runner.CodeDeleteNotConfirmed || len(e.Snapshots) != 0 {
			t.Errorf("%s: %s %s, %d snapshots", e.ImageID, e.Outcome, e.Code, len(e.Snapshots))
		}
	}
	if n := len(deleteSnapshotCalls(h.srv)); n != 0 {
		t.Errorf("%d DeleteSnapshot sent for images that were not deleted", n)
	}
}

// TestSnapshotDeletesRetried: throttling, 5xx and answers lost after the delete took effect are
// retried like every call; a snapshot that an unanswered attempt deleted is reported deleted.
func TestSnapshotDeletesRetried(t *testing.T) {
	reg := &ecstest.Region{}
	for _, id := range ids("m-", 40) {
		reg.Images = append(reg.Images, oldImage(id, "s-"+strings.TrimPrefix(id, "m-")))
	}
	st := &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": reg}}
	h := newHarness(t, st, ecstest.Options{Seed: 11, Faults: map[string]ecstest.Faults{
		"DeleteSnapshot": {InternalErrorRatio: 0.2, ThrottleRatio: 0.2, DropAfterDeleteRatio: 0.2}}}, snapPolicy)
	rep := h.run(t, runner.Apply, nil)
	retried, afterDrop := 0, 0
	for _, e := range rep.Images {
		if e.Outcome != report.Deleted || len(e.Snapshots) != 1 {
			t.Fatalf("%s: %s, %d snapshots", e.ImageID, e.Outcome, len(e.Snapshots))
		}
		s := e.Snapshots[0]
		if s.Outcome != report.Deleted || s.Attempts < 1 {
			t.Errorf("%s: %+v", s.SnapshotID, s)
		}
		if s.Attempts > 1 {
			retried++
		}
		if strings.Contains(s.Message, "unknown result") {
			afterDrop++
		}
		if h.srv.SnapshotExists(s.SnapshotID) {
			t.Errorf("%s reported deleted but exists", s.SnapshotID)
		}
	}
	if retried == 0 || afterDrop == 0 {
		t.Errorf("%d snapshots retried, %d found gone after a lost answer; the faults should give some of each", retried, afterDrop)
	}
	checkSnapshotOrder(t, h.srv, st)
}

// TestSnapshotDeleteRefusedStopsTheRegion: a DeleteSnapshot the RAM policy refuses fails a few
// snapshots, not all of them one by one; the rest are not attempted, the images stay deleted.
func TestSnapshotDeleteRefusedStopsTheRegion(t *testing.T) {
	reg := &ecstest.Region{}
	for _, id := range ids("m-", 30) {
		reg.Images = append(reg.Images, oldImage(id, "s-"+strings.TrimPrefix(id, "m-")))
	}
	h := newHarness(t, &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": reg}},
		ecstest.Options{Deny: map[string]string{"DeleteSnapshot": "Forbidden.RAM"}}, snapPolicy)
	rep := h.run(t, runner.Apply, nil)
	s := rep.Summary.Snapshots
	if rep.Summary.Deleted != 30 || s.Failed < 3 || s.Failed > 3+4 || s.Failed+s.NotAttempted != 30 {
		t.Errorf("summary %+v", rep.Summary)
	}
	sent := deleteSnapshotCalls(h.srv)
	if len(sent) != s.Failed {
		t.Errorf("%d DeleteSnapshot sent, %d failed", len(sent), s.Failed)
	}
	for _, e := range rep.Images {
		sn := e.Snapshots[0]
		if sn.Outcome == report.NotAttempted && !strings.Contains(sn.Message, "DeleteSnapshot stopped after 3 consecutive Forbidden.RAM") {
			t.Errorf("%s: %+v", sn.SnapshotID, sn)
		}
		if sn.Outcome == report.Failed && sn.Code != "Forbidden.RAM" {
			t.Errorf("%s: %+v", sn.SnapshotID, sn)
		}
	}
}

// TestSnapshotsLeftAloneByDefault: without delete_snapshots nothing is sent for snapshots and the
// report lists none.
func TestSnapshotsLeftAloneByDefault(t *testing.T) {
	h := newHarness(t, sharingState(), ecstest.Options{}, strings.Replace(snapPolicy, "    delete_snapshots: true\n", "", 1))
	rep := h.run(t, runner.Apply, nil)
	if n := len(deleteSnapshotCalls(h.srv)); n != 0 {
		t.Errorf("%d DeleteSnapshot sent", n)
	}
	for _, e := range rep.Images {
		if len(e.Snapshots) > 0 {
			t.Errorf("%s lists snapshots", e.ImageID)
		}
	}
	if rep.Summary.Deleted != 5 || rep.Summary.Snapshots.Total != 0 || rep.Summary.ImageGiB != 100 {
		t.Errorf("summary %+v", rep.Summary)
	}
}

// TestSnapshotsOfAnInterruptedRun: a run interrupted as its last image is deleted sends no
// DeleteSnapshot, and reports every snapshot of its deleted images not_attempted.
func TestSnapshotsOfAnInterruptedRun(t *testing.T) {
	h := newHarness(t, sharingState(), ecstest.Options{}, snapPolicy)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := runner.Config{Command: runner.Apply, Policy: h.pol, PolicyBytes: h.data, API: h.client, Blockers: true,
		Now: func() time.Time { return now }, Retry: runner.RetryConfig{BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond},
		Progress: func(p runner.Progress) {
			if p.Phase == "delete" && p.Total > 0 && p.Done == p.Total {
				cancel()
			}
		}}
	rep, err := runner.New(cfg).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, rep)
	if rep.Status != report.StatusInterrupted || rep.Summary.Deleted != 5 {
		t.Fatalf("status %s summary %+v", rep.Status, rep.Summary)
	}
	if n := len(deleteSnapshotCalls(h.srv)); n != 0 {
		t.Errorf("%d DeleteSnapshot sent after the interruption", n)
	}
	if s := rep.Summary.Snapshots; s != (report.SnapshotSummary{Total: 7, NotAttempted: 7}) {
		t.Errorf("snapshots %+v", s)
	}
	if b := entries(rep)["cn-hangzhou/m-f"].Blockers; b == nil || b.LookupError != "not looked up: the run stopped first" || b.Remediation == "" {
		t.Errorf("m-f blockers %+v", b)
	}
}

// TestFollowUpsShareTheConcurrencyLimit: blocker lookups and snapshot deletions run within the one
// concurrency limit, with everything else.
func TestFollowUpsShareTheConcurrencyLimit(t *testing.T) {
	reg := &ecstest.Region{}
	for _, id := range ids("m-d", 30) {
		reg.Images = append(reg.Images, oldImage(id, "s-"+strings.TrimPrefix(id, "m-"), "s-x"+strings.TrimPrefix(id, "m-")))
	}
	for i, id := range ids("m-u", 30) {
		reg.Images = append(reg.Images, oldImage(id))
		reg.Instances = append(reg.Instances, ecstest.Instance{ID: fmt.Sprintf("i-%04d", i), ImageID: id})
	}
	h := newHarness(t, &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": reg}},
		ecstest.Options{Faults: map[string]ecstest.Faults{"*": {Latency: 3 * time.Millisecond}}},
		strings.Replace(snapPolicy, "concurrency: 4", "concurrency: 3", 1))
	rep := h.run(t, runner.Apply, func(c *runner.Config) { c.Blockers = true })
	if s := rep.Summary; s.Deleted != 30 || s.Blocked != 30 || s.Snapshots.Deleted != 60 {
		t.Fatalf("summary %+v", s)
	}
	if peak := h.srv.PeakInFlight(); peak > 3 {
		t.Errorf("%d requests in flight at once, over the concurrency of 3", peak)
	}
}

// TestSnapshotsLeftWhenDeletionsCannotBeConfirmed: when the second look at the region fails (here
// the RAM policy stops allowing DescribeImages as the last image is deleted), no deletion is
// confirmed, so no snapshot is touched: each is not_attempted with the listing's code, and the
// report warns.
func TestSnapshotsLeftWhenDeletionsCannotBeConfirmed(t *testing.T) {
	st := &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {Images: []ecstest.Image{
		oldImage("m-1", "s-1"), oldImage("m-2", "s-2", "s-12"), oldImage("m-3", "s-12"),
	}}}}
	h := newHarness(t, st, ecstest.Options{}, snapPolicy)
	rep := h.run(t, runner.Apply, func(c *runner.Config) {
		c.Progress = func(p runner.Progress) {
			if p.Phase == "delete" && p.Total > 0 && p.Done == p.Total {
				h.srv.SetDeny("cn-hangzhou/DescribeImages", "Forbidden.RAM")
			}
		}
	})
	if rep.Summary.Deleted != 3 {
		t.Fatalf("summary %+v", rep.Summary)
	}
	if n := len(deleteSnapshotCalls(h.srv)); n != 0 {
		t.Errorf("%d DeleteSnapshot sent without a confirmed deletion", n)
	}
	if s := rep.Summary.Snapshots; s != (report.SnapshotSummary{Total: 3, NotAttempted: 3}) {
		t.Errorf("snapshots %+v", s)
	}
	for _, e := range rep.Images {
		for _, s := range e.Snapshots {
			if s.Code != "Forbidden.RAM" || !strings.HasPrefix(s.Message, "not attempted: the region's images could not be listed") {
				t.Errorf("%s: %+v", s.SnapshotID, s)
			}
		}
	}
	found := false
	for _, w := range rep.Warnings {
		found = found || strings.HasPrefix(w, "cn-hangzhou: snapshots left alone: could not list images: Forbidden.RAM")
	}
	if !found {
		t.Errorf("warnings %q", rep.Warnings)
	}
}
