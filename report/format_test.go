package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// auditSample is a report with every kind of finding the audit formats render: blockers of each
// kind (found, published to all, a failed lookup, none needed), failed images, snapshots deleted,
// kept, shared by two images and not attempted, a name that would break a markdown table, and
// images kept by protection, keep_latest and a reference.
func auditSample(command string) *Report {
	start := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := start.Add(-d); return &t }
	const day = 24 * time.Hour
	r := New(command, "policy.yaml", []byte("version: 1\n"), start)
	gone := Deleted
	if command == "plan" {
		gone = WouldDelete
	}
	r.AddRegion("eu-central-1")
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-del1", Name: "ci-1", Outcome: gone, Attempts: 2, SizeGiB: 40,
		CreatedAt: ago(93*day + 5*time.Hour), Family: "ci", SelectedBy: "select",
		Snapshots: []SnapshotEntry{
			{SnapshotID: "s-sys1", SizeGiB: 40, Outcome: gone, Attempts: 1},
			{SnapshotID: "s-shared", SizeGiB: 100, Outcome: gone, Attempts: 1},
		}})
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-del2", Name: "ci-2", Outcome: gone, Attempts: 2, SizeGiB: 20,
		CreatedAt: ago(31 * day), Family: "ci", SelectedBy: "image_ids",
		Snapshots: []SnapshotEntry{
			{SnapshotID: "s-shared", SizeGiB: 100, Outcome: gone, Attempts: 1},
			{SnapshotID: "s-kept", SizeGiB: 20, Outcome: Kept, Code: "SnapshotCreatedImage", UsedBy: []string{"m-newer"},
				Message:     "still used by image m-newer, which this run does not delete",
				Remediation: "custom images were created from the snapshot: delete those images with DeleteImage first, then the snapshot"},
			{SnapshotID: "s-disk", SizeGiB: 30, Outcome: Kept, Code: "SnapshotCreatedDisk", Attempts: 1,
				Message:     "The specified snapshot has been used to create disk, please use the force parameter to delete it.",
				Remediation: "disks were created from the snapshot: DeleteSnapshot with Force=true deletes it, after which those disks can no longer be re-initialized"},
		}})
	used := "instances were created from the image: find them with DescribeInstances (listed in blockers) and release them or replace their system disks, or proceed with the force parameter (force: true in the policy)"
	shared := "the image is shared with other accounts (DescribeImageSharePermission, listed in blockers): unshare it with ModifyImageSharePermission (RemoveAccount.N, and IsPublic=false if published to all), then delete it"
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-used1", Name: "ci|used *one*", Outcome: Blocked, Code: "ImageUsingByInstance",
		Message: "The specified image has been used to create instances.", Attempts: 1, SizeGiB: 20,
		Blockers: &Blockers{Instances: []string{"i-1", "i-2"}, Remediation: used}})
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-used2", Name: "ci-used-2", Outcome: Blocked, Code: "ImageUsingByInstance",
		Attempts: 1, SizeGiB: 20, Blockers: &Blockers{Remediation: used, LookupError: "Forbidden.RAM: User not authorized to operate on the specified resource."}})
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-shared", Name: "ci-shared", Outcome: Blocked, Code: "ImageUseShared",
		Attempts: 1, SizeGiB: 20, Blockers: &Blockers{SharedWith: []string{"1888888888888888"}, PublishedToAll: true, Remediation: shared}})
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-keep", Name: "ci-keep", Outcome: Skipped, SizeGiB: 20,
		CreatedAt: ago(5 * time.Hour), Family: "ci",
		Message:     `kept by regions[0].select.keep_latest: #1 newest of 2 in family "ci" (keep_latest 1)`,
		ProtectedBy: `regions[0].select.keep_latest: #1 newest of 2 in family "ci" (keep_latest 1)`})
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-ref", Name: "ci-launched", Outcome: Skipped, Code: "ReferencedByLaunchTemplate",
		SizeGiB: 40, CreatedAt: ago(120 * day), Family: "web", SelectedBy: "select", ProtectedBy: "protect.referenced",
		ReferencedBy: []string{"lt-1:3", "asc-1"},
		Message:      "kept: still named by launch template versions lt-1:3 and scaling configurations asc-1; launches from them would fail without it"})
	r.Add(Entry{Region: "cn-shanghai", ImageID: "m-golden", Name: "golden-base", Outcome: Skipped, SizeGiB: 40,
		CreatedAt: ago(400 * day), Message: `protected by protect.names[0] "golden-*"`, ProtectedBy: `protect.names[0] "golden-*"`})
	r.Add(Entry{Region: "cn-shanghai", ImageID: "m-copy", Name: "ci-copy", Outcome: Blocked, Code: "OperationDenied.ImageCopying",
		Attempts: 1, SizeGiB: 20, Blockers: &Blockers{Remediation: "the image is being copied: cancel the copy with CancelCopyImage, or wait for it to finish"}})
	r.Add(Entry{Region: "cn-shanghai", ImageID: "m-fail", Name: "ci-fail", Outcome: Failed, Code: "InternalError",
		Message: "The request processing has failed due to some unknown error. (after 8 attempts)", Attempts: 8, SizeGiB: 20})
	r.Add(Entry{Region: "cn-shanghai", ImageID: "m-del3", Name: "ci-3", Outcome: gone, Attempts: 2, SizeGiB: 50,
		CreatedAt: ago(45 * time.Minute), SelectedBy: "image_ids",
		Snapshots: []SnapshotEntry{{SnapshotID: "s-late", SizeGiB: 50, Outcome: NotAttempted, Message: "not attempted: the run was interrupted"}}})
	r.Finish(StatusCompleted, start.Add(41*time.Second))
	return r
}

