package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxListed is how many images of one list (a region's deletions, or its kept images) the text
// summary and the apply prompt show; the report and the markdown and json summaries hold them all.
const MaxListed = 50

// Options shape the human summary. The caller decides them: report never looks at the
// environment or the terminal.
type Options struct {
	// Color marks deletions red and kept images dim with ANSI escapes in the text format. Set it
	// only for a terminal, and never when NO_COLOR is set.
	Color bool
}

// ListOptions shape WriteList.
type ListOptions struct {
	Options
	// AsOf is the time ages are counted to: a report's started_at, so that a summary written
	// twice reads the same.
	AsOf time.Time
	// More is said, in parentheses, after "... and N more" when a list is cut at MaxListed.
	More string
	// Lists, when not nil, are the lists written in place of the summary's (listOrder), in this
	// order: the apply and restore prompts list what they ask about.
	Lists []Listing
}

// Listing is one list of WriteList: the entries of Outcome (of Code too, when it is set; an
// entry goes to the first listing it matches), under the heading "VERB N images (NOTE)", without
// a reason column.
type Listing struct {
	Outcome Outcome
	Code    string
	Verb    string // "would deprecate"
	Note    string // said in parentheses after the count; "" for none
}

// moreInReport is what the text summary says about the images it leaves out.
const moreInReport = "the report and --format markdown/json hold them all"

// ANSI escapes: red for what goes, yellow for what is deprecated, dim for what stays.
const (
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
	ansiReset  = "\x1b[0m"
)

// inGracePeriod names the list of the skipped images that staged retention deprecated and that
// are in their grace period (CodeInGracePeriod): a list of the summaries, not an outcome.
const inGracePeriod Outcome = "in_grace_period"

// listOf says which of a region's lists an entry belongs to: the images deleted or to be deleted
// (plan: would_delete; deleted, even in plan, when an endpoint ignored DryRun), deprecated or to
// be (would_deprecate), in their grace period, restored, and kept (the other skipped images);
// "" for none.
func listOf(e Entry) Outcome {
	switch e.Outcome {
	case Skipped:
		if e.Code == CodeInGracePeriod {
			return inGracePeriod
		}
		return Skipped
	case Deleted, WouldDelete, Deprecated, WouldDeprecate, Restored:
		return e.Outcome
	}
	return ""
}

// listHeading names a list in a sentence: "would delete 3 images".
func listHeading(o Outcome, n int) string {
	verb := string(o)
	switch o {
	case WouldDelete:
		verb = "would delete"
	case WouldDeprecate:
		verb = "would deprecate"
	case inGracePeriod:
		verb = "in grace period:"
	case Skipped:
		verb = "kept"
	}
	return countHeading(verb, n)
}

// countHeading is "VERB N images" (or "1 image").
func countHeading(verb string, n int) string {
	noun := "images"
	if n == 1 {
		noun = "image"
	}
	return fmt.Sprintf("%s %d %s", verb, n, noun)
}

// listOrder is the order of a region's lists.
var listOrder = []Outcome{Deleted, WouldDelete, Deprecated, WouldDeprecate, inGracePeriod, Restored, Skipped}

// staged reports whether a list is one of staged retention's deprecated images, which show when
// each becomes eligible for deletion.
func staged(o Outcome) bool {
	return o == Deprecated || o == WouldDeprecate || o == inGracePeriod
}

// Eligible says when a deprecated image, or one in its grace period, becomes eligible for
// deletion: "2026-12-12 03:00 UTC (in 14d)", the span counted from asOf as Age counts; the
// entry's message when EligibleAt is not known (a report recovered from a journal).
func Eligible(e Entry, asOf time.Time) string {
	if e.EligibleAt == nil {
		return e.Message
	}
	return e.EligibleAt.UTC().Format("2006-01-02 15:04 UTC") + " (in " + span(e.EligibleAt.Sub(asOf)) + ")"
}

// KeptReason says why a skipped image was kept: the rule that protected it (with what still
// names it, for a referenced image), or else its code and message.
func KeptReason(e Entry) string {
	switch {
	case e.ProtectedBy != "" && len(e.ReferencedBy) > 0:
		return e.ProtectedBy + ": still named by " + strings.Join(e.ReferencedBy, ", ")
	case e.ProtectedBy != "":
		return e.ProtectedBy
	case e.Code != "" && e.Message != "":
		return e.Code + ": " + e.Message
	}
	return e.Code + e.Message
}

// Age is how long before asOf an image was created, in its largest whole unit: "93d", "5h",
// "12m"; "-" when the creation time is unknown.
func Age(created *time.Time, asOf time.Time) string {
	if created == nil {
		return "-"
	}
	return span(asOf.Sub(*created))
}

// span is a duration in its largest whole unit, as Age gives it; 0m when not above 0.
func span(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d >= 24*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d >= time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/time.Minute)) + "m"
}

