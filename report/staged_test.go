package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// stagedSample is a run of a policy with a staged region (cn-beijing, deprecate_first 14d) and
// one that deletes at once (cn-hangzhou). For "apply" and "plan": in cn-beijing two images
// deprecated on this run (plan: would be), one in its grace period, one in its grace period that
// had no tag of ours, one deleted (plan: would be) because its grace period is over, a shared
// image the service would not deprecate and a protected one. For "restore": two images restored,
// an id that is not restorable and one whose tag could not be removed.
func stagedSample(command string) *Report {
	start := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	ago := func(d time.Duration) *time.Time { t := start.Add(-d); return &t }
	at := func(d time.Duration) *time.Time { t := start.Add(d); return &t }
	r := New(command, "staged.yaml", []byte("version: 1\ndeprecate_first: 14d\n"), start)
	if command == "restore" {
		r.Add(Entry{Region: "cn-beijing", ImageID: "m-dep2", Name: "ci-nightly-0002", Outcome: Restored, Attempts: 3, SizeGiB: 20,
			CreatedAt: ago(60 * day), Message: "set back to Available; its ecs-image-cleanup/deprecated-at tag removed"})
		r.Add(Entry{Region: "cn-beijing", ImageID: "m-dep1", Name: "ci-nightly-0001", Outcome: Restored, Attempts: 3, SizeGiB: 40,
			CreatedAt: ago(90 * day), Family: "nightly", Message: "set back to Available; its ecs-image-cleanup/deprecated-at tag removed"})
		r.Add(Entry{Region: "cn-beijing", ImageID: "m-nope", Outcome: Skipped, Code: "NotRestorable", SelectedBy: "image_ids",
			Message: "not an image the job deprecated in any of the policy's regions"})
		r.Add(Entry{Region: "cn-beijing", ImageID: "m-tag", Name: "ci-nightly-0003", Outcome: Failed, Code: "Forbidden.RAM", Attempts: 3, SizeGiB: 20,
			CreatedAt: ago(70 * day), Message: "set back to Available, but its tag could not be removed: not authorized"})
		r.Finish(StatusCompleted, start.Add(2*time.Second))
		return r
	}
	gone, deprecated := Deleted, Deprecated
	if command == "plan" {
		gone, deprecated = WouldDelete, WouldDeprecate
	}
	r.Add(Entry{Region: "cn-hangzhou", ImageID: "m-hz1", Name: "ci-build-1", Outcome: gone, Attempts: 2, SizeGiB: 20,
		CreatedAt: ago(45 * day), SelectedBy: "select"})
	r.Add(Entry{Region: "cn-beijing", ImageID: "m-dep2", Name: "ci-nightly-0002", Outcome: deprecated, Attempts: 3, SizeGiB: 20,
		CreatedAt: ago(60 * day), SelectedBy: "select", EligibleAt: at(14 * day),
		Message: "deprecated; eligible for deletion on 2026-12-12T03:00:00Z"})
	r.Add(Entry{Region: "cn-beijing", ImageID: "m-dep1", Name: "ci-nightly-0001", Outcome: deprecated, Attempts: 3, SizeGiB: 40,
		CreatedAt: ago(90 * day), Family: "nightly", SelectedBy: "select", EligibleAt: at(14 * day),
		Message: "deprecated; eligible for deletion on 2026-12-12T03:00:00Z"})
	r.Add(Entry{Region: "cn-beijing", ImageID: "m-grace", Name: "ci-nightly|grace", Outcome: Skipped, Code: CodeInGracePeriod,
		SizeGiB: 20, CreatedAt: ago(50 * day), SelectedBy: "select", EligibleAt: at(8*day + 23*time.Hour),
		Message: "deprecated at 2026-11-23T02:00:00Z; eligible for deletion on 2026-12-07T02:00:00Z"})
	r.Add(Entry{Region: "cn-beijing", ImageID: "m-hand", Name: "ci-by-hand", Outcome: Skipped, Code: CodeInGracePeriod,
		SizeGiB: 20, CreatedAt: ago(40 * day), SelectedBy: "select", EligibleAt: at(14 * day),
		Message: "Deprecated without our tag: tagged now; eligible for deletion on 2026-12-12T03:00:00Z"})
	r.Add(Entry{Region: "cn-beijing", ImageID: "m-old", Name: "ci-nightly-0000", Outcome: gone, Attempts: 2, SizeGiB: 20,
		CreatedAt: ago(120 * day), SelectedBy: "select"})
	r.Add(Entry{Region: "cn-beijing", ImageID: "m-share", Name: "ci-shared", Outcome: Blocked, Code: "ImageUseShared", Attempts: 1, SizeGiB: 20,
		Blockers: &Blockers{SharedWith: []string{"1888888888888888"}, Remediation: "the image is shared with other accounts: unshare it with ModifyImageSharePermission"}})
	r.Add(Entry{Region: "cn-beijing", ImageID: "m-keep", Name: "ci-keep", Outcome: Skipped, SizeGiB: 20, CreatedAt: ago(100 * day),
		ProtectedBy: "protect.tags.keep", Message: "protected by protect.tags.keep"})
	r.Finish(StatusCompleted, start.Add(3*time.Second))
	return r
}

