package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// bigPlan is a plan of n images in cn-hangzhou that would all be deleted, and one kept.
func bigPlan(n int) *Report {
	start := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	r := New("plan", "policy.yaml", []byte("version: 1\n"), start)
	for i := range n {
		created := start.Add(-time.Duration(30+i) * 24 * time.Hour)
		r.Add(Entry{Region: "cn-hangzhou", ImageID: fmt.Sprintf("m-%03d", i), Name: fmt.Sprintf("ci-%03d", i),
			Outcome: WouldDelete, SizeGiB: 20, CreatedAt: &created, Family: "ci", Attempts: 1})
	}
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-golden", Name: "golden", Outcome: Skipped, ProtectedBy: `protect.names[0] "golden-*"`})
	r.Finish(StatusCompleted, start.Add(time.Second))
	return r
}

// TestTextSummaryListsEveryImage: a reviewer reads every image of a 20-image plan in the text
// summary, with its age, size and family.
func TestTextSummaryListsEveryImage(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSummary(&buf, bigPlan(20), FormatText); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for i := range 20 {
		line := regexp.MustCompile(fmt.Sprintf(`(?m)^  m-%03d +ci-%03d +%dd +20  ci$`, i, i, 30+i))
		if !line.MatchString(out) {
			t.Errorf("m-%03d is not listed with its name, age, size and family:\n%s", i, out)
		}
	}
	if !strings.Contains(out, "cn-hangzhou: would delete 20 images") || !strings.Contains(out, `protect.names[0] "golden-*"`) {
		t.Errorf("no heading, or the kept image's reason is missing:\n%s", out)
	}
	if strings.Contains(out, "more") {
		t.Errorf("20 images were cut:\n%s", out)
	}
}

// TestTextSummaryCutsLongLists: beyond MaxListed a region's list shows the first 50 and says how
// many more the report holds; markdown and json hold them all.
func TestTextSummaryCutsLongLists(t *testing.T) {
	r := bigPlan(60)
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r, FormatText); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	shown := regexp.MustCompile(`(?m)^  m-\d{3} `).FindAllString(out, -1)
	if len(shown) != 50 || !strings.Contains(out, "  m-049 ") || strings.Contains(out, "  m-050 ") {
		t.Errorf("%d images shown, want the first 50:\n%s", len(shown), out)
	}
	if !strings.Contains(out, "  ... and 10 more (the report and --format markdown/json hold them all)\n") {
		t.Errorf("no \"... and 10 more\":\n%s", out)
	}

	buf.Reset()
	if err := WriteSummary(&buf, r, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "| `m-0"); n != 60 {
		t.Errorf("markdown lists %d images, want 60", n)
	}
	buf.Reset()
	if err := WriteSummary(&buf, r, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var a Audit
	if err := json.Unmarshal(buf.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if got := a.Regions[0].Deletions; len(got) != 60 || got[59].ImageID != "m-059" || got[0].Age != "30d" {
		t.Errorf("json lists %d deletions, want 60 with their ages", len(got))
	}
	if got := a.Regions[0].Kept; len(got) != 1 || got[0].Reason != `protect.names[0] "golden-*"` {
		t.Errorf("json kept %+v", got)
	}
}

// TestTextSummaryColor: with Color the deletions are red and the kept images dim, and without it
// there is not one escape; markdown and json are never colored.
func TestTextSummaryColor(t *testing.T) {
	r := auditSample("plan")
	var buf bytes.Buffer
	if err := WriteSummaryWith(&buf, r, FormatText, Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Errorf("escape codes without Color:\n%q", buf.String())
	}
	buf.Reset()
	if err := WriteSummaryWith(&buf, r, FormatText, Options{Color: true}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"  \x1b[31mm-del1  ", "  \x1b[31mm-del3  ", "  \x1b[2mm-keep  ", "  \x1b[2mm-golden  "} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "\x1b[") && !strings.HasSuffix(line, "\x1b[0m") {
			t.Errorf("a colored line does not reset: %q", line)
		}
	}
	// The colored rows line up with their headers: the escapes take no column.
	plain := strings.NewReplacer("\x1b[31m", "", "\x1b[2m", "", "\x1b[0m", "").Replace(out)
	var noColor bytes.Buffer
	_ = WriteSummary(&noColor, r, FormatText)
	if plain != noColor.String() {
		t.Errorf("the colored summary is not the plain one with escapes:\n%s\n---\n%s", plain, noColor.String())
	}
	for _, format := range []string{FormatMarkdown, FormatJSON} {
		buf.Reset()
		if err := WriteSummaryWith(&buf, r, format, Options{Color: true}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), "\x1b") {
			t.Errorf("%s has escape codes", format)
		}
	}
}