// WriteList writes entries as the text summary lists them: per region in name order, the images
// deleted or to be deleted, deprecated or to be, in their grace period, restored, then those kept
// (listOrder), each by id with name, age, size and family (and, for the kept, why; for the
// deprecated and those in their grace period, when each becomes eligible for deletion), at most
// MaxListed a list. Entries of other outcomes (blocked, failed, not_attempted) are left out. With
// o.Lists, those lists instead.
func WriteList(w io.Writer, entries []Entry, o ListOptions) error {
	lists, custom := o.Lists, o.Lists != nil
	if !custom {
		for _, kind := range listOrder {
			lists = append(lists, Listing{Outcome: kind})
		}
	}
	// kind is the list's kind as listOf names them: what its columns and color follow.
	kind := func(l Listing) Outcome {
		if l.Outcome == Skipped && l.Code == CodeInGracePeriod {
			return inGracePeriod
		}
		return l.Outcome
	}
	byRegion := map[string][][]Entry{}
	var regions []string
	for _, e := range entries {
		i := slices.IndexFunc(lists, func(l Listing) bool {
			if custom {
				return l.Outcome == e.Outcome && (l.Code == "" || l.Code == e.Code)
			}
			return l.Outcome == listOf(e)
		})
		if i < 0 {
			continue
		}
		if byRegion[e.Region] == nil {
			byRegion[e.Region] = make([][]Entry, len(lists))
			regions = append(regions, e.Region)
		}
		byRegion[e.Region][i] = append(byRegion[e.Region][i], e)
	}
	slices.Sort(regions)
	var b strings.Builder
	for _, region := range regions {
		for i, l := range lists {
			list := byRegion[region][i]
			if len(list) == 0 {
				continue
			}
			slices.SortFunc(list, func(x, y Entry) int { return cmp.Compare(x.ImageID, y.ImageID) })
			heading := listHeading(l.Outcome, len(list))
			if custom {
				heading = countHeading(l.Verb, len(list))
				if l.Note != "" {
					heading += " (" + l.Note + ")"
				}
			}
			fmt.Fprintf(&b, "%s: %s\n", textCell(region), heading)
			writeListTable(&b, kind(l), !custom, list, o)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeListTable writes one list of a kind (listOf) as aligned columns, cut at MaxListed; with
// columns, the kept with why they were kept and the deprecated with when each becomes eligible
// for deletion. The
// columns are padded here rather than by text/tabwriter, which would count the color escapes as
// width.
func writeListTable(b *strings.Builder, outcome Outcome, columns bool, list []Entry, o ListOptions) {
	kept, eligible := columns && outcome == Skipped, columns && staged(outcome)
	header := []string{"image", "name", "age", "GiB", "family"}
	switch {
	case kept:
		header = append(header, "reason")
	case eligible:
		header = append(header, "eligible for deletion")
	}
	shown := list[:min(len(list), MaxListed)]
	rows := [][]string{header}
	for _, e := range shown {
		family := e.Family
		if family == "" {
			family = "-"
		}
		row := []string{e.ImageID, e.Name, Age(e.CreatedAt, o.AsOf), strconv.Itoa(e.SizeGiB), family}
		switch {
		case kept:
			row = append(row, KeptReason(e))
		case eligible:
			row = append(row, Eligible(e, o.AsOf))
		}
		for i := range row {
			row[i] = textCell(row[i])
		}
		rows = append(rows, row)
	}
	widths := make([]int, len(header))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	color := ""
	if o.Color {
		switch outcome {
		case Deleted, WouldDelete:
			color = ansiRed
		case Deprecated, WouldDeprecate:
			color = ansiYellow
		case Skipped, inGracePeriod:
			color = ansiDim
		}
	}
	for n, row := range rows {
		var line strings.Builder
		for i, cell := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			switch {
			case i == 2 || i == 3: // age and size, numbers: right-aligned
				line.WriteString(pad + cell)
			case i == len(row)-1: // no trailing blanks
				line.WriteString(cell)
			default:
				line.WriteString(cell + pad)
			}
			if i < len(row)-1 {
				line.WriteString("  ")
			}
		}
		if n > 0 && color != "" {
			fmt.Fprintf(b, "  %s%s%s\n", color, line.String(), ansiReset)
		} else {
			fmt.Fprintf(b, "  %s\n", line.String())
		}
	}
	if more := len(list) - len(shown); more > 0 {
		fmt.Fprintf(b, "  ... and %d more", more)
		if o.More != "" {
			fmt.Fprintf(b, " (%s)", o.More)
		}
		b.WriteString("\n")
	}
}

// textCell makes a value from the service or the policy safe on a terminal: one line, and no
// control characters, so that an image name cannot move the cursor or change the colors.
func textCell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
}