func TestSnapshotAndSizeCounts(t *testing.T) {
	r := auditSample("apply")
	s := r.Summary
	// s-shared is listed by two images and counted once.
	want := SnapshotSummary{Total: 5, Deleted: 2, Kept: 2, NotAttempted: 1}
	if s.Snapshots != want {
		t.Errorf("snapshots %+v, want %+v", s.Snapshots, want)
	}
	if s.ImageGiB != 40+20+50 || s.SnapshotGiB != 40+100 {
		t.Errorf("image_gib %d snapshot_gib %d", s.ImageGiB, s.SnapshotGiB)
	}
	hz := r.Regions["cn-hangzhou"].Summary
	if hz.Snapshots.Total != 4 || hz.SnapshotGiB != 140 || hz.ImageGiB != 60 {
		t.Errorf("cn-hangzhou %+v", hz)
	}
	if sh := r.Regions["cn-shanghai"].Summary; sh.Snapshots.NotAttempted != 1 || sh.ImageGiB != 50 || sh.SnapshotGiB != 0 {
		t.Errorf("cn-shanghai %+v", sh)
	}
	plan := auditSample("plan").Summary
	if plan.Snapshots.WouldDelete != 2 || plan.SnapshotGiB != 140 || plan.ImageGiB != 110 || plan.Deleted != 0 {
		t.Errorf("plan %+v", plan)
	}

	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	sum := m["summary"].(map[string]any)
	for _, k := range []string{"image_gib", "snapshot_gib", "snapshots"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
	for _, k := range []string{"total", "deleted", "would_delete", "kept", "failed", "skipped", "not_attempted"} {
		if _, ok := sum["snapshots"].(map[string]any)[k]; !ok {
			t.Errorf("summary.snapshots lacks %q", k)
		}
	}
	var blocked, deleted map[string]any
	for _, e := range m["images"].([]any) {
		e := e.(map[string]any)
		switch e["image_id"] {
		case "m-shared":
			blocked = e
		case "m-del2":
			deleted = e
		}
	}
	b := blocked["blockers"].(map[string]any)
	for _, k := range []string{"shared_with", "published_to_all", "remediation"} {
		if _, ok := b[k]; !ok {
			t.Errorf("blockers lack %q: %v", k, b)
		}
	}
	snap := deleted["snapshots"].([]any)[1].(map[string]any)
	for _, k := range []string{"snapshot_id", "size_gib", "outcome", "code", "message", "used_by", "remediation", "request_id", "attempts"} {
		if _, ok := snap[k]; !ok {
			t.Errorf("snapshot entry lacks %q: %v", k, snap)
		}
	}
	if _, ok := deleted["blockers"]; ok {
		t.Error("a deleted image has blockers")
	}
}

// partialSample is auditSample("apply") with a region that could not be listed.
func partialSample() *Report {
	r := auditSample("apply")
	r.AddRegion("eu-central-1").Error = "could not list images: Forbidden.RAM: User not authorized to operate on the specified resource."
	r.Finish(StatusCompleted, r.FinishedAt)
	return r
}

// TestSummaryFormatsGolden: one golden file per summary format, over the same report.
func TestSummaryFormatsGolden(t *testing.T) {
	for _, tc := range []struct {
		sample         func() *Report
		format, golden string
	}{
		{func() *Report { return auditSample("apply") }, FormatText, "audit-apply.txt.golden"},
		{func() *Report { return auditSample("apply") }, FormatMarkdown, "audit-apply.md.golden"},
		{func() *Report { return auditSample("apply") }, FormatJSON, "audit-apply.json.golden"},
		{func() *Report { return auditSample("plan") }, FormatText, "audit-plan.txt.golden"},
		{func() *Report { return auditSample("plan") }, FormatMarkdown, "audit-plan.md.golden"},
		{func() *Report { return auditSample("plan") }, FormatJSON, "audit-plan.json.golden"},
		{partialSample, FormatText, "audit-partial.txt.golden"},
		{partialSample, FormatMarkdown, "audit-partial.md.golden"},
		{partialSample, FormatJSON, "audit-partial.json.golden"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteSummary(&buf, tc.sample(), tc.format); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, buf.Bytes())
		})
	}
	if err := WriteSummary(&bytes.Buffer{}, sample(), "yaml"); err == nil || !strings.Contains(err.Error(), "text, markdown, json") {
		t.Errorf("unknown format: %v", err)
	}
}

