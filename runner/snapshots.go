package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// snapItem is one snapshot of the images a region deleted (or would delete), and what became of
// it. Fields are guarded by Runner.mu.
type snapItem struct {
	region, id string
	size       int

	outcome     report.Outcome // "" while open
	code        string
	message     string
	usedBy      []string
	remediation string
	requestID   string
	attempts    int
	inflight    bool
}

// deletesSnapshots reports whether the policy asks for a region's snapshots to follow its images.
func (r *Runner) deletesSnapshots(region string) bool {
	reg := r.cfg.Policy.Region(region)
	return reg != nil && reg.DeleteSnapshots
}

// snapshotPhase takes care of the snapshots of the images that went, in the regions with
// delete_snapshots: in plan it lists those that would go; in apply it deletes them, strictly after
// their images' deletion was confirmed.
//
// Per region it lists the account's own images once, in every status, after the delete phases.
// That listing is the second look that confirms each deletion (an image reported deleted that is
// still listed keeps its snapshots) and says which other images still use each snapshot. A
// snapshot that another image still uses is kept (SnapshotCreatedImage) and no request is sent for
// it; in plan the images that would go do not count as users. Every other snapshot would go (plan)
// or gets DeleteSnapshot without Force (apply): the service refuses one that disks were made from
// (SnapshotCreatedDisk), and that one is kept too. A snapshot shared by several of the images is
// decided once, after all of them.
func (r *Runner) snapshotPhase(ctx context.Context) {
	gone := stateWouldDelete
	if r.cfg.Command == Apply {
		gone = stateDeleted
	}
	its := r.itemsWhere(func(it *item) bool {
		return it.state == gone && len(it.snapshots) > 0 && r.deletesSnapshots(it.region)
	})
	r.eachRegion(its, func(rs *regionState, its []*item) { r.regionSnapshots(ctx, rs, its) })
}

// regionSnapshots decides the snapshots of one region's images.
func (r *Runner) regionSnapshots(ctx context.Context, rs *regionState, its []*item) {
	var order []*snapItem
	owners := map[string][]*item{}
	r.mu.Lock()
	if r.follow.snaps == nil {
		r.follow.snaps = map[string]*snapItem{}
	}
	for _, it := range its {
		for _, s := range it.snapshots {
			if len(owners[s.ID]) == 0 {
				sn := &snapItem{region: rs.name, id: s.ID, size: s.SizeGiB}
				r.follow.snaps[rs.name+"/"+s.ID] = sn
				order = append(order, sn)
			}
			owners[s.ID] = append(owners[s.ID], it)
		}
	}
	r.mu.Unlock()

	listed, err := r.listAll(ctx, rs, ecs.ListFilter{OwnerAlias: ecs.OwnerSelf, Statuses: ecs.AllStatuses})
	if err != nil {
		code, msg := err.Code, "not attempted: the region's images could not be listed to see which still use the snapshot: "+err.Error()
		if ctx.Err() != nil {
			code, msg = "", "not attempted: the run was interrupted"
		} else {
			r.warn(fmt.Sprintf("%s: snapshots left alone: could not list images: %s", rs.name, err.Error()))
		}
		for _, sn := range order {
			r.finishSnap(sn, report.NotAttempted, code, msg)
		}
		return
	}
	users := map[string][]string{} // snapshot id -> the listed images that use it
	stillListed := make(map[string]bool, len(listed))
	for _, img := range listed {
		stillListed[img.ID] = true
		for _, s := range img.Snapshots {
			users[s.ID] = append(users[s.ID], img.ID)
		}
	}
	plan := r.cfg.Command != Apply
	var wg sync.WaitGroup
	for _, sn := range order {
		var confirmed, unconfirmed []string
		going := map[string]bool{}
		for _, it := range owners[sn.id] {
			if plan || !stillListed[it.id] {
				confirmed = append(confirmed, it.id)
				going[it.id] = true
			} else {
				unconfirmed = append(unconfirmed, it.id)
			}
		}
		var others []string
		for _, id := range users[sn.id] {
			if !going[id] {
				others = append(others, id)
			}
		}
		slices.Sort(others)
		switch {
		case len(confirmed) == 0:
			r.finishSnap(sn, report.NotAttempted, CodeDeleteNotConfirmed, fmt.Sprintf(
				"not attempted: image %s was reported deleted but is still listed; its snapshots are left", strings.Join(unconfirmed, ", ")))
		case len(others) > 0:
			verb := "does"
			if !plan {
				verb = "did"
			}
			r.mu.Lock()
			sn.usedBy, sn.remediation = others, ecs.Remediation("SnapshotCreatedImage")
			r.mu.Unlock()
			r.finishSnap(sn, report.Kept, "SnapshotCreatedImage", fmt.Sprintf("still used by image %s, which this run %s not delete",
				strings.Join(others, ", "), verb))
		case plan:
			r.finishSnap(sn, report.WouldDelete, "", "")
		default:
			wg.Go(func() { r.deleteSnapshot(ctx, rs, sn) })
		}
	}
	wg.Wait()
}