// TestTextSummaryNamesAreInert: an image name cannot put escape codes or line breaks on the
// terminal.
func TestTextSummaryNamesAreInert(t *testing.T) {
	r := bigPlan(1)
	r.Images[0].Name = "ci\x1b[2J\nrm -rf"
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r, FormatText); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "\x1b") || !strings.Contains(buf.String(), "ci?[2J?rm -rf") {
		t.Errorf("name not neutralised:\n%q", buf.String())
	}
}

func TestAge(t *testing.T) {
	at := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		ago  time.Duration
		want string
	}{
		{93*24*time.Hour + 23*time.Hour, "93d"}, {24 * time.Hour, "1d"}, {23*time.Hour + 59*time.Minute, "23h"},
		{59 * time.Minute, "59m"}, {0, "0m"}, {-time.Hour, "0m"}, // created after the run started: clock skew
	} {
		c := at.Add(-tc.ago)
		if got := Age(&c, at); got != tc.want {
			t.Errorf("Age(%v ago) = %q, want %q", tc.ago, got, tc.want)
		}
	}
	if got := Age(nil, at); got != "-" {
		t.Errorf("Age(nil) = %q", got)
	}
}

// TestWriteListCustomLists: the prompts' lists, each entry under the first listing it matches
// (by outcome, and code when one is set), every region in name order, without a reason column.
func TestWriteListCustomLists(t *testing.T) {
	start := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	created := start.AddDate(0, 0, -40)
	es := []Entry{
		{Region: "cn-hangzhou", ImageID: "m-b", Name: "b", Outcome: WouldDeprecate, SizeGiB: 20, CreatedAt: &created},
		{Region: "cn-hangzhou", ImageID: "m-a", Name: "a", Outcome: WouldDeprecate, SizeGiB: 20, CreatedAt: &created},
		{Region: "cn-hangzhou", ImageID: "m-t", Name: "t", Outcome: Skipped, Code: "InGracePeriod", Message: "tagged now", SizeGiB: 20, CreatedAt: &created},
		{Region: "cn-hangzhou", ImageID: "m-k", Name: "k", Outcome: Skipped, Code: "Other", SizeGiB: 20},
		{Region: "cn-beijing", ImageID: "m-d", Name: "d", Outcome: WouldDelete, SizeGiB: 20, CreatedAt: &created},
	}
	var buf bytes.Buffer
	err := WriteList(&buf, es, ListOptions{AsOf: start, Lists: []Listing{
		{Outcome: WouldDelete, Verb: "would delete"},
		{Outcome: WouldDeprecate, Verb: "would deprecate"},
		{Outcome: Skipped, Code: "InGracePeriod", Verb: "would tag", Note: "Deprecated already"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `cn-beijing: would delete 1 image
  image  name  age  GiB  family
  m-d    d     40d   20  -
cn-hangzhou: would deprecate 2 images
  image  name  age  GiB  family
  m-a    a     40d   20  -
  m-b    b     40d   20  -
cn-hangzhou: would tag 1 image (Deprecated already)
  image  name  age  GiB  family
  m-t    t     40d   20  -
`
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
