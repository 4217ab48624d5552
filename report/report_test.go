package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sample() *Report {
	start := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	r := New("apply", "policy.yaml", []byte("version: 1\n"), start)
	r.AddRegion("cn-shanghai")
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-b", Name: "ci-b", Outcome: Deleted, RequestID: "R1", Attempts: 1})
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-a", Name: "ci-a", Outcome: Blocked, Code: "ImageUsingByInstance", Message: "used", Attempts: 1})
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-c", Name: "golden-c", Outcome: Skipped, Message: `protect.names[0] "golden-*"`})
	r.Add(Entry{Region: "cn-shanghai", ImageID: "m-d", Name: "ci-d", Outcome: Failed, Code: "Forbidden.RAM", Attempts: 1})
	r.Add(Entry{Region: "cn-shanghai", ImageID: "m-e", Name: "ci-e", Outcome: NotAttempted, Code: "Forbidden.RAM"})
	r.Finish(StatusCompleted, start.Add(2*time.Second))
	return r
}

func TestCountsSumToSelected(t *testing.T) {
	r := sample()
	check := func(name string, s Summary) {
		sum := s.Deleted + s.WouldDelete + s.Blocked + s.Failed + s.Skipped + s.NotAttempted
		if sum != s.Selected {
			t.Errorf("%s: outcomes sum to %d, selected %d", name, sum, s.Selected)
		}
	}
	check("total", r.Summary)
	for name, rt := range r.Regions {
		check(name, rt.Summary)
	}
	if r.Summary.Selected != 5 || r.Summary.Deleted != 1 || r.Summary.NotAttempted != 1 {
		t.Errorf("summary %+v", r.Summary)
	}
	// by_code counts blocked and failed only: the not_attempted entry's code is not counted.
	want := map[string]int{"ImageUsingByInstance": 1, "Forbidden.RAM": 1}
	if len(r.ByCode) != len(want) || r.ByCode["ImageUsingByInstance"] != 1 || r.ByCode["Forbidden.RAM"] != 1 {
		t.Errorf("by_code %v, want %v", r.ByCode, want)
	}
	if r.Images[0].ImageID != "m-a" || r.Images[len(r.Images)-1].ImageID != "m-e" {
		t.Errorf("entries not sorted by region and id: %v", r.Images)
	}
}

func TestJSONFieldNames(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "command", "status", "started_at", "finished_at", "policy", "summary", "by_code", "regions", "images"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	img := m["images"].([]any)[0].(map[string]any)
	for _, k := range []string{"region", "image_id", "name", "outcome", "code", "message", "request_id", "attempts"} {
		if _, ok := img[k]; !ok {
			t.Errorf("image entry lacks %q", k)
		}
	}
	sum := m["summary"].(map[string]any)
	for _, k := range []string{"selected", "deleted", "would_delete", "blocked", "failed", "skipped", "not_attempted"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
	want := sha256.Sum256([]byte("version: 1\n"))
	if got := m["policy"].(map[string]any)["sha256"]; got != hex.EncodeToString(want[:]) {
		t.Errorf("policy sha256 %v", got)
	}
}

func TestSummaryGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Summarize(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.golden", buf.Bytes())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// TestWriteFileNeverTorn rewrites a report while readers keep reading it: every read must parse
// as a complete report, the previous or the new one.
func TestWriteFileNeverTorn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	r := sample()
	if err := WriteFile(path, r); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				data, err := os.ReadFile(path)
				if err != nil {
					errs <- err
					return
				}
				var got Report
				if err := json.Unmarshal(data, &got); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 200 {
		r.Warnings = []string{strings.Repeat("x", i*50)}
		if err := WriteFile(path, r); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("reader saw a torn report: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestWriteFileFailureKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := WriteFile(path, sample()); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if err := WriteFile(filepath.Join(dir, "missing", "report.json"), sample()); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("a failed write changed the existing report")
	}
}
