package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

var journalStart = time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)

func newTestJournal(t *testing.T) (*Journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "apply.json"+JournalSuffix)
	j, err := CreateJournal(path, "apply", PolicyRef{Path: "policy.yaml", SHA256: "abc"}, journalStart)
	if err != nil {
		t.Fatal(err)
	}
	return j, path
}

// readLines parses every line of the file as a JournalLine, and checks that each names a kind,
// a region and an image_id.
func readLines(t *testing.T, path string) []JournalLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []JournalLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %d does not parse: %v: %s", n, err, sc.Text())
		}
		for _, k := range []string{"kind", "region", "image_id", "time"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("line %d has no %q: %s", n, k, sc.Text())
			}
		}
		var l JournalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("the file does not end with a newline")
	}
	return out
}

func TestJournalLinesParse(t *testing.T) {
	defer goleak.VerifyNone(t)
	j, path := newTestJournal(t)
	j.Selected(Entry{Region: "cn-hangzhou", ImageID: "m-1", Name: "ci-1", SizeGiB: 20,
		Snapshots: []SnapshotEntry{{SnapshotID: "s-1", SizeGiB: 20}}})
	j.Selected(Entry{Region: "cn-hangzhou", ImageID: "m-2", Name: "golden", Outcome: Skipped, Message: "protected by protect.names[0]"})
	j.Sent("DeleteImage", "cn-hangzhou", "m-1")
	j.Outcome(Entry{Region: "cn-hangzhou", ImageID: "m-1", Outcome: Deleted, RequestID: "R1", Attempts: 2})
	j.Sent("DeleteSnapshot", "cn-hangzhou", "s-1")
	j.SnapshotOutcome("cn-hangzhou", SnapshotEntry{SnapshotID: "s-1", SizeGiB: 20, Outcome: Deleted, RequestID: "R2", Attempts: 1})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	var kinds []string
	for _, l := range lines {
		kinds = append(kinds, l.Kind)
	}
	want := "start selected selected sent outcome sent snapshot_outcome"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("kinds %q, want %q", got, want)
	}
	if l := lines[0]; l.Command != "apply" || l.Policy == nil || l.Policy.SHA256 != "abc" || !l.StartedAt.Equal(journalStart) {
		t.Errorf("start line %+v", l)
	}
	if l := lines[3]; l.Action != "DeleteImage" || l.Region != "cn-hangzhou" || l.ImageID != "m-1" {
		t.Errorf("sent line %+v", l)
	}
	if l := lines[5]; l.Action != "DeleteSnapshot" || l.SnapshotID != "s-1" || l.ImageID != "" {
		t.Errorf("snapshot sent line %+v", l)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := ReadJournal(f)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Torn || rec.Lines != 7 || rec.Command != "apply" {
		t.Errorf("record: torn %v, %d lines, command %q", rec.Torn, rec.Lines, rec.Command)
	}
	rep := rec.Recover(Lookup{Exists: map[string]map[string]bool{}}, path, journalStart.Add(time.Minute))
	if rep.Status != StatusInterrupted || rep.Summary.Selected != 2 || rep.Summary.Deleted != 1 || rep.Summary.Skipped != 1 ||
		rep.Summary.Snapshots.Deleted != 1 || rep.Summary.ImageGiB != 20 {
		t.Errorf("recovered: status %q, summary %+v", rep.Status, rep.Summary)
	}
	if e := rep.Images[0]; e.RequestID != "R1" || e.Attempts != 2 || e.Name != "ci-1" || len(e.Snapshots) != 1 || e.Snapshots[0].RequestID != "R2" {
		t.Errorf("recovered entry %+v", e)
	}
}

// TestJournalConcurrentWriters: lines written from many goroutines at once are each whole.
func TestJournalConcurrentWriters(t *testing.T) {
	defer goleak.VerifyNone(t)
	j, path := newTestJournal(t)
	const writers, each = 8, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("m-%d-%d", w, i)
				j.Selected(Entry{Region: "cn-hangzhou", ImageID: id, Message: strings.Repeat("x", i)})
				j.Sent("DeleteImage", "cn-hangzhou", id)
				j.Outcome(Entry{Region: "cn-hangzhou", ImageID: id, Outcome: Deleted})
				if i%50 == 0 {
					_ = j.Flush()
				}
			}
		})
	}
	wg.Wait()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	if len(lines) != 1+3*writers*each {
		t.Fatalf("%d lines, want %d", len(lines), 1+3*writers*each)
	}
	f, _ := os.Open(path)
	defer f.Close()
	rec, err := ReadJournal(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(rec.SentImages()["cn-hangzhou"]); got != writers*each {
		t.Errorf("%d images sent, want %d", got, writers*each)
	}
}

