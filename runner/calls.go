package runner

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/semaphore"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
)

// calls is the run's one way to the API. Every request, of every region and action, takes one
// of the policy's concurrency slots; each region and action is paced by its own limiter; what
// is retryable is retried, throttles without spending an attempt. The phases use it; none of
// them holds a slot while it waits for a backoff or a pace.
type calls struct {
	slots   *semaphore.Weighted
	running sync.WaitGroup // requests started in the background (start)
	retry   RetryConfig
	log     *zap.Logger

	throttled atomic.Int64 // throttling answers, all regions and actions
}

func newCalls(concurrency int, retry RetryConfig, log *zap.Logger) *calls {
	return &calls{slots: semaphore.NewWeighted(int64(max(concurrency, 1))), retry: retry, log: log}
}

// start runs fn in a concurrency slot in the background, once one is free, and reports false
// (fn not run) when ctx ends first: no request starts after a stop.
func (c *calls) start(ctx context.Context, fn func()) bool {
	if c.slots.Acquire(ctx, 1) != nil {
		return false
	}
	if ctx.Err() != nil { // the slot came free with the stop: the stop wins
		c.slots.Release(1)
		return false
	}
	c.running.Go(func() {
		defer c.slots.Release(1)
		fn()
	})
	return true
}

// wait returns when every request started in the background has ended.
func (c *calls) wait() { c.running.Wait() }

// do makes one read-only call of action in region rs, fn(reqCtx), in a concurrency slot and at
// the region's pace for the action, retrying what is retryable up to attempts error answers.
// A request in flight is not cancelled by a stop (reqCtx): it ends, bounded by the client's
// timeout; ctx stops waits and new requests.
func (c *calls) do(ctx context.Context, rs *regionState, action string, attempts int, fn func(context.Context) error) *ecs.Error {
	lim := rs.limiters[action]
	reqCtx := context.WithoutCancel(ctx)
	var throttledSince time.Time
	for errorsN := 0; ; {
		w, err := lim.Wait(ctx)
		if err != nil {
			return ecs.Classify(ctx.Err())
		}
		done := make(chan *ecs.Error, 1)
		if !c.start(ctx, func() { done <- asECSError(fn(reqCtx)) }) {
			return ecs.Classify(ctx.Err())
		}
		e := <-done
		if e == nil || e.Class != ecs.ClassRetryable {
			lim.Succeeded(w)
			return e
		}
		var delay time.Duration
		if e.Throttled {
			lim.Throttled(w)
			c.throttled.Add(1)
			if throttledSince.IsZero() {
				throttledSince = time.Now()
			}
			if time.Since(throttledSince) >= c.retry.ThrottleGiveUp {
				return e
			}
			delay = c.throttleDelay(e)
		} else {
			errorsN++
			if errorsN >= attempts {
				return e
			}
			delay = max(e.RetryAfter, c.backoff(errorsN))
		}
		c.log.Debug("retrying", zap.String("region", rs.name), zap.String("action", action), zap.String("code", e.Code),
			zap.String("message", e.Message), zap.Duration("delay", delay))
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return e
		}
	}
}

// each makes n calls of action at once, fn(ctx, i) for i in [0, n), each as do makes one, and
// returns the first error by index.
func (c *calls) each(ctx context.Context, rs *regionState, action string, n, attempts int, fn func(ctx context.Context, i int) error) *ecs.Error {
	errs := make([]*ecs.Error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = c.do(ctx, rs, action, attempts, func(ctx context.Context) error { return fn(ctx, i) })
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// pages reads a paged listing: page 1 first, whose total says how many pages of size follow,
// and those at once; a listing that gives no total is read page after page until a short one.
// fetch(ctx, page) keeps the page where the caller wants it and returns how many entries it had
// and the listing's total. maxPages bounds a listing (0: no bound); beyond it, the listing is an
// error. It returns the total of page 1.
func (c *calls) pages(ctx context.Context, rs *regionState, action string, size, maxPages, attempts int,
	fetch func(ctx context.Context, page int) (n, total int, err error)) (int, *ecs.Error) {
	var first, total int
	if err := c.do(ctx, rs, action, attempts, func(ctx context.Context) error {
		var err error
		first, total, err = fetch(ctx, 1)
		return err
	}); err != nil {
		return 0, err
	}
	last := (total + size - 1) / size
	tooMany := func(what string) *ecs.Error {
		return &ecs.Error{Class: ecs.ClassFailed, Code: ecs.CodeInvalidResponse, Message: action + " " + what}
	}
	switch {
	case maxPages > 0 && last > maxPages:
		return 0, tooMany("counted too many entries to read")
	case total == 0:
		for page, n := 2, first; n >= size; page++ {
			if maxPages > 0 && page > maxPages {
				return 0, tooMany("did not end its listing")
			}
			if err := c.do(ctx, rs, action, attempts, func(ctx context.Context) error {
				var err error
				n, _, err = fetch(ctx, page)
				return err
			}); err != nil {
				return 0, err
			}
		}
	case last > 1 && first >= size:
		if err := c.each(ctx, rs, action, last-1, attempts, func(ctx context.Context, i int) error {
			_, _, err := fetch(ctx, i+2)
			return err
		}); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// throttleDelay is how long a throttled request waits before it queues again for the limiter,
// which does the slowing down: the service's own hint, if it gave one, and no more than MaxDelay.
func (c *calls) throttleDelay(e *ecs.Error) time.Duration {
	return min(e.RetryAfter, c.retry.MaxDelay)
}

// backoff is exponential backoff with full jitter: uniform in [0, min(MaxDelay, BaseDelay*2^n)).
func (c *calls) backoff(n int) time.Duration {
	ceil := c.retry.BaseDelay << min(n, 30)
	if ceil <= 0 || ceil > c.retry.MaxDelay {
		ceil = c.retry.MaxDelay
	}
	return time.Duration(rand.Int64N(int64(ceil)) + 1)
}

// asECSError gives every error the ecs layer's classification; the client already returns
// *ecs.Error, and anything else is classified here by the same one function.
func asECSError(err error) *ecs.Error {
	if err == nil {
		return nil
	}
	var e *ecs.Error
	if errors.As(err, &e) {
		return e
	}
	return ecs.Classify(err)
}