// deleteSnapshot sends DeleteSnapshot (never with Force) through the region's limiter under the
// shared concurrency limit, retrying what is retryable, and records the answer. It sends nothing
// in plan, nor once the run or the region stopped.
func (r *Runner) deleteSnapshot(ctx context.Context, rs *regionState, sn *snapItem) {
	const action = "DeleteSnapshot"
	if r.cfg.Command != Apply {
		r.finishSnap(sn, report.NotAttempted, "", "not attempted: only apply deletes snapshots")
		return
	}
	var (
		res      ecs.Result
		last     *ecs.Error // the last answer received, nil for success
		unknown  bool       // an attempt ended without a known result: it may have taken effect
		attempts int
	)
	err := r.calls.do(ctx, rs, action, r.retry.MaxAttempts, func(reqCtx context.Context) error {
		// The slot may have come free after a stop: check at the last moment, as dispatch does.
		if r.halted(ctx, rs) || r.followUpStopped(rs.name, action) != "" {
			return errNotSent
		}
		attempts++
		r.mu.Lock()
		sn.attempts++
		sn.inflight = true
		r.mu.Unlock()
		r.journalSent(action, rs.name, sn.id)
		var err error
		res, err = r.cfg.API.DeleteSnapshot(reqCtx, rs.name, sn.id, false)
		r.mu.Lock()
		sn.inflight = false
		r.mu.Unlock()
		last = asECSError(err)
		if last != nil && last.Class == ecs.ClassRetryable && !last.Throttled && !ecs.IsBusy(last.Code) {
			unknown = true
		}
		// Counted before the slot is given back, so that no other delete starts unaware of a stop.
		r.noteFollowUp(rs.name, action, last)
		return err
	})
	if attempts == 0 {
		r.finishSnap(sn, report.NotAttempted, "", "not attempted: "+r.notSentReason(ctx, rs, action))
		return
	}
	if err != nil {
		// A retry that was not sent (the run or the region stopped) leaves the last answer.
		err = last
	}
	r.logFollowUp(action, rs.name, zap.String("snapshot_id", sn.id), err)
	r.mu.Lock()
	sn.requestID = res.RequestID
	if err != nil && err.RequestID != "" {
		sn.requestID = err.RequestID
	}
	r.mu.Unlock()
	switch {
	case err == nil:
		r.finishSnap(sn, report.Deleted, "", "")
	case err.Class == ecs.ClassBlocked:
		r.mu.Lock()
		sn.remediation = ecs.Remediation(err.Code)
		r.mu.Unlock()
		r.finishSnap(sn, report.Kept, err.Code, err.Message)
	case err.Class == ecs.ClassNotFound && unknown:
		r.finishSnap(sn, report.Deleted, "", "an earlier attempt had an unknown result and the snapshot is now gone")
	case err.Class == ecs.ClassNotFound:
		r.finishSnap(sn, report.Skipped, err.Code, "the snapshot no longer exists: "+err.Message)
	case err.Class == ecs.ClassRetryable:
		// A snapshot busy the whole run stays, and its image is gone: no later run sees it.
		r.mu.Lock()
		sn.remediation = ecs.Remediation(err.Code)
		r.mu.Unlock()
		r.finishSnap(sn, report.Failed, err.Code, fmt.Sprintf("%s (after %d attempts)", err.Message, attempts))
	default:
		r.finishSnap(sn, report.Failed, err.Code, err.Message)
	}
}

// finishSnap gives a snapshot its outcome. Once given, an outcome never changes.
func (r *Runner) finishSnap(sn *snapItem, o report.Outcome, code, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sn.outcome != "" {
		return
	}
	sn.outcome, sn.code, sn.message, sn.inflight = o, code, msg, false
	if r.cfg.Journal != nil {
		r.cfg.Journal.SnapshotOutcome(sn.region, report.SnapshotEntry{SnapshotID: sn.id, SizeGiB: sn.size, Outcome: o, Code: code,
			Message: msg, UsedBy: sn.usedBy, Remediation: sn.remediation, RequestID: sn.requestID, Attempts: sn.attempts})
	}
}

// snapshotEntry is the report entry of one snapshot of a deleted image. A snapshot the phase never
// reached is not_attempted; one whose request is in flight is failed, its result unknown. The
// caller holds r.mu.
func (r *Runner) snapshotEntry(region string, s ecs.Snapshot) report.SnapshotEntry {
	e := report.SnapshotEntry{SnapshotID: s.ID, SizeGiB: s.SizeGiB}
	sn := r.follow.snaps[region+"/"+s.ID]
	switch {
	case sn == nil:
		e.Outcome, e.Message = report.NotAttempted, "not attempted: the run stopped before its snapshots"
	case sn.outcome != "":
		e.Outcome, e.Code, e.Message = sn.outcome, sn.code, sn.message
		e.UsedBy, e.Remediation = slices.Clone(sn.usedBy), sn.remediation
		e.RequestID, e.Attempts = sn.requestID, sn.attempts
	case sn.inflight:
		e.Outcome, e.Code, e.Message = report.Failed, CodeInterruptedInFlight, "the process stopped while a request for this snapshot was in flight; its result is unknown"
		e.Attempts = sn.attempts
	default:
		e.Outcome, e.Message, e.Attempts = report.NotAttempted, "not attempted: the run stopped before its snapshots", sn.attempts
	}
	return e
}