// TestJournalSentIsWrittenAtOnce: a sent line, and every line before it, is in the file when Sent
// returns; other lines wait for a flush, and Close flushes them.
func TestJournalSentIsWrittenAtOnce(t *testing.T) {
	defer goleak.VerifyNone(t)
	j, path := newTestJournal(t)
	j.Selected(Entry{Region: "r", ImageID: "m-1"})
	j.Sent("DeleteImage", "r", "m-1")
	if n := len(readLines(t, path)); n != 3 {
		t.Errorf("%d lines in the file after Sent, want 3", n)
	}
	j.Outcome(Entry{Region: "r", ImageID: "m-1", Outcome: Deleted})
	if n := len(readLines(t, path)); n != 3 {
		t.Errorf("%d lines in the file before a flush, want 3 (the outcome waits)", n)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(readLines(t, path)); n != 4 {
		t.Errorf("%d lines after Close, want 4: Close flushes", n)
	}
	// After Close nothing is written, and nothing fails.
	j.Sent("DeleteImage", "r", "m-2")
	j.Outcome(Entry{Region: "r", ImageID: "m-2", Outcome: Deleted})
	if err := j.Flush(); err != nil {
		t.Error(err)
	}
	if err := j.Close(); err != nil {
		t.Error(err)
	}
	if n := len(readLines(t, path)); n != 4 {
		t.Errorf("%d lines after writes past Close, want 4", n)
	}
}

// TestJournalFlushesEverySecond: a line waits at most JournalFlushInterval, and Close stops the
// flusher (synctest fails a bubble that leaves a goroutine behind).
func TestJournalFlushesEverySecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j, path := newTestJournal(t)
		j.Outcome(Entry{Region: "r", ImageID: "m-1", Outcome: Blocked, Code: "ImageUsingByInstance"})
		time.Sleep(JournalFlushInterval - time.Millisecond)
		synctest.Wait()
		if n := len(readLines(t, path)); n != 1 {
			t.Errorf("%d lines before the interval, want 1", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		lines := readLines(t, path)
		if len(lines) != 2 || lines[1].Code != "ImageUsingByInstance" {
			t.Errorf("after the interval: %+v", lines)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestJournalPathChecks(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "old.journal")
	if err := os.WriteFile(existing, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := CreateJournal(existing, "apply", PolicyRef{}, journalStart)
	var ej *ExistingJournalError
	if !errors.As(err, &ej) {
		t.Errorf("existing journal: %v, want ExistingJournalError", err)
	}
	if data, _ := os.ReadFile(existing); string(data) != "{}\n" {
		t.Errorf("the existing journal was changed: %q", data)
	}
	if err := CheckJournalPath(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	if err := CheckJournalPath(filepath.Join(dir, "missing", "x.journal")); err == nil {
		t.Errorf("missing directory: no error")
	}
	if err := CheckJournalPath(filepath.Join(existing, "x.journal")); err == nil {
		t.Errorf("a file as the directory: no error")
	}
	if err := CheckJournalPath(filepath.Join(dir, "new.journal")); err != nil {
		t.Errorf("new journal: %v", err)
	}
}

func TestReadJournalTornAndBad(t *testing.T) {
	start := `{"kind":"start","time":"2026-11-28T03:00:00Z","region":"","image_id":"","command":"apply","policy":{"path":"p","sha256":"x"}}` + "\n"
	sent := `{"kind":"sent","time":"2026-11-28T03:00:01Z","region":"r","image_id":"m-1","action":"DeleteImage"}` + "\n"
	rec, err := ReadJournal(strings.NewReader(start + sent + sent[:30]))
	if err != nil || !rec.Torn || rec.Lines != 2 {
		t.Fatalf("torn last line: %v, %+v", err, rec)
	}
	if _, err := ReadJournal(strings.NewReader(start + sent[:30] + "\n" + sent)); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad complete line: %v", err)
	}
	if _, err := ReadJournal(strings.NewReader(sent)); err == nil {
		t.Errorf("no start line: no error")
	}
	if _, err := ReadJournal(strings.NewReader("")); err == nil {
		t.Errorf("empty: no error")
	}
}

// TestRecoverResolves: the lookup has the last word on the images whose real delete was sent.
func TestRecoverResolves(t *testing.T) {
	var b strings.Builder
	line := func(l JournalLine) {
		data, _ := json.Marshal(l)
		b.Write(data)
		b.WriteByte('\n')
	}
	line(JournalLine{Kind: KindStart, Command: "apply", Policy: &PolicyRef{Path: "p.yaml", SHA256: "x"}})
	for _, id := range []string{"gone", "present", "said-deleted-present", "blocked", "untouched", "unknown"} {
		region := "a"
		if id == "unknown" {
			region = "b"
		}
		line(JournalLine{Kind: KindSelected, Region: region, ImageID: id})
	}
	for _, id := range []string{"gone", "present", "said-deleted-present"} {
		line(JournalLine{Kind: KindSent, Action: "DeleteImage", Region: "a", ImageID: id})
	}
	line(JournalLine{Kind: KindSent, Action: "DeleteImage", Region: "b", ImageID: "unknown"})
	line(JournalLine{Kind: KindOutcome, Region: "a", ImageID: "said-deleted-present", Outcome: Deleted})
	line(JournalLine{Kind: KindOutcome, Region: "a", ImageID: "blocked", Outcome: Blocked, Code: "ImageUseShared"})
	rec, err := ReadJournal(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	rep := rec.Recover(Lookup{
		Exists: map[string]map[string]bool{"a": {"present": true, "said-deleted-present": true}},
		Failed: map[string]string{"b": "Throttling"},
	}, "x.journal", journalStart)
	got := map[string]string{}
	for _, e := range rep.Images {
		got[e.ImageID] = string(e.Outcome) + " " + e.Code
	}
	want := map[string]string{
		"gone": "deleted ", "present": "failed InterruptedInFlight", "said-deleted-present": "failed DeleteNotConfirmed",
		"blocked": "blocked ImageUseShared", "untouched": "not_attempted ", "unknown": "failed DeleteResultUnknown",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
	if rep.Status != StatusInterrupted || rep.SchemaVersion != SchemaVersion || len(rep.Warnings) != 2 {
		t.Errorf("status %q, schema %d, warnings %q", rep.Status, rep.SchemaVersion, rep.Warnings)
	}
}
