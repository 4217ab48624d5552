package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestReferenceFields: referenced_by and last_in_family appear on the entries they concern and
// nowhere else, and the warnings reach the human summary.
func TestReferenceFields(t *testing.T) {
	start := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	r := New("plan", "policy.yaml", nil, start)
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-a", Outcome: Skipped, Code: "ReferencedByLaunchTemplate",
		ReferencedBy: []string{"lt-a:3", "asc-b"}})
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-b", Outcome: WouldDelete, LastInFamily: true})
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-c", Outcome: WouldDelete})
	r.Warnings = []string{"cn-hangzhou: deleting m-b would leave image family ci-build without an Available image"}
	r.Finish(StatusCompleted, start.Add(time.Second))
	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Images   []map[string]any `json:"images"`
		Warnings []string         `json:"warnings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if refs, _ := m.Images[0]["referenced_by"].([]any); len(refs) != 2 || refs[0] != "lt-a:3" || refs[1] != "asc-b" {
		t.Errorf("m-a referenced_by %v", m.Images[0]["referenced_by"])
	}
	if m.Images[1]["last_in_family"] != true {
		t.Errorf("m-b last_in_family %v", m.Images[1]["last_in_family"])
	}
	for _, i := range []int{0, 2} {
		if _, ok := m.Images[i]["last_in_family"]; ok {
			t.Errorf("%v carries last_in_family", m.Images[i]["image_id"])
		}
	}
	for _, i := range []int{1, 2} {
		if _, ok := m.Images[i]["referenced_by"]; ok {
			t.Errorf("%v carries referenced_by", m.Images[i]["image_id"])
		}
	}
	if len(m.Warnings) != 1 {
		t.Errorf("warnings %v", m.Warnings)
	}
	// Skipped entries are not counted by code: a kept image is not a failure.
	if len(r.ByCode) != 0 || r.Summary.Skipped != 1 {
		t.Errorf("by_code %v summary %+v", r.ByCode, r.Summary)
	}
	buf.Reset()
	if err := Summarize(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "warning: cn-hangzhou: deleting m-b would leave image family ci-build") {
		t.Errorf("summary lacks the warning:\n%s", buf.String())
	}
}
