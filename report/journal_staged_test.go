package report

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// stagedJournal writes the journal of a killed run of command from the given lines after its
// start line, and reads it back.
func stagedJournal(t *testing.T, command string, lines ...JournalLine) *JournalRecord {
	t.Helper()
	var b strings.Builder
	for _, l := range append([]JournalLine{{Kind: KindStart, Command: command, Policy: &PolicyRef{Path: "p.yaml", SHA256: "x"}}}, lines...) {
		data, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	rec, err := ReadJournal(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func selected(region string, ids ...string) []JournalLine {
	var out []JournalLine
	for _, id := range ids {
		out = append(out, JournalLine{Kind: KindSelected, Region: region, ImageID: id})
	}
	return out
}

func sentStatus(region, id, status string) JournalLine {
	return JournalLine{Kind: KindSent, Action: ActionModifyImageAttribute, Region: region, ImageID: id, Status: status}
}

func sentAction(action, region, id string) JournalLine {
	return JournalLine{Kind: KindSent, Action: action, Region: region, ImageID: id}
}

func outcome(region, id string, o Outcome, code, msg string) JournalLine {
	return JournalLine{Kind: KindOutcome, Region: region, ImageID: id, Outcome: o, Code: code, Message: msg}
}

// recovered is one image of a recovered report: outcome, code and a part of the message.
type recovered struct {
	outcome Outcome
	code    string
	message string // a substring the message must have
}

func checkRecovered(t *testing.T, rep *Report, want map[string]recovered) {
	t.Helper()
	if len(rep.Images) != len(want) {
		t.Errorf("%d images recovered, want %d", len(rep.Images), len(want))
	}
	for _, e := range rep.Images {
		w, ok := want[e.ImageID]
		switch {
		case !ok:
			t.Errorf("%s recovered, not expected", e.ImageID)
		case e.Outcome != w.outcome || e.Code != w.code || !strings.Contains(e.Message, w.message):
			t.Errorf("%s: %s %q (%s), want %s %q with %q", e.ImageID, e.Outcome, e.Code, e.Message, w.outcome, w.code, w.message)
		}
	}
}

// TestRecoverSettlesDeprecations: the images whose real ModifyImageAttribute Status=Deprecated or
// TagResources a killed apply sent are settled by what the lookup finds, image by image; what it
// cannot see, the journal's outcome says, and unknown stays unknown.
func TestRecoverSettlesDeprecations(t *testing.T) {
	ids := []string{"tagged", "untagged", "said", "said-tag-lost", "not-taken", "claimed", "failed-kept", "gone",
		"tag-only", "tag-only-not", "listed-no-status", "untouched"}
	lines := slices.Concat(selected("a", ids...), selected("b", "unknown", "unknown-said"))
	for _, id := range ids[:len(ids)-1] {
		if !strings.HasPrefix(id, "tag-only") {
			lines = append(lines, sentStatus("a", id, StatusDeprecated))
		}
	}
	lines = append(lines,
		sentAction(ActionTagResources, "a", "tagged"), sentAction(ActionTagResources, "a", "said"), sentAction(ActionTagResources, "a", "said-tag-lost"),
		sentAction(ActionTagResources, "a", "tag-only"), sentAction(ActionTagResources, "a", "tag-only-not"),
		outcome("a", "said", Deprecated, "", "deprecated; eligible for deletion on 2026-12-12T03:00:00Z"),
		outcome("a", "said-tag-lost", Deprecated, "", "deprecated; eligible for deletion on 2026-12-12T03:00:00Z"),
		outcome("a", "claimed", Deprecated, "", "deprecated; eligible for deletion on 2026-12-12T03:00:00Z"),
		outcome("a", "failed-kept", Failed, "InternalError", "The request processing has failed (after 8 attempts)"),
		sentStatus("b", "unknown", StatusDeprecated), sentStatus("b", "unknown-said", StatusDeprecated),
		outcome("b", "unknown-said", Deprecated, "", "deprecated; eligible for deletion on 2026-12-12T03:00:00Z"),
	)
	rec := stagedJournal(t, "apply", lines...)
	if got := rec.ChangedImages(); len(got["a"]) != len(ids)-1 || len(got["b"]) != 2 || len(rec.SentImages()) != 0 {
		t.Fatalf("changed %v, sent %v", got, rec.SentImages())
	}
	if got := rec.LookUpImages(); len(got["a"]) != len(ids)-1 || len(got["b"]) != 2 {
		t.Fatalf("to look up: %v", got)
	}
	dep := func(tagged bool) FoundImage {
		if tagged {
			return FoundImage{Status: StatusDeprecated, DeprecatedAt: "2026-11-28T03:00:00Z", Tagged: true}
		}
		return FoundImage{Status: StatusDeprecated}
	}
	found := map[string]FoundImage{"tagged": dep(true), "untagged": dep(false), "said": dep(true), "said-tag-lost": dep(false),
		"not-taken": {Status: StatusAvailable}, "claimed": {Status: StatusAvailable}, "failed-kept": {Status: StatusAvailable},
		"tag-only": dep(true), "tag-only-not": dep(false)}
	exists := map[string]bool{"listed-no-status": true}
	for id := range found {
		exists[id] = true
	}
	rep := rec.Recover(Lookup{Exists: map[string]map[string]bool{"a": exists}, Found: map[string]map[string]FoundImage{"a": found},
		Failed: map[string]string{"b": "Throttling"}}, "x.journal", journalStart)
	nextApply := "the next apply tags it"
	checkRecovered(t, rep, map[string]recovered{
		"tagged":           {Deprecated, "", "tagged " + DeprecatedAtTag + "=2026-11-28T03:00:00Z before the process was killed"},
		"untagged":         {Deprecated, "", nextApply},
		"said":             {Deprecated, "", "deprecated; eligible for deletion on 2026-12-12T03:00:00Z"},
		"said-tag-lost":    {Deprecated, "", nextApply},
		"not-taken":        {Failed, CodeInterruptedInFlight, "ModifyImageAttribute Status=Deprecated was in flight; the image is still Available"},
		"claimed":          {Failed, CodeChangeNotConfirmed, "answered success, but the image is still Available"},
		"failed-kept":      {Failed, "InternalError", "after 8 attempts"},
		"gone":             {Skipped, CodeImageGone, "no DeleteImage"},
		"tag-only":         {Skipped, CodeInGracePeriod, "tagged " + DeprecatedAtTag + "=2026-11-28T03:00:00Z"},
		"tag-only-not":     {Failed, CodeInterruptedInFlight, "TagResources was in flight; the image is still without its " + DeprecatedAtTag + " tag: " + nextApply},
		"listed-no-status": {Failed, CodeChangeResultUnknown, "the lookup did not say"},
		"untouched":        {NotAttempted, "", "killed before it reached the image"},
		"unknown":          {Failed, CodeChangeResultUnknown, "the lookup failed: Throttling"},
		"unknown-said":     {Deprecated, "", "eligible for deletion"},
	})
	if rep.Summary.Deprecated != 5 || rep.Summary.Failed != 6 || rep.Status != StatusInterrupted || rep.SchemaVersion != SchemaVersion {
		t.Errorf("%s, schema %d, summary %+v", rep.Status, rep.SchemaVersion, rep.Summary)
	}
	if len(rep.Warnings) != 2 || !strings.Contains(rep.Warnings[0], "10 images whose real delete or change was sent were looked up") {
		t.Errorf("warnings %q", rep.Warnings)
	}
}

// TestRecoverSettlesRestores: a killed restore's images are restored where the lookup finds them
// Available, and not where it finds them still Deprecated.
func TestRecoverSettlesRestores(t *testing.T) {
	rec := stagedJournal(t, "restore", slices.Concat(selected("a", "done", "tag-left", "not-taken", "claimed", "gone", "untouched"), []JournalLine{
		sentStatus("a", "done", StatusAvailable), sentAction(ActionUntagResources, "a", "done"),
		sentStatus("a", "tag-left", StatusAvailable),
		sentStatus("a", "not-taken", StatusAvailable),
		sentStatus("a", "claimed", StatusAvailable), sentAction(ActionUntagResources, "a", "claimed"),
		outcome("a", "claimed", Restored, "", "set back to Available; the tag removed"),
		sentStatus("a", "gone", StatusAvailable),
	})...)
	tagged := FoundImage{Status: StatusDeprecated, DeprecatedAt: "2026-11-01T00:00:00Z", Tagged: true}
	found := map[string]FoundImage{"done": {Status: StatusAvailable}, "tag-left": {Status: StatusAvailable, DeprecatedAt: "x", Tagged: true},
		"not-taken": tagged, "claimed": tagged}
	exists := map[string]bool{}
	for id := range found {
		exists[id] = true
	}
	rep := rec.Recover(Lookup{Exists: map[string]map[string]bool{"a": exists}, Found: map[string]map[string]FoundImage{"a": found}}, "x.journal", journalStart)
	checkRecovered(t, rep, map[string]recovered{
		"done":      {Restored, "", "set back to Available and its " + DeprecatedAtTag + " tag removed"},
		"tag-left":  {Restored, "", "tag is still there (harmless"},
		"not-taken": {Failed, CodeInterruptedInFlight, "ModifyImageAttribute Status=Available was in flight; the image is still Deprecated"},
		"claimed":   {Failed, CodeChangeNotConfirmed, "the image is still Deprecated"},
		"gone":      {Skipped, CodeImageGone, ""},
		"untouched": {NotAttempted, "", ""},
	})
	if rep.Command != "restore" || rep.Summary.Restored != 2 {
		t.Errorf("%s %+v", rep.Command, rep.Summary)
	}
}

// TestJournalStagedSentLines: a sent line of a status change names the status; every sent line
// is in the file when it returns; a journal without them (an older one) reads as before, and a
// sent line of an action no run sends is refused rather than misread.
func TestJournalStagedSentLines(t *testing.T) {
	defer goleak.VerifyNone(t)
	j, path := newTestJournal(t)
	j.Selected(Entry{Region: "r", ImageID: "m-1"})
	j.SentStatus("r", "m-1", StatusDeprecated)
	j.Sent(ActionTagResources, "r", "m-1")
	lines := readLines(t, path)
	if len(lines) != 4 || lines[2].Action != ActionModifyImageAttribute || lines[2].Status != StatusDeprecated || lines[2].ImageID != "m-1" ||
		lines[3].Action != ActionTagResources || lines[3].ImageID != "m-1" || lines[3].Status != "" {
		t.Fatalf("lines %+v", lines)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	start := `{"kind":"start","time":"2026-11-28T03:00:00Z","region":"","image_id":"","command":"apply","policy":{"path":"p","sha256":"x"}}` + "\n"
	old := start + `{"kind":"sent","time":"2026-11-28T03:00:01Z","region":"r","image_id":"m-1","action":"DeleteImage"}` + "\n"
	if rec, err := ReadJournal(strings.NewReader(old)); err != nil || len(rec.SentImages()["r"]) != 1 || len(rec.ChangedImages()) != 0 {
		t.Fatalf("an older journal: %v", err)
	}
	for _, bad := range []string{
		`{"kind":"sent","region":"r","image_id":"m-1","action":"CopyImage"}`,
		`{"kind":"sent","region":"r","image_id":"m-1","action":"ModifyImageAttribute"}`,
	} {
		if _, err := ReadJournal(strings.NewReader(start + bad + "\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
