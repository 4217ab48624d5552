package runner

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// Staged retention (deprecate_first): a selected image is deprecated first and deleted only by a
// run that finds it still selected, Deprecated and tagged DeprecatedAtTag at least the grace
// period ago.

// CodeInGracePeriod: a Deprecated image whose grace period is not over; the message says when.
const CodeInGracePeriod = report.CodeInGracePeriod

// stagedActions are the calls of staged retention, each paced by its own limiter.
var stagedActions = []string{"ModifyImageAttribute", "TagResources", "UntagResources"}

// stage decides, at selection, what staged retention does with a selected image of a region
// that says deprecate_first: an image not yet Deprecated is to be deprecated; a Deprecated one
// whose tag is old enough goes on to be deleted; a younger one is skipped until its date; one
// without our tag gets it now (apply), its clock starting now. The item is not shared yet.
func (r *Runner) stage(reg *policy.Region, it *item, img ecs.Image) {
	if reg.DeprecateFirst <= 0 {
		return
	}
	it.grace = reg.DeprecateFirst
	if img.Status != ecs.StatusDeprecated {
		it.state, it.toDeprecate = stateDeprecating, true
		return
	}
	now := r.now().UTC()
	at, err := time.Parse(time.RFC3339, img.Tags[policy.DeprecatedAtTag])
	switch {
	case err != nil && r.cfg.Command == Plan:
		it.state, it.code, it.eligible = stateSkipped, CodeInGracePeriod, now.Add(it.grace)
		it.message = fmt.Sprintf("Deprecated without a valid %s tag: apply tags it, and it becomes eligible for deletion on %s",
			policy.DeprecatedAtTag, it.eligible.Format(time.RFC3339))
	case err != nil:
		it.state, it.tagOnly = stateDeprecating, true
	case now.Sub(at) < it.grace:
		it.state, it.code, it.eligible = stateSkipped, CodeInGracePeriod, at.Add(it.grace).UTC()
		it.message = fmt.Sprintf("deprecated at %s; eligible for deletion on %s", at.UTC().Format(time.RFC3339),
			it.eligible.Format(time.RFC3339))
	}
}

// deprecateDry is the deprecate step's DryRun, before the guards and the confirmation: for each
// image to deprecate, ModifyImageAttribute Status=Deprecated with DryRun. On plan one that passes
// is would_deprecate; on apply it passes to stateToDeprecate, as does, at once, a Deprecated
// image that only needs our tag (TagResources has no DryRun). A refusal (a shared image) is
// blocked; the job never unshares. Each region's first DryRuns go one at a time
// (eachItemProbed).
func (r *Runner) deprecateDry(ctx context.Context) {
	its := r.itemsIn(stateDeprecating)
	if len(its) == 0 {
		return
	}
	r.eachItemProbed(its, func(rs *regionState, it *item) bool {
		if r.endIfHalted(ctx, rs, it) {
			return false
		}
		if !it.tagOnly && !r.setStatus(ctx, rs, it, ecs.StatusDeprecated, true) {
			return false
		}
		if r.cfg.Command == Plan {
			r.mu.Lock()
			it.eligible = r.now().UTC().Add(it.grace)
			r.mu.Unlock()
			r.move(it, stateWouldDeprecate, "", "apply would deprecate it; deleted no earlier than "+it.eligible.Format(time.RFC3339))
		} else {
			r.move(it, stateToDeprecate, "", "")
		}
		return !it.tagOnly // a tag-only image sent no DryRun: it proves nothing
	})
}

// deprecate is the deprecate step of apply, once the guards and the confirmation cleared the
// run: Status=Deprecated for each image whose DryRun passed, then the DeprecatedAtTag tag (an
// image Deprecated already gets the tag only). Not cleared, or stopped, nothing is sent: the
// images are reported not_attempted.
func (r *Runner) deprecate(ctx context.Context, cleared bool) {
	its := r.itemsIn(stateToDeprecate)
	if len(its) == 0 || !cleared {
		return
	}
	r.eachItem(its, func(rs *regionState, it *item) { r.deprecateOne(ctx, rs, it) })
}

