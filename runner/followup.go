package runner

import (
	"context"
	"fmt"
	"sync"

	"go.uber.org/zap"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// followUpActions are the calls made after the delete phases; each region paces each of them with
// a limiter of its own, like DescribeImages and DeleteImage.
var followUpActions = []string{"DescribeInstances", "DescribeImageSharePermission", "DeleteSnapshot"}

// followUp is what the runner tracks of the follow-ups. Guarded by Runner.mu; the maps are made
// on first use.
type followUp struct {
	snaps    map[string]*snapItem // "region/snapshot_id": each snapshot once, however many images share it
	failFast map[string]int       // "region/action": consecutive refusals that no retry gets past
	stopped  map[string]string    // "region/action": why no more requests of it are sent there
}

// followUps runs, once the delete phases are over, the work that explains and completes them:
// the blocker lookups (when Config.Blockers) and the snapshots of the deleted images (regions with
// delete_snapshots), both at once under the shared concurrency limit. Neither changes the outcome
// of any image. Nothing starts once the run is interrupted or stopped on a fatal fault.
func (r *Runner) followUps(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	var wg sync.WaitGroup
	if r.cfg.Blockers {
		wg.Go(func() { r.lookupBlockers(ctx) })
	}
	wg.Go(func() { r.snapshotPhase(ctx) })
	wg.Wait()
}

// followUpStopped returns why action is no longer sent in a region, or "".
func (r *Runner) followUpStopped(region, action string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.follow.stopped[region+"/"+action]
}

// noteFollowUp counts the answers to a follow-up action as observe does for DeleteImage: after
// FailFastAfter consecutive refusals that no retry gets past (a permission the RAM policy lacks, a
// revoked key), the region sends no more of that action, and the report says so once.
func (r *Runner) noteFollowUp(region, action string, e *ecs.Error) {
	key := region + "/" + action
	r.mu.Lock()
	if r.follow.failFast == nil {
		r.follow.failFast, r.follow.stopped = map[string]int{}, map[string]string{}
	}
	if e == nil || !isFailFast(e.Code) {
		r.follow.failFast[key] = 0
		r.mu.Unlock()
		return
	}
	r.follow.failFast[key]++
	n := r.follow.failFast[key]
	msg := ""
	if n >= r.retry.FailFastAfter && r.follow.stopped[key] == "" {
		msg = fmt.Sprintf("%s: %s stopped after %d consecutive %s answers%s", region, action, n, e.Code, failFastHint(e.Code))
		r.follow.stopped[key] = msg
	}
	r.mu.Unlock()
	if msg != "" {
		r.warn(msg)
	}
}

// notSentReason says why a follow-up request was not sent, as notAttempted messages do.
func (r *Runner) notSentReason(ctx context.Context, rs *regionState, action string) string {
	if why := r.followUpStopped(rs.name, action); why != "" {
		return why
	}
	r.mu.Lock()
	regionStopped, stopMsg, fault := rs.stopped, rs.stopMessage, r.fault
	r.mu.Unlock()
	switch {
	case regionStopped:
		return stopMsg
	case fault != "":
		return "the run stopped on a fault"
	case ctx.Err() != nil:
		return "the run was interrupted"
	}
	return "the run stopped"
}

// annotate adds to a report entry what the follow-ups found: the blockers of a blocked image and
// the snapshots of a deleted one. The caller holds r.mu.
func (r *Runner) annotate(e *report.Entry, it *item) {
	switch e.Outcome {
	case report.Blocked:
		e.Blockers = r.blockersOf(e, it)
	case report.Deleted, report.WouldDelete:
		if !r.deletesSnapshots(it.region) {
			return
		}
		for _, s := range it.snapshots {
			e.Snapshots = append(e.Snapshots, r.snapshotEntry(it.region, s))
		}
	}
}

// errNotSent is what a follow-up request returns to call when it decided, at the last moment,
// not to send: a final answer, never retried.
var errNotSent = &ecs.Error{Class: ecs.ClassFailed, Code: "NotSent", Message: "the request was not sent"}

// logFollowUp logs the end of one follow-up, with the usual field keys.
func (r *Runner) logFollowUp(action, region string, id zap.Field, e *ecs.Error) {
	code := ""
	if e != nil {
		code = e.Code
	}
	r.log.Debug("follow-up", zap.String("action", action), zap.String("region", region), id, zap.String("code", code))
}
