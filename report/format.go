package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Summary formats.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
)

// Formats lists the summary formats, the default first.
var Formats = []string{FormatText, FormatMarkdown, FormatJSON}

// WriteSummary writes the summary of a report in one of Formats, without color: see
// WriteSummaryWith.
func WriteSummary(w io.Writer, r *Report, format string) error {
	return WriteSummaryWith(w, r, format, Options{})
}

// WriteSummaryWith writes the summary of a report in one of Formats: text is the summary of
// SummarizeWith, colored as o says; markdown is the audit, ready to paste into a ticket; json is
// the audit's data. Only text is ever colored.
func WriteSummaryWith(w io.Writer, r *Report, format string, o Options) error {
	switch format {
	case FormatText, "":
		return SummarizeWith(w, r, o)
	case FormatMarkdown:
		return writeMarkdown(w, NewAudit(r))
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(NewAudit(r))
	}
	return fmt.Errorf("unknown summary format %q (want %s)", format, strings.Join(Formats, ", "))
}

// Audit is the report seen by a reviewer: per region the images deleted (or to be) and those
// kept, and, per code, each blocked or failed image with what holds it, the snapshots that
// stayed, and the totals. The json summary format is this struct; the markdown one renders it.
type Audit struct {
	Command    string    `json:"command"`
	Status     string    `json:"status"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// ConfirmationSeconds is the time spent at apply's prompt, left out of the time it took.
	ConfirmationSeconds float64        `json:"confirmation_seconds,omitempty"`
	Policy              PolicyRef      `json:"policy"`
	Summary             Summary        `json:"summary"`
	ByCode              map[string]int `json:"by_code"`
	Fault               string         `json:"fault,omitempty"`
	Warnings            []string       `json:"warnings,omitempty"`
	// Regions are in name order.
	Regions []AuditRegion `json:"regions"`
}

// AuditRegion is one region of an Audit.
type AuditRegion struct {
	Region  string         `json:"region"`
	Summary Summary        `json:"summary"`
	ByCode  map[string]int `json:"by_code"`
	// Error says why the region could not be processed (RegionTotal.Error); empty when it could.
	Error string `json:"error,omitempty"`
	// Deletions are the region's images deleted (in plan, that would be: would_delete, and
	// deleted only where an endpoint ignored DryRun), by id.
	Deletions []AuditListed `json:"deletions"`
	// Kept are the region's skipped images, by id, each with why it stays; those in their grace
	// period are InGracePeriod's, not Kept's.
	Kept []AuditListed `json:"kept"`
	// Deprecations (staged retention) are the region's images deprecated (in plan, that would
	// be: would_deprecate), by id, each with when it becomes eligible for deletion.
	Deprecations []AuditListed `json:"deprecations,omitempty"`
	// InGracePeriod (staged retention) are the region's skipped images that were deprecated and
	// whose grace period is not over (code InGracePeriod), by id, each with its eligible date.
	InGracePeriod []AuditListed `json:"in_grace_period,omitempty"`
	// Restored (restore) are the region's images set back to Available, by id.
	Restored []AuditListed `json:"restored,omitempty"`
	// Codes are the region's blocked then failed images by code, the most frequent code first.
	Codes []AuditCode `json:"codes"`
	// Snapshots are the snapshots that were not deleted (kept, failed, skipped, not attempted),
	// each once, by id.
	Snapshots []AuditSnapshot `json:"snapshots"`
}

// AuditCode is the images of a region that one code blocked or failed.
type AuditCode struct {
	Code        string       `json:"code"`
	Outcome     Outcome      `json:"outcome"`
	Remediation string       `json:"remediation,omitempty"`
	Images      []AuditImage `json:"images"`
}

// AuditImage is one blocked or failed image.
type AuditImage struct {
	ImageID  string    `json:"image_id"`
	Name     string    `json:"name"`
	Message  string    `json:"message"`
	Blockers *Blockers `json:"blockers,omitempty"`
}

// AuditListed is one image deleted, to be deleted or kept, with what a reviewer needs.
type AuditListed struct {
	ImageID string  `json:"image_id"`
	Name    string  `json:"name"`
	Outcome Outcome `json:"outcome"`
	// CreatedAt is the image's creation time; Age is how long before the run started that was,
	// as the text summary shows it ("93d").
	CreatedAt    *time.Time `json:"created_at,omitempty"`
	Age          string     `json:"age"`
	SizeGiB      int        `json:"size_gib"`
	Family       string     `json:"family,omitempty"`
	SelectedBy   string     `json:"selected_by,omitempty"`
	LastInFamily bool       `json:"last_in_family,omitempty"`
	// Reason says why a kept image stays (KeptReason), or one in its grace period (its message);
	// empty for a deletion.
	Reason       string   `json:"reason,omitempty"`
	ReferencedBy []string `json:"referenced_by,omitempty"`
	// EligibleAt is when a deprecated image, or one in its grace period, becomes eligible for
	// deletion (Entry.EligibleAt); Eligible says it in words, as the summaries show it.
	EligibleAt *time.Time `json:"eligible_at,omitempty"`
	Eligible   string     `json:"eligible,omitempty"`
}

// AuditSnapshot is one snapshot that stayed, with the images it belonged to.
type AuditSnapshot struct {
	SnapshotEntry
	Images []string `json:"images"`
}

// NewAudit builds the audit view of a report.
func NewAudit(r *Report) *Audit {
	a := &Audit{Command: r.Command, Status: r.Status, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, ConfirmationSeconds: r.ConfirmationSeconds,
		Policy: r.Policy, Summary: r.Summary, ByCode: r.ByCode, Fault: r.Fault, Warnings: r.Warnings, Regions: []AuditRegion{}}
	if a.ByCode == nil {
		a.ByCode = map[string]int{}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Regions)) {
		rt := r.Regions[name]
		ar := AuditRegion{Region: name, Summary: rt.Summary, ByCode: rt.ByCode, Error: rt.Error, Codes: []AuditCode{}, Snapshots: []AuditSnapshot{},
			Deletions: []AuditListed{}, Kept: []AuditListed{}}
		if ar.ByCode == nil {
			ar.ByCode = map[string]int{}
		}
		codes := map[Outcome]map[string]*AuditCode{Blocked: {}, Failed: {}}
		snaps := map[string]*AuditSnapshot{}
		for _, e := range r.Images {
			if e.Region != name {
				continue
			}
			if list := listOf(e); list != "" {
				l := AuditListed{ImageID: e.ImageID, Name: e.Name, Outcome: e.Outcome, CreatedAt: e.CreatedAt,
					Age: Age(e.CreatedAt, r.StartedAt), SizeGiB: e.SizeGiB, Family: e.Family, SelectedBy: e.SelectedBy,
					LastInFamily: e.LastInFamily}
				if staged(list) {
					l.EligibleAt, l.Eligible = e.EligibleAt, Eligible(e, r.StartedAt)
				}
				switch list {
				case Skipped:
					l.Reason, l.ReferencedBy = KeptReason(e), e.ReferencedBy
					ar.Kept = append(ar.Kept, l)
				case inGracePeriod:
					l.Reason = e.Message
					ar.InGracePeriod = append(ar.InGracePeriod, l)
				case Deprecated, WouldDeprecate:
					ar.Deprecations = append(ar.Deprecations, l)
				case Restored:
					ar.Restored = append(ar.Restored, l)
				default:
					ar.Deletions = append(ar.Deletions, l)
				}
			}
			if e.Outcome == Blocked || e.Outcome == Failed {
				c := codes[e.Outcome][e.Code]
				if c == nil {
					c = &AuditCode{Code: e.Code, Outcome: e.Outcome}
					codes[e.Outcome][e.Code] = c
				}
				if e.Blockers != nil && c.Remediation == "" {
					c.Remediation = e.Blockers.Remediation
				}
				img := AuditImage{ImageID: e.ImageID, Name: e.Name, Message: e.Message, Blockers: e.Blockers}
				if img.Blockers != nil {
					// The remediation is the code's, said once above the images.
					b := *img.Blockers
					b.Remediation = ""
					img.Blockers = &b
				}
				c.Images = append(c.Images, img)
			}
			for _, s := range e.Snapshots {
				if s.Outcome == Deleted || s.Outcome == WouldDelete {
					continue
				}
				as := snaps[s.SnapshotID]
				if as == nil {
					as = &AuditSnapshot{SnapshotEntry: s}
					snaps[s.SnapshotID] = as
				}
				as.Images = append(as.Images, e.ImageID)
			}
		}
		for _, o := range []Outcome{Blocked, Failed} {
			list := slices.Collect(maps.Values(codes[o]))
			slices.SortFunc(list, func(x, y *AuditCode) int {
				return cmp.Or(cmp.Compare(len(y.Images), len(x.Images)), cmp.Compare(x.Code, y.Code))
			})
			for _, c := range list {
				slices.SortFunc(c.Images, func(x, y AuditImage) int { return cmp.Compare(x.ImageID, y.ImageID) })
				ar.Codes = append(ar.Codes, *c)
			}
		}
		byID := func(x, y AuditListed) int { return cmp.Compare(x.ImageID, y.ImageID) }
		slices.SortStableFunc(ar.Deletions, func(x, y AuditListed) int {
			// deleted before would_delete, as the lists are shown
			return cmp.Or(cmp.Compare(slices.Index(listOrder, x.Outcome), slices.Index(listOrder, y.Outcome)), byID(x, y))
		})
		slices.SortStableFunc(ar.Deprecations, func(x, y AuditListed) int {
			return cmp.Or(cmp.Compare(slices.Index(listOrder, x.Outcome), slices.Index(listOrder, y.Outcome)), byID(x, y))
		})
		slices.SortFunc(ar.Kept, byID)
		slices.SortFunc(ar.InGracePeriod, byID)
		slices.SortFunc(ar.Restored, byID)
		for _, id := range slices.Sorted(maps.Keys(snaps)) {
			ar.Snapshots = append(ar.Snapshots, *snaps[id])
		}
		a.Regions = append(a.Regions, ar)
	}
	return a
}

// writeMarkdown renders an audit as GitHub-flavoured markdown.
func writeMarkdown(w io.Writer, a *Audit) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## ECS image cleanup: %s %s\n\n", a.Command, a.Status)
	sha := a.Policy.SHA256
	if len(sha) > 12 {
		sha = sha[:12]
	}
	took := a.FinishedAt.Sub(a.StartedAt) - time.Duration(a.ConfirmationSeconds*float64(time.Second))
	if took >= time.Second {
		took = took.Round(time.Second)
	} else {
		took = took.Round(time.Millisecond)
	}
	fmt.Fprintf(&b, "Policy `%s` (sha256 `%s`), started %s, took %s.\n\n", mdCode(a.Policy.Path), sha,
		a.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"), took)
	if a.Fault != "" {
		fmt.Fprintf(&b, "**Fault:** %s\n\n", mdText(a.Fault))
	}
	for _, ar := range a.Regions {
		if ar.Error != "" {
			fmt.Fprintf(&b, "**Error in %s:** %s\n\n", mdText(ar.Region), mdText(ar.Error))
		}
	}
	for _, warn := range a.Warnings {
		fmt.Fprintf(&b, "**Warning:** %s\n\n", mdText(warn))
	}
	gone := "deleted"
	if a.Command == "plan" {
		gone = "to delete"
	}
	stagedCols := usedStagedColumns(a.Summary)
	b.WriteString("| region | selected | deleted | would delete | blocked | failed | skipped | not attempted |")
	for _, c := range stagedCols {
		fmt.Fprintf(&b, " %s |", c.heading)
	}
	fmt.Fprintf(&b, " image GiB %[1]s | snapshots %[1]s | snapshots kept | snapshot GiB %[1]s |\n", gone)
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|" + strings.Repeat("--:|", len(stagedCols)) + "--:|--:|--:|--:|\n")
	row := func(name string, s Summary) {
		snapsGone := s.Snapshots.Deleted + s.Snapshots.WouldDelete
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d |", name, s.Selected, s.Deleted,
			s.WouldDelete, s.Blocked, s.Failed, s.Skipped, s.NotAttempted)
		for _, c := range stagedCols {
			fmt.Fprintf(&b, " %d |", c.count(s))
		}
		fmt.Fprintf(&b, " %d | %d | %d | %d |\n", s.ImageGiB, snapsGone, s.Snapshots.Kept, s.SnapshotGiB)
	}
	for _, ar := range a.Regions {
		row(ar.Region, ar.Summary)
	}
	row("**total**", a.Summary)
	verb := "Reclaimed"
	if a.Command == "plan" {
		verb = "Would reclaim"
	}
	if a.Command != "restore" { // restore deletes nothing
		fmt.Fprintf(&b, "\n%s **%d GiB** of images and **%d GiB** of snapshots.\n", verb, a.Summary.ImageGiB, a.Summary.SnapshotGiB)
	}
	if a.Command == "plan" && a.Summary.Snapshots.WouldDelete > 0 {
		b.WriteString("\nA plan cannot see disks created from a snapshot: apply keeps those snapshots (SnapshotCreatedDisk).\n")
	}
	for _, ar := range a.Regions {
		lists := map[Outcome][]AuditListed{inGracePeriod: ar.InGracePeriod, Restored: ar.Restored, Skipped: ar.Kept}
		for _, l := range slices.Concat(ar.Deletions, ar.Deprecations) {
			lists[l.Outcome] = append(lists[l.Outcome], l)
		}
		listedAny := false
		for _, l := range lists {
			listedAny = listedAny || len(l) > 0
		}
		if len(ar.Codes) == 0 && len(ar.Snapshots) == 0 && !listedAny {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n", ar.Region)
		for _, o := range listOrder {
			mdList(&b, o, lists[o])
		}
		for _, c := range ar.Codes {
			fmt.Fprintf(&b, "\n#### %s: %d %s\n\n", mdText(c.Code), len(c.Images), c.Outcome)
			if c.Remediation != "" {
				fmt.Fprintf(&b, "To do: %s.\n\n", mdText(c.Remediation))
			}
			if c.Outcome == Blocked {
				b.WriteString("| image | name | blockers |\n|---|---|---|\n")
				for _, img := range c.Images {
					fmt.Fprintf(&b, "| `%s` | %s | %s |\n", mdCode(img.ImageID), mdText(img.Name), mdBlockers(img))
				}
				continue
			}
			b.WriteString("| image | name | message |\n|---|---|---|\n")
			for _, img := range c.Images {
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", mdCode(img.ImageID), mdText(img.Name), mdText(img.Message))
			}
		}
		if len(ar.Snapshots) > 0 {
			b.WriteString("\n#### Snapshots not deleted\n\n| snapshot | of image | GiB | outcome | code | why | to do |\n|---|---|--:|---|---|---|---|\n")
			for _, s := range ar.Snapshots {
				why := mdText(s.Message)
				if len(s.UsedBy) > 0 {
					why = "used by " + mdCodes(s.UsedBy)
				}
				fmt.Fprintf(&b, "| `%s` | %s | %d | %s | %s | %s | %s |\n", mdCode(s.SnapshotID), mdCodes(s.Images), s.SizeGiB,
					s.Outcome, mdText(s.Code), why, mdText(s.Remediation))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// stagedColumn is one of staged retention's counts in the tables of totals, which show it when
// the run counted any (usedStagedColumns).
type stagedColumn struct {
	heading, key string // as the markdown and the text summary head it
	count        func(Summary) int
}

var stagedColumns = []stagedColumn{
	{"deprecated", "deprecated", func(s Summary) int { return s.Deprecated }},
	{"would deprecate", "would_deprecate", func(s Summary) int { return s.WouldDeprecate }},
	{"restored", "restored", func(s Summary) int { return s.Restored }},
}

// usedStagedColumns are the staged columns whose total is above 0.
func usedStagedColumns(total Summary) []stagedColumn {
	var cols []stagedColumn
	for _, c := range stagedColumns {
		if c.count(total) > 0 {
			cols = append(cols, c)
		}
	}
	return cols
}

// mdList renders one of a region's lists (listOrder) as a table, every image: the kept with why,
// the deprecated and those in their grace period with when each becomes eligible for deletion.
func mdList(b *strings.Builder, o Outcome, rows []AuditListed) {
	if len(rows) == 0 {
		return
	}
	heading := listHeading(o, len(rows))
	fmt.Fprintf(b, "\n#### %s%s\n\n", strings.ToUpper(heading[:1]), heading[1:])
	switch {
	case o == Skipped:
		b.WriteString("| image | name | age | GiB | family | why |\n|---|---|--:|--:|---|---|\n")
	case staged(o):
		b.WriteString("| image | name | age | GiB | family | eligible for deletion |\n|---|---|--:|--:|---|---|\n")
	default:
		b.WriteString("| image | name | age | GiB | family |\n|---|---|--:|--:|---|\n")
	}
	for _, l := range rows {
		family := mdText(l.Family)
		if family == "" {
			family = "-"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %d | %s |", mdCode(l.ImageID), mdText(l.Name), l.Age, l.SizeGiB, family)
		switch {
		case o == Skipped:
			fmt.Fprintf(b, " %s |", mdText(l.Reason))
		case staged(o):
			fmt.Fprintf(b, " %s |", mdText(l.Eligible))
		}
		b.WriteString("\n")
	}
}

// mdBlockers is the blockers cell of a blocked image.
func mdBlockers(img AuditImage) string {
	bl := img.Blockers
	if bl == nil {
		return "not looked up"
	}
	var parts []string
	if len(bl.Instances) > 0 {
		parts = append(parts, "instances "+mdCodes(bl.Instances))
	}
	if len(bl.SharedWith) > 0 {
		parts = append(parts, "shared with accounts "+mdCodes(bl.SharedWith))
	}
	if bl.PublishedToAll {
		parts = append(parts, "published to all")
	}
	if bl.LookupError != "" {
		parts = append(parts, "lookup failed: "+mdText(bl.LookupError))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}

func mdCodes(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "`" + mdCode(id) + "`"
	}
	return strings.Join(out, ", ")
}

// mdText makes a value from the service or the policy safe in a markdown table cell: one line,
// no pipes, and no markup of its own (an image name is anybody's text).
func mdText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode makes a value safe inside a `code span` in a table cell: no backticks, pipes or line
// breaks.
func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "|", "/", "\n", " ", "\r", " ").Replace(s)
}