func (r *Runner) deprecateOne(ctx context.Context, rs *regionState, it *item) {
	if r.endIfHalted(ctx, rs, it) {
		return
	}
	if !it.tagOnly && !r.setStatus(ctx, rs, it, ecs.StatusDeprecated, false) {
		return
	}
	now := r.now().UTC()
	value := now.Format(time.RFC3339)
	// A stop sends no tag: the image is deprecated all the same.
	e, sent := r.sendTagChange(ctx, rs, it, report.ActionTagResources, func(ctx context.Context) (ecs.Result, error) {
		return r.cfg.API.TagImage(ctx, ecs.TagImageInput{Region: it.region, ImageID: it.id,
			Tags: map[string]string{policy.DeprecatedAtTag: value}})
	}, func(img ecs.Image) bool { return img.Tags[policy.DeprecatedAtTag] == value })
	r.mu.Lock()
	it.eligible = now.Add(it.grace)
	r.mu.Unlock()
	eligible := it.eligible.Format(time.RFC3339)
	switch {
	case ctx.Err() != nil && !sent && it.tagOnly:
		r.stopped(ctx, rs, it)
	case ctx.Err() != nil && !sent:
		r.move(it, stateDeprecated, "", "deprecated; the run stopped before it tagged it: "+report.UntaggedNext)
	case ctx.Err() != nil && e != nil && !it.tagOnly:
		r.move(it, stateDeprecated, "", "deprecated; the run stopped before an answer said its tag was set: if the "+policy.DeprecatedAtTag+
			" tag is missing, "+report.UntaggedNext)
	case e != nil && it.tagOnly:
		r.move(it, stateFailed, e.Code, "could not tag a Deprecated image to start its grace period: "+e.Message)
	case e != nil:
		r.move(it, stateFailed, e.Code, "deprecated, but could not tag it (the next run tags it and starts its clock then): "+e.Message)
	case it.tagOnly:
		r.move(it, stateSkipped, CodeInGracePeriod, "Deprecated without our tag: tagged now; eligible for deletion on "+eligible)
	default:
		r.move(it, stateDeprecated, "", "deprecated; eligible for deletion on "+eligible)
	}
}

// setStatus sends one ModifyImageAttribute (dry or real) and reports whether it passed (a real
// one: or was found done, see change); when it did not, the image has its outcome.
func (r *Runner) setStatus(ctx context.Context, rs *regionState, it *item, status string, dry bool) bool {
	send := func(ctx context.Context) (ecs.Result, error) {
		if !dry {
			r.journalSentStatus(it.region, it.id, status)
		}
		return r.cfg.API.SetImageStatus(ctx, ecs.SetImageStatusInput{Region: it.region, ImageID: it.id, Status: status, DryRun: dry})
	}
	var e *ecs.Error
	if dry {
		e, _ = r.call(ctx, rs, it, "ModifyImageAttribute", send)
	} else {
		e = r.change(ctx, rs, it, "ModifyImageAttribute", send, func(img ecs.Image) bool { return img.Status == status })
	}
	if e == nil {
		if !dry {
			r.mu.Lock()
			it.changed = true
			r.mu.Unlock()
		}
		return true
	}
	switch {
	case e.Code == CodeChangeResultUnknown:
		r.fail(it, e.Code, e.Message)
	case e.Class == ecs.ClassDryRunIgnored:
		msg := fmt.Sprintf("the service answered a DryRun ModifyImageAttribute of %s in %s with success: it did not honour DryRun and may have changed the image; no other change was sent", it.id, it.region)
		r.fatal(msg)
		r.move(it, stateFailed, CodeDryRunNotHonoured, msg)
	case e.Class == ecs.ClassBlocked:
		r.move(it, stateBlocked, e.Code, e.Message)
	case e.Class == ecs.ClassNotFound:
		r.move(it, stateSkipped, e.Code, e.Message)
	case ctx.Err() != nil && !r.stopped(ctx, rs, it):
		r.move(it, stateNotAttempted, e.Code, "not attempted: the run was interrupted")
	default:
		r.fail(it, e.Code, e.Message)
	}
	return false
}

