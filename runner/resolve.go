package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// resolveAll lists every region of the policy and turns the listings into items, all regions at
// once under the shared concurrency limit.
func (r *Runner) resolveAll(ctx context.Context, g *errgroup.Group) {
	var wg sync.WaitGroup
	for _, reg := range r.cfg.Policy.Regions {
		rs := r.region(reg.ID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.resolve(ctx, g, rs, reg)
			if err == nil {
				return
			}
			// The explicit ids were asked for by name: they get an outcome even now.
			code, msg := "", "not attempted: the run was interrupted while the region was being listed"
			if ctx.Err() == nil {
				// A region that cannot be listed is the region's failure, not the run's: the
				// other regions go on, and the report and the exit code say this one did not.
				code, msg = err.Code, "not attempted: the region's images could not be listed"
				why := fmt.Sprintf("could not list images: %s", err.Error())
				r.mu.Lock()
				rs.err = why
				rs.stopped, rs.stopOutcome, rs.stopCode, rs.stopMessage = true, report.NotAttempted, err.Code, "not attempted: "+why
				r.mu.Unlock()
				r.log.Error("listing failed", zap.String("region", reg.ID), zap.String("code", err.Code), zap.String("message", err.Message))
			}
			var its []*item
			for _, id := range reg.ImageIDs {
				its = append(its, &item{region: reg.ID, id: id, outcome: report.NotAttempted, code: code, message: msg})
			}
			r.addItems(its)
		}()
	}
	wg.Wait()
}

