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
		it.state = stateDeprecating
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

// deprecate is the deprecate step: for each image to deprecate, ModifyImageAttribute with DryRun
// first, then, on apply when the guards and the confirmation cleared the run, Status=Deprecated
// and the DeprecatedAtTag tag. A refusal (a shared image) is blocked; the job never unshares.
func (r *Runner) deprecate(ctx context.Context, cleared bool) {
	its := r.itemsIn(stateDeprecating)
	if len(its) == 0 {
		return
	}
	real := r.cfg.Command == Apply && cleared && ctx.Err() == nil
	r.eachItem(its, func(rs *regionState, it *item) { r.deprecateOne(ctx, rs, it, real) })
}

func (r *Runner) deprecateOne(ctx context.Context, rs *regionState, it *item, real bool) {
	if r.endIfHalted(ctx, rs, it) {
		return
	}
	if r.cfg.Command == Apply && !real {
		return // the guards or the confirmation stopped the run: reported not_attempted
	}
	if !it.tagOnly {
		if !r.setStatus(ctx, rs, it, ecs.StatusDeprecated, true) {
			return
		}
		if r.cfg.Command == Plan {
			r.mu.Lock()
			it.eligible = r.now().UTC().Add(it.grace)
			r.mu.Unlock()
			r.move(it, stateWouldDeprecate, "", "apply would deprecate it; deleted no earlier than "+it.eligible.Format(time.RFC3339))
			return
		}
		if !r.setStatus(ctx, rs, it, ecs.StatusDeprecated, false) {
			return
		}
	}
	now := r.now().UTC()
	e := r.call(ctx, rs, it, "TagResources", func(ctx context.Context) (ecs.Result, error) {
		return r.cfg.API.TagImage(ctx, ecs.TagImageInput{Region: it.region, ImageID: it.id,
			Tags: map[string]string{policy.DeprecatedAtTag: now.Format(time.RFC3339)}})
	})
	r.mu.Lock()
	it.eligible = now.Add(it.grace)
	r.mu.Unlock()
	eligible := it.eligible.Format(time.RFC3339)
	switch {
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

// setStatus sends one ModifyImageAttribute (dry or real) and reports whether it passed; when it
// did not, the image has its outcome.
func (r *Runner) setStatus(ctx context.Context, rs *regionState, it *item, status string, dry bool) bool {
	e := r.call(ctx, rs, it, "ModifyImageAttribute", func(ctx context.Context) (ecs.Result, error) {
		return r.cfg.API.SetImageStatus(ctx, ecs.SetImageStatusInput{Region: it.region, ImageID: it.id, Status: status, DryRun: dry})
	})
	if e == nil {
		return true
	}
	switch {
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

// call makes one call for an item through r.calls, retrying what is retryable, and keeps its
// request id and attempt count.
func (r *Runner) call(ctx context.Context, rs *regionState, it *item, action string, fn func(context.Context) (ecs.Result, error)) *ecs.Error {
	e := r.calls.do(ctx, rs, action, r.retry.MaxAttempts, func(ctx context.Context) error {
		r.mu.Lock()
		it.attempts++
		r.mu.Unlock()
		res, err := fn(ctx)
		if res.RequestID != "" {
			r.mu.Lock()
			it.requestID = res.RequestID
			r.mu.Unlock()
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
	return e
}
