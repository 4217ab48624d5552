package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// resolveAll lists every region of the policy and turns the listings into items, all regions at
// once under the shared concurrency limit.
func (r *Runner) resolveAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, reg := range r.cfg.Policy.Regions {
		rs := r.region(reg.ID)
		rs.read = r.readRegion(ctx, rs)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.resolve(ctx, rs, reg)
			if err == nil {
				return
			}
			rs.read.cancel() // the region sends nothing more
			// The explicit ids were asked for by name: they get an outcome even now.
			code, msg := "", "not attempted: the run was interrupted while the region was being listed"
			if ctx.Err() == nil {
				// A region that cannot be listed is the region's failure, not the run's: the
				// other regions go on, and the report and the exit code say this one did not.
				code, msg = err.Code, "not attempted: the region's images could not be listed"
				r.listingFailed(rs, err)
			}
			var its []*item
			for _, id := range reg.ImageIDs {
				its = append(its, &item{region: reg.ID, id: id, state: stateNotAttempted, code: code, message: msg})
			}
			r.addItems(its)
		}()
	}
	wg.Wait()
}

// listingFailed stops a region whose listing failed for good: the region's failure, not the
// run's, named in the report, with the exit code saying so.
func (r *Runner) listingFailed(rs *regionState, err *ecs.Error) {
	why := fmt.Sprintf("could not list images: %s", err.Error())
	r.mu.Lock()
	rs.err, rs.errCode = why, err.Code
	rs.stopped, rs.stopOutcome, rs.stopCode, rs.stopMessage = true, report.NotAttempted, err.Code, "not attempted: "+why
	r.mu.Unlock()
	r.log.Error("listing failed", zap.String("region", rs.name), zap.String("code", err.Code), zap.String("message", err.Message))
}

