package runner_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// TestJournalRecordsTheRun: a run with a journal names every real delete in a sent line, and the
// report recovered from its journal alone says what the run's own report says, image by image and
// snapshot by snapshot.
func TestJournalRecordsTheRun(t *testing.T) {
	st := sharingState()
	h := newHarness(t, st, ecstest.Options{}, snapPolicy)
	path := filepath.Join(t.TempDir(), "apply.json.journal")
	j, err := report.CreateJournal(path, runner.Apply, report.PolicyRef{Path: "policy.yaml"}, now)
	if err != nil {
		t.Fatal(err)
	}
	rep := h.run(t, runner.Apply, func(c *runner.Config) { c.Journal = j })
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := report.ReadJournal(f)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Torn {
		t.Error("a closed journal has a torn line")
	}

	sent := rec.SentImages()
	for _, c := range h.srv.Calls() {
		if c.Action == "DeleteImage" && !c.DryRun && !slices.Contains(sent[c.Region], c.ImageID) {
			t.Errorf("DeleteImage %s/%s has no sent line", c.Region, c.ImageID)
		}
	}
	exists := map[string]map[string]bool{}
	for region, ids := range sent {
		exists[region] = map[string]bool{}
		for _, id := range ids {
			_, ok := h.srv.Image(region, id)
			exists[region][id] = ok
		}
	}
	got := rec.Recover(report.Lookup{Exists: exists}, path, now.Add(time.Minute))
	if len(got.Images) != len(rep.Images) {
		t.Fatalf("recovered %d images, the run reported %d", len(got.Images), len(rep.Images))
	}
	for i, w := range rep.Images {
		g := got.Images[i]
		if g.ImageID != w.ImageID || g.Outcome != w.Outcome || g.Code != w.Code || g.Message != w.Message || g.Attempts != w.Attempts ||
			g.SizeGiB != w.SizeGiB || len(g.Snapshots) != len(w.Snapshots) {
			t.Errorf("recovered %+v\nthe run reported %+v", g, w)
			continue
		}
		for k, ws := range w.Snapshots {
			if gs := g.Snapshots[k]; gs.SnapshotID != ws.SnapshotID || gs.Outcome != ws.Outcome || gs.Code != ws.Code || !slices.Equal(gs.UsedBy, ws.UsedBy) {
				t.Errorf("%s: recovered snapshot %+v, the run reported %+v", w.ImageID, gs, ws)
			}
		}
	}
	if got.Summary != rep.Summary {
		t.Errorf("recovered summary %+v, the run's %+v", got.Summary, rep.Summary)
	}
	checkAgainstEmulator(t, got, h.srv, st)
}
