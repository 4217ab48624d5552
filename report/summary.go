package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"text/tabwriter"
)

// Summarize writes the human summary, without color: see SummarizeWith.
func Summarize(w io.Writer, r *Report) error {
	return SummarizeWith(w, r, Options{})
}

// SummarizeWith writes the human summary: per region the images deleted (in plan, that would be),
// deprecated (or to be), in their grace period, restored and kept, each with what a reviewer
// needs (see WriteList), at most MaxListed a list; then totals, one line per region (with staged
// retention's counts when the run has any), the codes that blocked or failed images, the
// snapshots, the space reclaimed, elapsed time and images per second, last, where a terminal
// leaves them in view.
func SummarizeWith(w io.Writer, r *Report, o Options) error {
	elapsed := r.Working()
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(r.Summary.Selected) / s
	}
	fmt.Fprintf(w, "%s %s in %s (%.1f images/s)\n", r.Command, r.Status, elapsed.Round(1e6), rate)
	if err := WriteList(w, r.Images, ListOptions{Options: o, AsOf: r.StartedAt, More: moreInReport}); err != nil {
		return err
	}
	if r.Fault != "" {
		fmt.Fprintf(w, "FAULT: %s\n", r.Fault)
	}
	for _, name := range slices.Sorted(maps.Keys(r.Regions)) {
		if e := r.Regions[name].Error; e != "" {
			fmt.Fprintf(w, "ERROR %s: %s\n", name, e)
		}
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Staged retention's counts have columns of their own in a run that has any of them.
	stagedCols := usedStagedColumns(r.Summary)
	fmt.Fprint(tw, "region\tselected\tdeleted\twould_delete\tblocked\tfailed\tskipped\tnot_attempted\t")
	for _, c := range stagedCols {
		fmt.Fprintf(tw, "%s\t", c.key)
	}
	fmt.Fprintln(tw)
	row := func(name string, s Summary) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t", name, s.Selected, s.Deleted, s.WouldDelete, s.Blocked, s.Failed, s.Skipped, s.NotAttempted)
		for _, c := range stagedCols {
			fmt.Fprintf(tw, "%d\t", c.count(s))
		}
		fmt.Fprintln(tw)
	}
	for _, name := range slices.Sorted(maps.Keys(r.Regions)) {
		row(name, r.Regions[name].Summary)
	}
	row("total", r.Summary)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.ByCode) > 0 {
		fmt.Fprintln(w, "by code:")
		codes := slices.Sorted(maps.Keys(r.ByCode))
		sort.SliceStable(codes, func(i, j int) bool { return r.ByCode[codes[i]] > r.ByCode[codes[j]] })
		for _, c := range codes {
			fmt.Fprintf(w, "  %-32s %d\n", c, r.ByCode[c])
		}
	}
	if ss := r.Summary.Snapshots; ss.Total > 0 {
		fmt.Fprintf(w, "snapshots: %d deleted, %d would_delete, %d kept, %d failed, %d skipped, %d not_attempted\n",
			ss.Deleted, ss.WouldDelete, ss.Kept, ss.Failed, ss.Skipped, ss.NotAttempted)
	}
	if r.Command == "restore" {
		return nil // restore deletes nothing: no space to speak of
	}
	verb := "reclaimed"
	if r.Command == "plan" {
		verb = "would reclaim"
	}
	fmt.Fprintf(w, "%s: %d GiB of images, %d GiB of snapshots\n", verb, r.Summary.ImageGiB, r.Summary.SnapshotGiB)
	return nil
}