// CodeChangeResultUnknown: a change of staged retention (ModifyImageAttribute, TagResources,
// UntagResources) was sent, no answer said whether it took effect (a 5xx, a timeout, a dropped
// connection), and the lookup that would have told failed.
const CodeChangeResultUnknown = "ChangeResultUnknown"

// change makes one real change for an item (a status, a tag) through call. When an answer left
// unknown whether the change took effect (a 5xx, a timeout, a dropped connection: the change
// may be done and only its answer lost) and the last answer is an error, that error proves
// nothing: a retry of a change that took effect may be refused (what ModifyImageAttribute of
// the status an image already has answers, the API reference does not say), and attempts that
// ran out say nothing. Then one lookup by id settles it: the image showing the change (took) is
// success; not showing it, the last answer stands; gone, not found; a failed lookup,
// CodeChangeResultUnknown. A stop does not prevent that lookup: it is read-only and bounded.
// From the first real change on, the item counts as in flight until its outcome, so that a
// report taken before then says its result is unknown.
func (r *Runner) change(ctx context.Context, rs *regionState, it *item, action string, fn func(context.Context) (ecs.Result, error),
	took func(ecs.Image) bool) *ecs.Error {
	r.mu.Lock()
	it.inflight = true
	r.mu.Unlock()
	e, unsure := r.call(ctx, rs, it, action, fn)
	if e == nil || !unsure {
		return e
	}
	lctx, cancel := settleContext(ctx)
	defer cancel()
	found, le := r.confirmingLookup(lctx, rs, []string{it.id})
	switch {
	case le != nil:
		return &ecs.Error{Class: ecs.ClassFailed, Code: CodeChangeResultUnknown, RequestID: e.RequestID,
			Message: fmt.Sprintf("%s was sent, no answer said whether it took effect (last: %s: %s), and the lookup that would tell failed: %s",
				action, e.Code, e.Message, le.Message)}
	case len(found) == 0:
		return &ecs.Error{Class: ecs.ClassNotFound, Code: "InvalidImageId.NotFound", Message: "the image is gone"}
	case took(found[0]):
		r.log.Info("a change whose answer was lost took effect", zap.String("region", it.region), zap.String("image_id", it.id),
			zap.String("action", action), zap.String("last_code", e.Code))
		return nil
	}
	return e
}

// call makes one call for an item through r.calls, retrying what is retryable, and keeps its
// request id and attempt count. unsure reports whether an answer left unknown whether the
// request took effect: a retryable error that is not a throttle.
func (r *Runner) call(ctx context.Context, rs *regionState, it *item, action string, fn func(context.Context) (ecs.Result, error)) (e *ecs.Error, unsure bool) {
	e = r.calls.do(ctx, rs, action, r.retry.MaxAttempts, func(ctx context.Context) error {
		r.mu.Lock()
		it.attempts++
		r.mu.Unlock()
		res, err := fn(ctx)
		if res.RequestID != "" {
			r.mu.Lock()
			it.requestID = res.RequestID
			r.mu.Unlock()
		}
		if ae := asECSError(err); ae != nil && ae.Class == ecs.ClassRetryable && !ae.Throttled {
			unsure = true
		}
		return err
	})
	if e != nil {
		if e.RequestID != "" {
			r.mu.Lock()
			it.requestID = e.RequestID
			r.mu.Unlock()
		}
		r.log.Debug("staged retention call failed", zap.String("region", it.region), zap.String("image_id", it.id),
			zap.String("action", action), zap.String("code", e.Code))
	}
	return e, unsure
}

// sendTagChange sends a tag change of staged retention (TagResources or UntagResources, the
// action), with its journal line, unless the run stopped, and reports whether it was sent; done
// tells from a lookup whether a change whose answer was lost took effect (change).
func (r *Runner) sendTagChange(ctx context.Context, rs *regionState, it *item, action string,
	call func(context.Context) (ecs.Result, error), done func(ecs.Image) bool) (*ecs.Error, bool) {
	if ctx.Err() != nil {
		return nil, false
	}
	sent := false
	e := r.change(ctx, rs, it, action, func(ctx context.Context) (ecs.Result, error) {
		sent = true
		r.journalSent(action, it.region, it.id)
		return call(ctx)
	}, done)
	return e, sent
}