// TestMarkdownIsOneTable: every table row of the markdown has as many cells as its header,
// whatever the names and messages hold.
func TestMarkdownIsOneTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSummary(&buf, auditSample("apply"), FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	cells := func(line string) int {
		n := 0
		for i := 0; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '|':
				n++
			}
		}
		return n
	}
	want := 0
	for _, line := range strings.Split(buf.String(), "\n") {
		if !strings.HasPrefix(line, "|") {
			want = 0
			continue
		}
		if want == 0 {
			want = cells(line)
			continue
		}
		if got := cells(line); got != want {
			t.Errorf("row has %d separators, header %d: %s", got, want, line)
		}
	}
	if !strings.Contains(buf.String(), `ci\|used \*one\*`) {
		t.Errorf("image name not escaped:\n%s", buf.String())
	}
}

// TestAuditJSON: the json summary holds what the markdown shows, as data.
func TestAuditJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSummary(&buf, auditSample("apply"), FormatJSON); err != nil {
		t.Fatal(err)
	}
	var a Audit
	if err := json.Unmarshal(buf.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Regions) != 3 || a.Regions[0].Region != "cn-hangzhou" || a.Regions[2].Region != "eu-central-1" {
		t.Fatalf("regions %+v", a.Regions)
	}
	hz := a.Regions[0]
	if len(hz.Codes) != 2 || hz.Codes[0].Code != "ImageUsingByInstance" || len(hz.Codes[0].Images) != 2 ||
		hz.Codes[1].Code != "ImageUseShared" || !strings.Contains(hz.Codes[0].Remediation, "DescribeInstances") {
		t.Errorf("cn-hangzhou codes %+v", hz.Codes)
	}
	if got := hz.Codes[0].Images[0].Blockers.Instances; len(got) != 2 || got[0] != "i-1" {
		t.Errorf("instances %v", got)
	}
	if len(hz.Snapshots) != 2 || hz.Snapshots[0].SnapshotID != "s-disk" || hz.Snapshots[1].UsedBy[0] != "m-newer" {
		t.Errorf("snapshots %+v", hz.Snapshots)
	}
	sh := a.Regions[1]
	if len(sh.Codes) != 2 || sh.Codes[0].Outcome != Blocked || sh.Codes[1].Outcome != Failed || sh.Codes[1].Code != "InternalError" {
		t.Errorf("cn-shanghai codes %+v", sh.Codes)
	}
	if a.Summary.SnapshotGiB != 140 || a.Summary.ImageGiB != 110 {
		t.Errorf("summary %+v", a.Summary)
	}
}

// TestPartialStatus: a run that completed with a region that could not be processed is
// partial; an interrupted or aborted one keeps its status; every summary format names the
// region's error.
func TestPartialStatus(t *testing.T) {
	if got := auditSample("apply").Status; got != StatusCompleted {
		t.Errorf("no region error: status %q, want %q", got, StatusCompleted)
	}
	r := partialSample()
	if r.Status != StatusPartial {
		t.Errorf("status %q, want %q", r.Status, StatusPartial)
	}
	for _, status := range []string{StatusInterrupted, StatusAborted} {
		r.Finish(status, r.FinishedAt)
		if r.Status != status {
			t.Errorf("finished %q with a region error: status %q", status, r.Status)
		}
	}
	r = partialSample()
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var a Audit
	if err := json.Unmarshal(buf.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if a.Status != StatusPartial || len(a.Regions) != 3 || a.Regions[2].Error != r.Regions["eu-central-1"].Error || a.Regions[0].Error != "" {
		t.Errorf("json audit: status %q, regions %+v", a.Status, a.Regions)
	}
	for _, format := range []string{FormatText, FormatMarkdown} {
		buf.Reset()
		if err := WriteSummary(&buf, r, format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "eu-central-1:") || !strings.Contains(buf.String(), "could not list images: Forbidden.RAM") {
			t.Errorf("%s summary does not name the region's error:\n%s", format, buf.String())
		}
	}
}
