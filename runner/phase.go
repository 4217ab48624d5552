package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/internal/pace"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// phase sends one DeleteImage (dry or real) for each item until every item has a result for the
// phase: each region is fed by its own dispatcher, and all of them share the run's concurrency
// slots.
func (r *Runner) phase(ctx context.Context, items []*item, dry bool) {
	for _, it := range items {
		it.errors = 0
	}
	r.countPhase(len(items))
	r.eachRegion(items, func(rs *regionState, its []*item) { r.dispatch(ctx, rs, its, dry) })
}

type answer struct {
	it      *item
	ticket  pace.Ticket // the pace's leave for the request, given back with its answer
	res     ecs.Result
	err     *ecs.Error
	notSent bool // the run or the region stopped before the request was sent
	probe   bool // sent while the region's DryRun was unproven: the sender waits for this answer
}

// dispatch owns one region's items for one phase. A sender takes items from the queue at the
// region's pace and starts each attempt in a concurrency slot; the answers come back here, so all
// decisions about an item are taken on this one goroutine, and answers are taken while the
// sender waits for the pace. A retry waits on a timer, not in a slot of the concurrency limit.
//
// A dry phase probes first: until an answer shows that the region's endpoint honours DryRun (a
// DryRun that passed), it sends one request at a time and waits for its answer. A service that
// ignores DryRun deletes the image and answers success; observe then stops the run before any
// other request of the region is sent, so such a service can take at most one image a region.
// A refusal, a not-found or an error proves nothing (a service that ignores DryRun still refuses
// an image in use), so the next request is a probe too.
func (r *Runner) dispatch(ctx context.Context, rs *regionState, items []*item, dry bool) {
	queue := make(chan *item, len(items))
	// A retry goes before the items not yet sent: an item that faults again and again ends its
	// run of retries while the others keep the pace busy, not in a tail after them all, where
	// the slowest run of retries is every region's wait at the DryRun barrier.
	retries := make(chan *item, len(items))
	answers := make(chan answer, len(items))
	// probed carries the dispatcher's word on each probe, once its answer is handled: whether
	// it showed DryRun honoured. The sender is waiting for it, so at most one is pending.
	probed := make(chan bool, 1)
	proven := !dry // the sender's own: only the sender reads or writes it
	for _, it := range items {
		queue <- it
	}
	lim := rs.limiters["DeleteImage"]
	// Requests in flight are not cancelled by a stop: they finish, bounded by the client's timeout.
	reqCtx := context.WithoutCancel(ctx)
	send := func(it *item) bool {
		if r.halted(ctx, rs) {
			return false
		}
		w, err := lim.Wait(ctx) // fails only when ctx ends
		if err != nil || r.halted(ctx, rs) {
			return false
		}
		probe := !proven
		return r.calls.start(ctx, func() {
			// The slot may have come free after the region stopped: check once more.
			if r.halted(ctx, rs) {
				answers <- answer{it: it, ticket: w, notSent: true, probe: probe}
				return
			}
			r.mu.Lock()
			it.inflight = true
			it.attempts++
			r.mu.Unlock()
			if !dry {
				r.journalSent("DeleteImage", it.region, it.id)
			}
			res, err := r.cfg.API.DeleteImage(reqCtx, ecs.DeleteImageInput{Region: it.region, ImageID: it.id, Force: it.force, DryRun: dry})
			a := answer{it: it, ticket: w, res: res, err: asECSError(err), probe: probe}
			// Stops are decided here, before the answer even reaches the dispatcher, so that
			// no other worker sends once the reason to stop is known.
			r.observe(rs, a)
			answers <- a
		})
	}
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		for {
			it, ok := next(queue, retries)
			if !ok {
				return
			}
			if !send(it) {
				answers <- answer{it: it, notSent: true}
				continue
			}
			if !proven {
				select {
				case proven = <-probed:
				case <-ctx.Done(): // nothing is sent after it, so no probe is waited for again
				}
			}
		}
	}()
	// A real phase of apply confirms its deletions 100 at a time as they end (confirmBatch).
	var confirming sync.WaitGroup
	var batch []*item
	confirm := func() {
		if len(batch) > 0 && ctx.Err() == nil {
			b := batch
			confirming.Go(func() { r.confirmBatch(ctx, rs, b) })
		}
		batch = nil
	}
	ended := func(it *item) {
		r.advancePhase()
		if dry || r.cfg.Command != Apply {
			return
		}
		if s := r.stateOf(it); s == stateDeleted || s == stateUnknown {
			if batch = append(batch, it); len(batch) == ecs.PageSize {
				confirm()
			}
		}
	}
	var timers sync.WaitGroup
	for pending := len(items); pending > 0; {
		a := <-answers
		r.mu.Lock()
		a.it.inflight = false
		r.mu.Unlock()
		if a.notSent {
			r.stopped(ctx, rs, a.it) // halted, so it finishes the item
			pending--
			r.advancePhase()
			if a.probe {
				probed <- false
			}
			continue
		}
		delay, retry := r.handle(rs, lim, a, dry)
		if a.probe {
			probed <- a.err == nil // a DryRun that passed: the endpoint honours DryRun
		}
		if !retry {
			pending--
			ended(a.it)
			continue
		}
		timers.Add(1)
		go func() {
			defer timers.Done()
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			retries <- a.it
		}()
	}
	// Every item is finished, so no timer is left to queue one and the sender is idle.
	timers.Wait()
	close(queue) // both queues are empty: every item is finished
	<-senderDone
	confirm()
	confirming.Wait()
}