// resolve lists one region and evaluates the policy over what it found.
func (r *Runner) resolve(ctx context.Context, g *errgroup.Group, rs *regionState, reg *policy.Region) *ecs.Error {
	var images []ecs.Image
	if reg.Select != nil {
		f := reg.ListFilter(r.now())
		listed, err := r.listAll(ctx, g, rs, f)
		if err != nil {
			return err
		}
		// A tag-filtered listing finds ecs.TagQueryLimit images at most, however many match: one
		// that reached the cap may have lost images, so the region is listed again without the
		// tags, which the policy's selection checks itself.
		if len(f.Tags) > 0 && len(listed) >= ecs.TagQueryLimit {
			r.log.Info("tag-filtered listing reached the service's cap: listing without the tags",
				zap.String("region", rs.name), zap.Int("listed", len(listed)))
			f.Tags = nil
			if listed, err = r.listAll(ctx, g, rs, f); err != nil {
				return err
			}
		}
		images = listed
	}
	// Explicit ids are looked up by id, whoever owns them and whatever their status, so that one
	// that is missing or not ours is reported as such rather than silently ignored.
	listed := make(map[string]bool, len(images))
	for _, img := range images {
		listed[img.ID] = true
	}
	var lookup []string
	for _, id := range reg.ImageIDs {
		if !listed[id] {
			lookup = append(lookup, id)
		}
	}
	// The images Only names (a reviewed plan, an earlier report) are accounted for one by one
	// too: one that changed so that the listing's filters miss it, or that is gone, is looked up
	// and reported, never dropped.
	only := r.onlyIn(reg.ID)
	for _, id := range only {
		if !listed[id] && !slices.Contains(reg.ImageIDs, id) {
			lookup = append(lookup, id)
		}
	}
	found, err := r.lookup(ctx, g, rs, lookup, r.retry.MaxAttempts)
	if err != nil {
		return err
	}
	images = append(images, found...)
	// DescribeImages without ImageOwnerAlias leaves marketplace images out: an id it did not
	// find is asked for again among them, so that a marketplace image named by id is reported
	// not owned (ImageNotOwned), not missing.
	if missing := notFound(lookup, found); len(missing) > 0 {
		market, err := r.lookupOwned(ctx, g, rs, missing, r.retry.MaxAttempts, ecs.OwnerMarketplace)
		if err != nil {
			return err
		}
		images = append(images, market...)
	}
	if r.cfg.Policy.Limits.MaxDeletionPercent > 0 {
		n, err := r.countOwn(ctx, g, rs)
		if err != nil {
			return err
		}
		rs.ownCount = n
	}

	var its []*item
	seen := make(map[string]bool, len(images))
	for i, v := range reg.Evaluate(images, r.now()) {
		img := images[i]
		if seen[img.ID] {
			continue
		}
		it := &item{region: reg.ID, id: img.ID, name: img.Name, force: reg.Force, size: img.SizeGiB, snapshots: img.Snapshots,
			createdAt: img.CreationTime, family: img.Family}
		switch {
		case v.Kind == policy.Selected:
			it.selectedBy = "select"
			if v.Explicit {
				it.selectedBy = "image_ids"
			}
		case v.Kind == policy.Protected:
			it.outcome, it.message, it.protectedBy = report.Skipped, "protected by "+v.Rule, v.Rule
		case v.Kind == policy.Retained:
			it.outcome, it.message = report.Skipped, "kept by "+v.Rule+": "+v.Reason
			it.protectedBy = v.Rule + ": " + v.Reason
		case v.Kind == policy.NotOwned && v.Explicit:
			it.outcome, it.code = report.Skipped, CodeNotOwned
			it.message = "explicit id is not one of the account's own custom images: " + v.Reason
		case v.Explicit:
			it.outcome, it.code, it.message = report.Skipped, CodeNotSelectable, "explicit id cannot be selected: "+v.Reason
		case r.cfg.Only[reg.ID+"/"+img.ID]:
			it.outcome, it.code, it.message = report.Skipped, CodeNoLongerSelected, "the policy no longer selects it: "+v.Reason
		default:
			continue
		}
		seen[img.ID] = true
		its = append(its, it)
	}
	for _, id := range reg.ImageIDs {
		if !seen[id] {
			seen[id] = true
			its = append(its, &item{region: reg.ID, id: id, outcome: report.Skipped, code: "InvalidImageId.NotFound",
				message: "explicit id not found in the region"})
		}
	}
	if r.cfg.Only != nil {
		kept := its[:0]
		outside := 0
		for _, it := range its {
			switch {
			case r.cfg.Only[it.region+"/"+it.id]:
				kept = append(kept, it)
			case it.outcome == "" && !r.cfg.OnlyKnown[it.region+"/"+it.id]:
				outside++ // selected now, and new to the source of Only: never touched
			}
		}
		its = kept
		for _, id := range only {
			if !seen[id] {
				its = append(its, &item{region: reg.ID, id: id, outcome: report.Skipped, code: CodeImageGone,
					message: "no longer exists in the region"})
			}
		}
		if outside > 0 {
			r.warn(fmt.Sprintf("%s: %d images the policy selects now are not in %s: not touched", reg.ID, outside, r.onlyName()))
		}
	}
	r.addItems(its)
	return nil
}