// TestStagedSummaryFormatsGolden: the staged outcomes in each summary format, for plan, apply
// and restore.
func TestStagedSummaryFormatsGolden(t *testing.T) {
	for _, command := range []string{"plan", "apply", "restore"} {
		for _, f := range []struct{ format, ext string }{{FormatText, "txt"}, {FormatMarkdown, "md"}, {FormatJSON, "json"}} {
			name := "audit-staged-" + command + "." + f.ext + ".golden"
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := WriteSummary(&buf, stagedSample(command), f.format); err != nil {
					t.Fatal(err)
				}
				golden(t, name, buf.Bytes())
			})
		}
	}
}

// TestStagedAuditCountsAgree: in every summary format, each staged list holds as many images as
// the report counts: deprecated (or would_deprecate) and restored as the summary says, the images
// in their grace period and the kept ones together as skipped; the tables of totals carry the same
// counts, per region and in all; and a deprecated image says when it becomes eligible.
func TestStagedAuditCountsAgree(t *testing.T) {
	for _, command := range []string{"plan", "apply", "restore"} {
		r := stagedSample(command)
		bj := r.Regions["cn-beijing"].Summary
		deprecations := bj.Deprecated + bj.WouldDeprecate
		grace := 0
		for _, e := range r.Images {
			if e.Code == CodeInGracePeriod {
				grace++
			}
		}
		switch command {
		case "restore":
			if bj.Restored != 2 || deprecations != 0 || grace != 0 {
				t.Fatalf("restore sample: %+v", bj)
			}
		default:
			if deprecations != 2 || grace != 2 || bj.Restored != 0 {
				t.Fatalf("%s sample: %+v", command, bj)
			}
		}

		// json: the lists, and the summaries they agree with.
		var buf bytes.Buffer
		if err := WriteSummary(&buf, r, FormatJSON); err != nil {
			t.Fatal(err)
		}
		var a Audit
		if err := json.Unmarshal(buf.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		var ar AuditRegion
		for _, x := range a.Regions {
			if x.Region == "cn-beijing" {
				ar = x
			}
		}
		if len(ar.Deprecations) != deprecations || len(ar.InGracePeriod) != grace || len(ar.Restored) != bj.Restored ||
			len(ar.Kept)+len(ar.InGracePeriod) != bj.Skipped || ar.Summary != bj || a.Summary != r.Summary {
			t.Errorf("%s: json audit lists %d deprecations, %d in grace, %d restored, %d kept; summary %+v",
				command, len(ar.Deprecations), len(ar.InGracePeriod), len(ar.Restored), len(ar.Kept), bj)
		}
		for _, l := range append(ar.Deprecations, ar.InGracePeriod...) {
			if l.EligibleAt == nil || !strings.HasPrefix(l.Eligible, l.EligibleAt.Format("2006-01-02 15:04 UTC")+" (in ") {
				t.Errorf("%s: %s has no eligible date: %+v", command, l.ImageID, l)
			}
		}

		// markdown and text: each list's heading counts its rows, and agrees with the json.
		for _, format := range []string{FormatMarkdown, FormatText} {
			buf.Reset()
			if err := WriteSummary(&buf, r, format); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, want := range []struct {
				heading string
				n       int
			}{
				{"deprecated", bj.Deprecated}, {"would deprecate", bj.WouldDeprecate}, {"in grace period:", grace},
				{"restored", bj.Restored}, {"kept", bj.Skipped - grace},
			} {
				got := listCount(t, out, format, "cn-beijing", want.heading)
				if got != want.n {
					t.Errorf("%s %s: %q lists %d images, want %d:\n%s", command, format, want.heading, got, want.n, out)
				}
			}
			for _, region := range []string{"cn-beijing", "cn-hangzhou", "total"} {
				s := r.Summary
				if region != "total" {
					rt := r.Regions[region]
					if rt == nil {
						continue
					}
					s = rt.Summary
				}
				for _, c := range []struct {
					key      string
					n, inRun int
				}{
					{"deprecated", s.Deprecated, r.Summary.Deprecated},
					{"would_deprecate", s.WouldDeprecate, r.Summary.WouldDeprecate},
					{"restored", s.Restored, r.Summary.Restored},
				} {
					got, shown := totalsCell(t, out, format, region, c.key)
					switch {
					case c.inRun == 0 && shown:
						t.Errorf("%s %s: column %q shown for a run without any", command, format, c.key)
					case c.inRun > 0 && got != c.n:
						t.Errorf("%s %s: %s %s is %d, the report says %d:\n%s", command, format, region, c.key, got, c.n, out)
					}
				}
			}
		}
	}
}

// listCount finds a region's list by its heading and counts its rows, checking that the heading
// says as many; 0 when the list is absent.
func listCount(t *testing.T, out, format, region, heading string) int {
	t.Helper()
	var head *regexp.Regexp
	if format == FormatMarkdown {
		head = regexp.MustCompile(`(?i)^#### ` + regexp.QuoteMeta(heading) + ` (\d+) images?$`)
	} else {
		head = regexp.MustCompile(`^` + regexp.QuoteMeta(region) + `: ` + regexp.QuoteMeta(heading) + ` (\d+) images?$`)
	}
	lines := strings.Split(out, "\n")
	inRegion := format != FormatMarkdown
	for i, line := range lines {
		if format == FormatMarkdown && strings.HasPrefix(line, "### ") {
			inRegion = line == "### "+region
		}
		m := head.FindStringSubmatch(line)
		if !inRegion || m == nil {
			continue
		}
		said, _ := strconv.Atoi(m[1])
		rows := 0
		for _, l := range lines[i+1:] {
			switch {
			case format == FormatMarkdown && strings.HasPrefix(l, "| `"):
				rows++
			case format == FormatMarkdown && (l == "" || strings.HasPrefix(l, "|")):
			case format == FormatText && strings.HasPrefix(l, "  m-"):
				rows++
			case format == FormatText && strings.HasPrefix(l, "  image "):
			default:
				if rows != said {
					t.Errorf("%q says %d, lists %d", line, said, rows)
				}
				return rows
			}
		}
		return rows
	}
	return 0
}

// totalsCell reads one staged column of a region's row (or the total's) of the table of totals;
// shown is false when the table has no such column.
func totalsCell(t *testing.T, out, format, region, key string) (n int, shown bool) {
	t.Helper()
	var header, row []string
	for _, line := range strings.Split(out, "\n") {
		var cells []string
		if format == FormatMarkdown {
			cells = strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "*")
			}
		} else {
			cells = strings.Fields(line)
		}
		switch {
		case len(cells) > 1 && cells[0] == "region" && cells[1] == "selected":
			header = cells
		case header != nil && len(cells) == len(header) && cells[0] == region:
			row = cells
		}
	}
	if header == nil || row == nil {
		t.Fatalf("no totals row for %s in:\n%s", region, out)
	}
	name := key
	if format == FormatMarkdown {
		name = strings.ReplaceAll(key, "_", " ")
	}
	for i, h := range header {
		if h == name {
			n, err := strconv.Atoi(row[i])
			if err != nil {
				t.Fatalf("%s %s: %q", region, name, row[i])
			}
			return n, true
		}
	}
	return 0, false
}

// TestEligible: the eligible date with its span from the run's start, or, in a report recovered
// from a journal (no eligible_at), the message that says it.
func TestEligible(t *testing.T) {
	start := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	at := start.Add(8*24*time.Hour + 23*time.Hour)
	e := Entry{Outcome: Skipped, Code: CodeInGracePeriod, EligibleAt: &at, Message: "deprecated at …"}
	if got, want := Eligible(e, start), "2026-12-07 02:00 UTC (in 8d)"; got != want {
		t.Errorf("Eligible = %q, want %q", got, want)
	}
	e.EligibleAt = nil
	if got := Eligible(e, start); got != e.Message {
		t.Errorf("without eligible_at: %q, want the message", got)
	}
}

// TestStagedTextColor: deprecations are yellow, images in their grace period dim, as kept ones.
func TestStagedTextColor(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSummaryWith(&buf, stagedSample("apply"), FormatText, Options{Color: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"  \x1b[33mm-dep1  ", "  \x1b[2mm-grace  ", "  \x1b[2mm-keep  ", "  \x1b[31mm-old  "} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("no %q in:\n%s", want, buf.String())
		}
	}
}