// next takes the next item to send: a retry if one is due, else the next of the queue; false
// once the queue is closed.
func next(queue, retries <-chan *item) (*item, bool) {
	select {
	case it := <-retries:
		return it, true
	default:
	}
	select {
	case it := <-retries:
		return it, true
	case it, ok := <-queue:
		return it, ok
	}
}

// observe takes the decisions one answer forces on the whole run or region: a service that
// ignored DryRun stops the run; a few consecutive refusals that no retry will get past (a
// permission, a revoked key) stop the region.
func (r *Runner) observe(rs *regionState, a answer) {
	e := a.err
	if e != nil && e.Class == ecs.ClassDryRunIgnored {
		r.fatal(dryRunFault(a.it))
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e == nil || !isFailFast(e.Code) {
		rs.failFast = 0
		return
	}
	rs.failFast++
	if rs.failFast >= r.retry.FailFastAfter && !rs.stopped {
		rs.stopped, rs.stopOutcome, rs.stopCode = true, report.NotAttempted, e.Code
		rs.stopMessage = fmt.Sprintf("not attempted: %s stopped after %d consecutive %s answers%s", rs.name, rs.failFast, e.Code, failFastHint(e.Code))
		r.log.Error("region stopped", zap.String("region", rs.name), zap.String("code", e.Code))
	}
}

// halted reports whether no new request may start in the region.
func (r *Runner) halted(ctx context.Context, rs *regionState) bool {
	if ctx.Err() != nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return rs.stopped || r.fault != ""
}

func dryRunFault(it *item) string {
	return fmt.Sprintf("the service answered a DryRun DeleteImage of %s in %s with success: it did not honour DryRun and may have deleted the image; no other DeleteImage was sent", it.id, it.region)
}

// endIfHalted ends an item that must not be sent because the run or its region stopped, and
// reports whether it did.
func (r *Runner) endIfHalted(ctx context.Context, rs *regionState, it *item) bool {
	if !r.halted(ctx, rs) {
		return false
	}
	if !r.stopped(ctx, rs, it) {
		r.move(it, stateNotAttempted, "", "not attempted")
	}
	return true
}

// stopped finishes an item that must not be sent because the run or its region stopped, and
// reports whether it did.
func (r *Runner) stopped(ctx context.Context, rs *regionState, it *item) bool {
	r.mu.Lock()
	regionStopped, o, code, msg := rs.stopped, rs.stopOutcome, rs.stopCode, rs.stopMessage
	fault := r.fault
	r.mu.Unlock()
	switch {
	case regionStopped:
		if o == report.Failed {
			r.fail(it, code, msg)
		} else {
			r.move(it, stateOf(o), code, msg)
		}
	case fault != "":
		r.move(it, stateNotAttempted, "", "not attempted: the run stopped on a fault")
	case ctx.Err() != nil:
		r.move(it, stateNotAttempted, "", "not attempted: the run was interrupted")
	default:
		return false
	}
	return true
}

// handle decides what an answer means for its item: a final outcome, or a retry after a delay.
func (r *Runner) handle(rs *regionState, lim *pace.Pacer, a answer, dry bool) (time.Duration, bool) {
	it, e := a.it, a.err
	r.mu.Lock()
	if a.res.RequestID != "" {
		it.requestID = a.res.RequestID
	} else if e != nil && e.RequestID != "" {
		it.requestID = e.RequestID
	}
	r.mu.Unlock()
	if e == nil || !e.Throttled {
		lim.Succeeded(a.ticket)
		r.mu.Lock()
		rs.throttledSince = time.Time{}
		r.mu.Unlock()
	}
	if e == nil {
		switch {
		case !dry:
			r.move(it, stateDeleted, "", "")
		case r.cfg.Command == Plan:
			r.move(it, stateWouldDelete, "", "")
		default:
			r.move(it, statePassed, "", "")
		}
		return 0, false
	}
	switch e.Class {
	case ecs.ClassDryRunIgnored:
		// observe has stopped the run already; lookUpDryRunIgnored tells whether it is gone.
		r.move(it, stateFailed, CodeDryRunNotHonoured, dryRunFault(it))
	case ecs.ClassBlocked:
		r.move(it, stateBlocked, e.Code, e.Message)
	case ecs.ClassNotFound:
		if r.stateOf(it) == stateUnknown {
			r.move(it, stateDeleted, "", "an earlier attempt had an unknown result and the image is now gone")
		} else {
			r.move(it, stateSkipped, e.Code, e.Message)
		}
	case ecs.ClassRetryable:
		if e.Throttled {
			return r.throttled(rs, lim, a.ticket, it, e)
		}
		r.mu.Lock()
		it.errors++
		n := it.errors
		r.mu.Unlock()
		if !dry {
			// The request may have reached the service and taken effect: only a later answer
			// or a lookup can tell.
			r.move(it, stateUnknown, e.Code, e.Message)
		}
		if n >= r.retry.MaxAttempts {
			r.fail(it, e.Code, fmt.Sprintf("%s (after %d attempts)", e.Message, n))
			return 0, false
		}
		return max(e.RetryAfter, r.calls.backoff(n)), true
	default:
		r.fail(it, e.Code, e.Message)
	}
	return 0, false
}

// fail ends an image's try on an answer that says nothing of whether it still exists (attempts
// used up, a refusal of the request itself, a region given up): failed, or, after a real delete
// of unknown result, still unknown, for the confirming lookup to settle.
func (r *Runner) fail(it *item, code, msg string) {
	if r.stateOf(it) == stateUnknown {
		r.move(it, stateUnknown, code, msg)
		return
	}
	r.move(it, stateFailed, code, msg)
}

// stateOf reads an image's state.
func (r *Runner) stateOf(it *item) state {
	r.mu.Lock()
	defer r.mu.Unlock()
	return it.state
}

// throttled handles a throttling answer: it slows the region down and retries without spending
// one of the image's attempts, unless the region has answered nothing but throttles for too long.
// A throttle says "slow down", and the limiter does: the retry waits for the region's pace, not
// for a backoff of its own.
func (r *Runner) throttled(rs *regionState, lim *pace.Pacer, w pace.Ticket, it *item, e *ecs.Error) (time.Duration, bool) {
	lim.Throttled(w)
	r.calls.throttled.Add(1)
	now := time.Now()
	r.mu.Lock()
	if rs.throttledSince.IsZero() {
		rs.throttledSince = now
	}
	since := rs.throttledSince
	if now.Sub(since) >= r.retry.ThrottleGiveUp && !rs.stopped {
		rs.stopped, rs.stopOutcome, rs.stopCode = true, report.Failed, e.Code
		rs.stopMessage = fmt.Sprintf("%s answered only throttling for %s; gave up", rs.name, now.Sub(since).Round(time.Second))
	}
	stopped, msg := rs.stopped, rs.stopMessage
	r.mu.Unlock()
	if stopped {
		r.fail(it, e.Code, msg)
		return 0, false
	}
	return r.calls.throttleDelay(e), true
}

// dryRunIgnoredMessage is the message of an image that a service ignoring DryRun deleted.
const dryRunIgnoredMessage = "the service ignored DryRun: it answered a DryRun DeleteImage of this image with success, and the image is gone"

// lookUpDryRunIgnored looks up, by id, every image whose DryRun the service answered with
// success, since such a service deleted it for real: one that is gone is reported deleted, under
// CodeDryRunNotHonoured, so that the report counts what the account lost; one still listed stays
// failed. The run has stopped on the fault, so ctx must be the caller's: an interruption stops
// the lookup, the fault does not.
func (r *Runner) lookUpDryRunIgnored(ctx context.Context) {
	its := r.itemsWhere(func(it *item) bool { return it.state == stateFailed && it.code == CodeDryRunNotHonoured })
	r.settleByLookup(ctx, its, "look up images whose DryRun the service did not honour", func(it *item, listed bool) {
		if !listed {
			r.move(it, stateDeleted, CodeDryRunNotHonoured, dryRunIgnoredMessage)
		}
	})
}