// onlyIn returns the ids Config.Only names in a region, sorted.
func (r *Runner) onlyIn(region string) []string {
	var ids []string
	for key := range r.cfg.Only {
		if reg, id, ok := strings.Cut(key, "/"); ok && reg == region {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// onlyName says where Config.Only came from, for messages.
func (r *Runner) onlyName() string {
	if r.cfg.OnlyFrom != "" {
		return r.cfg.OnlyFrom
	}
	return "the images this run is limited to"
}

// listAll pages through DescribeImages: the first page gives TotalCount, then the other pages are
// fetched concurrently.
func (r *Runner) listAll(ctx context.Context, g *errgroup.Group, rs *regionState, f ecs.ListFilter) ([]ecs.Image, *ecs.Error) {
	var first ecs.ImagePage
	if err := r.call(ctx, g, rs, "DescribeImages", func(ctx context.Context) error {
		var err error
		first, err = r.cfg.API.DescribeImagesPage(ctx, rs.name, f, 1, ecs.PageSize)
		return err
	}); err != nil {
		return nil, err
	}
	pages := (first.TotalCount + ecs.PageSize - 1) / ecs.PageSize
	if pages <= 1 || len(first.Images) < ecs.PageSize {
		return first.Images, nil
	}
	// Each page is copied into its place in one slice as it comes, so that the account's images
	// are held once, not once in pages and again merged.
	all := make([]ecs.Image, pages*ecs.PageSize)
	counts := make([]int, pages+1)
	counts[1] = copy(all, first.Images)
	if err := r.callEach(ctx, g, rs, "DescribeImages", pages-1, r.retry.MaxAttempts, func(ctx context.Context, i int) error {
		p := i + 2
		page, err := r.cfg.API.DescribeImagesPage(ctx, rs.name, f, p, ecs.PageSize)
		counts[p] = copy(all[(p-1)*ecs.PageSize:p*ecs.PageSize], page.Images)
		return err
	}); err != nil {
		return nil, err
	}
	// Images created or deleted while paging shift the pages: never count one twice. The
	// pages are compacted in place, in order.
	ids := make(map[string]bool, first.TotalCount)
	n := 0
	for p := 1; p <= pages; p++ {
		for _, img := range all[(p-1)*ecs.PageSize : (p-1)*ecs.PageSize+counts[p]] {
			if !ids[img.ID] {
				ids[img.ID] = true
				all[n] = img
				n++
			}
		}
	}
	clear(all[n:])
	return all[:n:n], nil
}

// lookup finds images by id, 100 a call, whatever their status and owner (marketplace images
// excepted: the service leaves them out unless asked for them), each call given up after
// attempts error answers.
func (r *Runner) lookup(ctx context.Context, g *errgroup.Group, rs *regionState, ids []string, attempts int) ([]ecs.Image, *ecs.Error) {
	return r.lookupOwned(ctx, g, rs, ids, attempts, "")
}

// notFound returns the ids that no image of found has, in order.
func notFound(ids []string, found []ecs.Image) []string {
	have := make(map[string]bool, len(found))
	for _, img := range found {
		have[img.ID] = true
	}
	var out []string
	for _, id := range ids {
		if !have[id] {
			out = append(out, id)
		}
	}
	return out
}

// lookupOwned is lookup with ImageOwnerAlias owner ("" sends none).
func (r *Runner) lookupOwned(ctx context.Context, g *errgroup.Group, rs *regionState, ids []string, attempts int, owner string) ([]ecs.Image, *ecs.Error) {
	n := (len(ids) + ecs.PageSize - 1) / ecs.PageSize
	pages := make([][]ecs.Image, n)
	if err := r.callEach(ctx, g, rs, "DescribeImages", n, attempts, func(ctx context.Context, i int) error {
		chunk := ids[i*ecs.PageSize : min((i+1)*ecs.PageSize, len(ids))]
		f := ecs.ListFilter{ImageID: strings.Join(chunk, ","), Statuses: ecs.AllStatuses, OwnerAlias: owner}
		page, err := r.cfg.API.DescribeImagesPage(ctx, rs.name, f, 1, ecs.PageSize)
		pages[i] = page.Images
		return err
	}); err != nil {
		return nil, err
	}
	return slices.Concat(pages...), nil
}

// callEach makes n read-only calls of an action at once, fn(ctx, i) for i in [0, n), each under
// call's concurrency limit, limiter and retries (attempts error answers at most), and returns
// the first error by index.
func (r *Runner) callEach(ctx context.Context, g *errgroup.Group, rs *regionState, action string, n, attempts int, fn func(ctx context.Context, i int) error) *ecs.Error {
	errs := make([]*ecs.Error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = r.callN(ctx, g, rs, action, attempts, func(ctx context.Context) error { return fn(ctx, i) })
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

// countOwn counts the region's own custom images in every status, for max_deletion_percent.
func (r *Runner) countOwn(ctx context.Context, g *errgroup.Group, rs *regionState) (int, *ecs.Error) {
	var page ecs.ImagePage
	err := r.call(ctx, g, rs, "DescribeImages", func(ctx context.Context) error {
		var err error
		page, err = r.cfg.API.DescribeImagesPage(ctx, rs.name, ecs.ListFilter{OwnerAlias: ecs.OwnerSelf, Statuses: ecs.AllStatuses}, 1, 1)
		return err
	})
	return page.TotalCount, err
}

// call runs one read-only call under the shared concurrency limit and the region's limiter,
// retrying what is retryable up to RetryConfig.MaxAttempts error answers. It waits out a
// backoff outside the concurrency limit.
func (r *Runner) call(ctx context.Context, g *errgroup.Group, rs *regionState, action string, fn func(context.Context) error) *ecs.Error {
	return r.callN(ctx, g, rs, action, r.retry.MaxAttempts, fn)
}

// callN is call given up after attempts error answers.
func (r *Runner) callN(ctx context.Context, g *errgroup.Group, rs *regionState, action string, attempts int, fn func(context.Context) error) *ecs.Error {
	lim := rs.limiters[action]
	reqCtx := context.WithoutCancel(ctx)
	var throttledSince time.Time
	for errorsN := 0; ; {
		w, err := lim.Wait(ctx)
		if err != nil {
			return ecs.Classify(ctx.Err())
		}
		done := make(chan *ecs.Error, 1)
		g.Go(func() error {
			// The slot may have come free after a stop: no request starts after it.
			if ctx.Err() != nil {
				done <- ecs.Classify(ctx.Err())
				return nil
			}
			done <- asECSError(fn(reqCtx))
			return nil
		})
		e := <-done
		if e == nil || e.Class != ecs.ClassRetryable {
			lim.Succeeded(w)
			return e
		}
		var delay time.Duration
		if e.Throttled {
			lim.Throttled(w)
			if throttledSince.IsZero() {
				throttledSince = time.Now()
			}
			if time.Since(throttledSince) >= r.retry.ThrottleGiveUp {
				return e
			}
			delay = r.throttleDelay(e)
		} else {
			errorsN++
			if errorsN >= attempts {
				return e
			}
			delay = max(e.RetryAfter, r.backoff(errorsN))
		}
		r.log.Debug("retrying", zap.String("region", rs.name), zap.String("action", action), zap.String("code", e.Code), zap.String("message", e.Message), zap.Duration("delay", delay))
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return e
		}
	}
}

// resolveAttempts is the fewest error answers a confirming lookup takes before it gives up:
// it is what tells a deletion whose answer was lost from one that did not happen, so it is
// worth more tries than one image's delete.
const resolveAttempts = 16

// confirmDeleted looks up every image reported deleted, and every failed one whose real delete
// had an unknown result (a 5xx, a timeout, a dropped connection: none says the delete did not
// happen), 100 ids a call: one reported deleted that the service still lists is failed
// (DeleteNotConfirmed); one of unknown result is deleted if gone, failed under its last code
// if still listed, and failed under CodeDeleteResultUnknown if the lookup itself failed.
func (r *Runner) confirmDeleted(ctx context.Context, g *errgroup.Group) {
	its := r.itemsWhere(func(it *item) bool {
		return it.outcome == report.Deleted || (it.outcome == report.Failed && it.unknown)
	})
	r.eachRegion(its, func(rs *regionState, its []*item) {
		ids := make([]string, len(its))
		for i, it := range its {
			ids[i] = it.id
		}
		found, err := r.lookup(ctx, g, rs, ids, max(r.retry.MaxAttempts, resolveAttempts))
		if err != nil {
			// The unknown ones stay unknown: the report says so (CodeDeleteResultUnknown).
			r.warn(fmt.Sprintf("%s: could not confirm %d deletions: %s", rs.name, len(its), err.Error()))
			return
		}
		still := make(map[string]bool, len(found))
		for _, img := range found {
			still[img.ID] = true
		}
		for _, it := range its {
			r.mu.Lock()
			deleted := it.outcome == report.Deleted
			it.unknown = false // resolved, one way or the other
			r.mu.Unlock()
			switch {
			case deleted && still[it.id]:
				r.overrule(it, report.Failed, CodeDeleteNotConfirmed, "DeleteImage answered success but the image is still listed")
			case !deleted && !still[it.id]:
				r.overrule(it, report.Deleted, "", "the answers to its real deletes were lost, and the image is gone")
			}
		}
	})
}

// unknownResultMessage explains CodeDeleteResultUnknown.
const unknownResultMessage = "a real DeleteImage was sent and no answer said whether it took effect, and no lookup could tell: check whether the image still exists"
