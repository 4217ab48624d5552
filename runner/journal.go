package runner

import "github.com/ecs-image-cleanup/ecs-image-cleanup/report"

// Journal is what a run tells its journal as it goes, so that a process killed outright leaves a
// record (report.Journal is one): every selected image, every real DeleteImage and
// DeleteSnapshot, and every real change of staged retention (ModifyImageAttribute with the status
// it sets, TagResources, UntagResources) just before it is sent, every outcome as it is decided,
// and a Flush at the end
// of every phase. Calls come from many goroutines; Outcome and SnapshotOutcome are called under
// the runner's lock, so that the lines of one image come in the order its outcomes were given,
// and must not block.
type Journal interface {
	Selected(e report.Entry)
	Sent(action, region, id string)
	SentStatus(region, id, status string)
	Outcome(e report.Entry)
	SnapshotOutcome(region string, e report.SnapshotEntry)
	Flush() error
}

// journalSent records a real delete about to be sent.
func (r *Runner) journalSent(action, region, id string) {
	if r.cfg.Journal != nil {
		r.cfg.Journal.Sent(action, region, id)
	}
}

// journalSentStatus records a real ModifyImageAttribute about to be sent.
func (r *Runner) journalSentStatus(region, id, status string) {
	if r.cfg.Journal != nil {
		r.cfg.Journal.SentStatus(region, id, status)
	}
}

// journalOutcome records an item's outcome as it now stands. The caller holds r.mu.
func (r *Runner) journalOutcome(it *item) {
	if r.cfg.Journal != nil {
		r.cfg.Journal.Outcome(journalEntry(it))
	}
}

// journalSelected records newly selected items, with their snapshots in regions that delete
// them. The caller holds r.mu.
func (r *Runner) journalSelected(its []*item) {
	if r.cfg.Journal == nil {
		return
	}
	for _, it := range its {
		e := journalEntry(it)
		if r.deletesSnapshots(it.region) {
			for _, s := range it.snapshots {
				e.Snapshots = append(e.Snapshots, report.SnapshotEntry{SnapshotID: s.ID, SizeGiB: s.SizeGiB})
			}
		}
		r.cfg.Journal.Selected(e)
	}
}

// journalFlush ends a phase: what the journal holds goes to disk.
func (r *Runner) journalFlush() {
	if r.cfg.Journal != nil {
		_ = r.cfg.Journal.Flush() // a journal that fails says so when it is closed
	}
}

func journalEntry(it *item) report.Entry {
	return report.Entry{Region: it.region, ImageID: it.id, Name: it.name, Outcome: it.state.outcome(), Code: it.code,
		Message: it.message, RequestID: it.requestID, Attempts: it.attempts, SizeGiB: it.size}
}
