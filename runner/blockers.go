package runner

import (
	"context"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// blockerLookups names, for each refusal code that has one, the call that says who holds the
// image. The other codes are explained by their remediation alone.
var blockerLookups = map[string]string{
	"ImageUsingByInstance": "DescribeInstances",
	"ImageUseShared":       "DescribeImageSharePermission",
}

// lookupBlockers looks up what holds every blocked image whose code has a lookup, all at once
// under the shared concurrency limit, each call through the region's limiter and retried like
// any other read.
func (r *Runner) lookupBlockers(ctx context.Context) {
	r.mu.Lock()
	var todo []*item
	for _, it := range r.items {
		if it.state == stateBlocked && blockerLookups[it.code] != "" {
			todo = append(todo, it)
		}
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, it := range todo {
		wg.Go(func() { r.lookupBlocker(ctx, it) })
	}
	wg.Wait()
}

// lookupBlocker makes one image's lookup and keeps what it found, or why it found nothing.
func (r *Runner) lookupBlocker(ctx context.Context, it *item) {
	r.mu.Lock()
	code := it.code
	r.mu.Unlock()
	action := blockerLookups[code]
	rs := r.region(it.region)
	b := &report.Blockers{}
	if why := r.followUpStopped(it.region, action); why != "" {
		b.LookupError = "not looked up: " + why
		r.setBlockers(it, b)
		return
	}
	sent := false
	err := r.calls.do(ctx, rs, action, r.retry.MaxAttempts, func(reqCtx context.Context) error {
		// A slot may come free after the region stopped this action: check at the last moment.
		if r.followUpStopped(it.region, action) != "" {
			return errNotSent
		}
		sent = true
		var err error
		switch action {
		case "DescribeInstances":
			var ids []string
			ids, err = r.cfg.API.InstancesUsingImage(reqCtx, it.region, it.id)
			b.Instances = slices.Sorted(slices.Values(ids))
		default:
			var sp ecs.SharePermission
			sp, err = r.cfg.API.ImageSharePermission(reqCtx, it.region, it.id)
			b.SharedWith, b.PublishedToAll = slices.Sorted(slices.Values(sp.Accounts)), sp.Public
		}
		// Counted before the slot is given back, so that no other lookup starts unaware of a stop.
		r.noteFollowUp(it.region, action, asECSError(err))
		return err
	})
	switch {
	case err == nil:
	case !sent || err == errNotSent:
		b.Instances, b.SharedWith, b.PublishedToAll = nil, nil, false
		b.LookupError = "not looked up: " + r.notSentReason(ctx, rs, action)
	default:
		// What a failed listing returned before failing would read as the whole answer.
		b.Instances, b.SharedWith, b.PublishedToAll = nil, nil, false
		b.LookupError = action + ": " + err.Error()
	}
	r.logFollowUp(action, it.region, zap.String("image_id", it.id), err)
	r.setBlockers(it, b)
}

func (r *Runner) setBlockers(it *item, b *report.Blockers) {
	r.mu.Lock()
	it.blockers = b
	r.mu.Unlock()
}

// blockersOf is the blockers of a blocked entry: what the lookup found, and the remediation of its
// code, or for a refusal this job does not know, the service's own message. The caller holds r.mu.
func (r *Runner) blockersOf(e *report.Entry, it *item) *report.Blockers {
	b := report.Blockers{}
	if it.blockers != nil {
		b = *it.blockers
	} else if r.cfg.Blockers && blockerLookups[e.Code] != "" {
		b.LookupError = "not looked up: the run stopped first"
	}
	b.Remediation = ecs.Remediation(e.Code)
	if it.toDeprecate {
		// Staged retention: the refusal came at the deprecation, which the next run retries.
		b.Remediation = strings.TrimSuffix(b.Remediation, ", then delete it")
	}
	if b.Remediation == "" {
		b.Remediation = e.Message
	}
	if it.toDeprecate {
		b.Remediation += stagedNext
	}
	return &b
}

// stagedNext ends the remediation of an image staged retention could not deprecate.
const stagedNext = "; the next run deprecates it (deprecate_first)"