// resolve lists one region and evaluates the policy over what it found.
func (r *Runner) resolve(ctx context.Context, rs *regionState, reg *policy.Region) *ecs.Error {
	var images []ecs.Image
	if reg.Select != nil {
		f := reg.ListFilter(r.now())
		listed, err := r.listAll(ctx, rs, f)
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
			if listed, err = r.listAll(ctx, rs, f); err != nil {
				return err
			}
		}
		images = listed
		if rs.read != nil && rs.read.partial {
			fams := familiesOf(images)
			r.mu.Lock()
			rs.listedFamilies = fams
			r.mu.Unlock()
		}
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
	found, err := r.lookup(ctx, rs, lookup, r.retry.MaxAttempts)
	if err != nil {
		return err
	}
	images = append(images, found...)
	// DescribeImages without ImageOwnerAlias leaves marketplace images out: an id it did not
	// find is asked for again among them, so that a marketplace image named by id is reported
	// not owned (ImageNotOwned), not missing.
	if missing := notFound(lookup, found); len(missing) > 0 {
		market, err := r.lookupOwned(ctx, rs, missing, r.retry.MaxAttempts, ecs.OwnerMarketplace)
		if err != nil {
			return err
		}
		images = append(images, market...)
	}
	if r.cfg.Policy.Limits.MaxDeletionPercent > 0 {
		n, err := r.countOwn(ctx, rs)
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
		it := &item{region: reg.ID, id: img.ID, name: img.Name, force: reg.Force, size: img.SizeGiB,
			createdAt: img.CreationTime, family: img.Family}
		if reg.DeleteSnapshots {
			it.snapshots = img.Snapshots // kept only where they are deleted: a large account holds less
		}
		switch {
		case v.Kind == policy.Selected:
			it.selectedBy = "select"
			if v.Explicit {
				it.selectedBy = "image_ids"
			}
			r.stage(reg, it, img)
		case v.Kind == policy.Protected:
			it.state, it.message, it.protectedBy = stateSkipped, "protected by "+v.Rule, v.Rule
		case v.Kind == policy.Retained:
			it.state, it.message = stateSkipped, "kept by "+v.Rule+": "+v.Reason
			it.protectedBy = v.Rule + ": " + v.Reason
		case v.Kind == policy.NotOwned && v.Explicit:
			it.state, it.code = stateSkipped, CodeNotOwned
			it.message = "explicit id is not one of the account's own custom images: " + v.Reason
		case v.Explicit:
			it.state, it.code, it.message = stateSkipped, CodeNotSelectable, "explicit id cannot be selected: "+v.Reason
		case r.cfg.Only[reg.ID+"/"+img.ID]:
			it.state, it.code, it.message = stateSkipped, CodeNoLongerSelected, "the policy no longer selects it: "+v.Reason
		default:
			continue
		}
		seen[img.ID] = true
		its = append(its, it)
	}
	for _, id := range reg.ImageIDs {
		if !seen[id] {
			seen[id] = true
			its = append(its, &item{region: reg.ID, id: id, state: stateSkipped, code: "InvalidImageId.NotFound",
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
			case (it.state == stateSelected || it.state == stateDeprecating) && !r.cfg.OnlyKnown[it.region+"/"+it.id]:
				outside++ // selected now, and new to the source of Only: never touched
			}
		}
		its = kept
		for _, id := range only {
			if !seen[id] {
				its = append(its, &item{region: reg.ID, id: id, state: stateSkipped, code: CodeImageGone,
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

// listAll reads a whole DescribeImages listing: the first page gives TotalCount, then the other
// pages come at once. Each page is copied into its place in one slice as it comes, so that the
// account's images are held once, not once in pages and again merged.
func (r *Runner) listAll(ctx context.Context, rs *regionState, f ecs.ListFilter) ([]ecs.Image, *ecs.Error) {
	var all []ecs.Image
	var counts []int // images on each page, by page number
	_, err := r.calls.pages(ctx, rs, "DescribeImages", ecs.PageSize, 0, r.retry.MaxAttempts, func(ctx context.Context, p int) (int, int, error) {
		page, err := r.cfg.API.DescribeImagesPage(ctx, rs.name, f, p, ecs.PageSize)
		switch {
		case p == 1:
			n := max(1, (page.TotalCount+ecs.PageSize-1)/ecs.PageSize)
			all, counts = make([]ecs.Image, n*ecs.PageSize), make([]int, n+1)
		case p >= len(counts):
			// No TotalCount: the pages come one after the other, and the slice grows.
			all, counts = append(all, make([]ecs.Image, ecs.PageSize)...), append(counts, 0)
		}
		counts[p] = copy(all[(p-1)*ecs.PageSize:p*ecs.PageSize], page.Images)
		return len(page.Images), page.TotalCount, err
	})
	if err != nil {
		return nil, err
	}
	// Images created or deleted while paging shift the pages: never count one twice. The
	// pages are compacted in place, in order.
	ids := make(map[string]bool, len(all))
	n := 0
	for p := 1; p < len(counts); p++ {
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
func (r *Runner) lookup(ctx context.Context, rs *regionState, ids []string, attempts int) ([]ecs.Image, *ecs.Error) {
	return r.lookupOwned(ctx, rs, ids, attempts, "")
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
func (r *Runner) lookupOwned(ctx context.Context, rs *regionState, ids []string, attempts int, owner string) ([]ecs.Image, *ecs.Error) {
	n := (len(ids) + ecs.PageSize - 1) / ecs.PageSize
	pages := make([][]ecs.Image, n)
	if err := r.calls.each(ctx, rs, "DescribeImages", n, attempts, func(ctx context.Context, i int) error {
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

// countOwn counts the region's own custom images in every status, for max_deletion_percent.
func (r *Runner) countOwn(ctx context.Context, rs *regionState) (int, *ecs.Error) {
	var page ecs.ImagePage
	err := r.calls.do(ctx, rs, "DescribeImages", r.retry.MaxAttempts, func(ctx context.Context) error {
		var err error
		page, err = r.cfg.API.DescribeImagesPage(ctx, rs.name, ecs.ListFilter{OwnerAlias: ecs.OwnerSelf, Statuses: ecs.AllStatuses}, 1, 1)
		return err
	})
	return page.TotalCount, err
}

// resolveAttempts is the fewest error answers a confirming lookup takes before it gives up:
// it is what tells a deletion whose answer was lost from one that did not happen, so it is
// worth more tries than one image's delete.
const resolveAttempts = 16

// confirmingLookup is lookup with the tries of a confirming lookup (resolveAttempts at least):
// one that settles what requests already sent did.
func (r *Runner) confirmingLookup(ctx context.Context, rs *regionState, ids []string) ([]ecs.Image, *ecs.Error) {
	return r.lookup(ctx, rs, ids, max(r.retry.MaxAttempts, resolveAttempts))
}

// confirmDeleted looks up the given images, deleted ones and ones whose real delete had an
// unknown result (a 5xx, a timeout, a dropped connection: none says the delete did not happen),
// 100 ids a call: one reported deleted that the service still lists is failed
// (DeleteNotConfirmed); one of unknown result is deleted if gone and failed under its last code
// if still listed; if the lookup itself fails, it stays unknown, and the report says
// CodeDeleteResultUnknown.
func (r *Runner) confirmDeleted(ctx context.Context, its []*item) {
	// If the lookup fails, the unknown ones stay unknown: the report says so.
	r.settleByLookup(ctx, its, "confirm the deletion of", r.settleDeleted)
}

// confirmBatch is confirmDeleted of one region's batch of 100 while the real deletes go on
// (dispatch), so that no lookup is left for the end of the run but the last, short batch of each
// region. A lookup that fails or is stopped leaves its images to the confirm step.
func (r *Runner) confirmBatch(ctx context.Context, rs *regionState, its []*item) {
	_ = r.settleRegion(ctx, rs, its, r.settleDeleted)
}

// settleDeleted settles a deleted image, or one of unknown result, by whether the service still
// lists it, and marks it confirmed.
func (r *Runner) settleDeleted(it *item, listed bool) {
	r.mu.Lock()
	s, code, msg := it.state, it.code, it.message
	it.confirmed = true
	r.mu.Unlock()
	switch {
	case s == stateDeleted && listed:
		r.move(it, stateFailed, CodeDeleteNotConfirmed, "DeleteImage answered success but the image is still listed")
	case s == stateUnknown && listed:
		r.move(it, stateFailed, code, msg+"; the image is still there")
	case s == stateUnknown:
		r.move(it, stateDeleted, "", "the answers to its real deletes were lost, and the image is gone")
	}
}

// settleByLookup looks the items up by id, region by region, 100 a call and with more tries
// than a delete (resolveAttempts), and tells settle whether the service still lists each. Where
// the lookup fails, the items stay as they are and a warning says the run could not do what.
func (r *Runner) settleByLookup(ctx context.Context, its []*item, what string, settle func(it *item, listed bool)) {
	r.eachRegion(its, func(rs *regionState, its []*item) {
		if err := r.settleRegion(ctx, rs, its, settle); err != nil {
			r.warn(fmt.Sprintf("%s: could not %s %d images: %s", rs.name, what, len(its), err.Error()))
		}
	})
}

// settleRegion is settleByLookup of one region's items, without the warning: where the lookup
// fails, it returns the error and settles none.
func (r *Runner) settleRegion(ctx context.Context, rs *regionState, its []*item, settle func(it *item, listed bool)) *ecs.Error {
	ids := make([]string, len(its))
	for i, it := range its {
		ids[i] = it.id
	}
	found, err := r.confirmingLookup(ctx, rs, ids)
	if err != nil {
		return err
	}
	listed := make(map[string]bool, len(found))
	for _, img := range found {
		listed[img.ID] = true
	}
	for _, it := range its {
		settle(it, listed[it.id])
	}
	return nil
}

// unknownResultMessage explains CodeDeleteResultUnknown.
const unknownResultMessage = "a real DeleteImage was sent and no answer said whether it took effect, and no lookup could tell: check whether the image still exists"
