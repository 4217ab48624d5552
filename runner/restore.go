package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// Restore undoes staged retention's first step: every image the job deprecated (the account's
// own, Deprecated, tagged policy.DeprecatedAtTag) in the policy's regions is set back to
// Available, DryRun first, and loses the tag. Protection rules do not apply: restoring is the
// safe direction. An image deprecated by hand (no tag) is never touched.

// CodeNotRestorable: an id Config.RestoreIDs names is not one the job deprecated in the region
// (missing, not Deprecated, not the account's own, or without our tag).
const CodeNotRestorable = "NotRestorable"

// restoreSteps are the phases of a restore.
func (r *Runner) restoreSteps() []step {
	cleared := false
	return []step{
		{"list and select", r.resolveRestoreAll},
		{"dry run", func(ctx context.Context) { r.restoreEach(ctx, r.itemsIn(stateSelected), true) }},
		{"confirm", func(ctx context.Context) {
			if ctx.Err() == nil {
				cleared = r.confirm(ctx, "restore was not confirmed: nothing restored", r.itemsIn(stateRestoring),
					func(*item) (report.Outcome, string, string) { return report.Restored, "", "" })
			}
		}},
		{"restore", func(ctx context.Context) {
			if cleared { // else: not confirmed, or stopped; the report says not_attempted
				r.restoreEach(ctx, r.itemsIn(stateRestoring), false)
			}
		}},
		{"requests in flight", func(context.Context) { r.calls.wait() }},
	}
}

// resolveRestoreAll lists each region's own Deprecated images and keeps those that carry our tag.
func (r *Runner) resolveRestoreAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, reg := range r.cfg.Policy.Regions {
		rs := r.region(reg.ID)
		wg.Go(func() {
			f := ecs.ListFilter{OwnerAlias: ecs.OwnerSelf, Statuses: []string{ecs.StatusDeprecated}}
			images, err := r.listAll(ctx, rs, f)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				r.listingFailed(rs, err)
				return
			}
			r.addItems(r.restoreSelect(reg.ID, images))
		})
	}
	wg.Wait()
	// An id asked for that no region holds as one the job deprecated is reported, not dropped.
	found := map[string]bool{}
	for _, it := range r.itemsWhere(func(*item) bool { return true }) {
		found[it.id] = true
	}
	var missing []*item
	for _, id := range r.cfg.RestoreIDs {
		if !found[id] && r.regionListed(r.cfg.Policy.Regions[0].ID) {
			found[id] = true
			missing = append(missing, &item{region: r.cfg.Policy.Regions[0].ID, id: id, state: stateSkipped, code: CodeNotRestorable, selectedBy: "image_ids",
				message: "not an image the job deprecated in any of the policy's regions (missing, not Deprecated, not the account's own, or without the " +
					policy.DeprecatedAtTag + " tag)"})
		}
	}
	r.addItems(missing)
}

// regionListed reports whether a region's listing succeeded.
func (r *Runner) regionListed(name string) bool {
	rs := r.region(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	return rs.err == ""
}

// restoreSelect turns one region's listing into the items of a restore.
func (r *Runner) restoreSelect(region string, images []ecs.Image) []*item {
	now := r.now()
	named := map[string]bool{}
	for _, id := range r.cfg.RestoreIDs {
		named[id] = true
	}
	var its []*item
	seen := map[string]bool{}
	for _, img := range images {
		if seen[img.ID] || img.Status != ecs.StatusDeprecated || (img.OwnerAlias != "" && img.OwnerAlias != ecs.OwnerSelf) {
			continue
		}
		tag, tagged := img.Tags[policy.DeprecatedAtTag]
		if !tagged {
			continue // deprecated by hand: never touched
		}
		if r.cfg.RestoreIDs != nil && !named[img.ID] {
			continue
		}
		seen[img.ID] = true
		it := &item{region: region, id: img.ID, name: img.Name, size: img.SizeGiB, createdAt: img.CreationTime, family: img.Family,
			selectedBy: "select"}
		if r.cfg.RestoreIDs != nil {
			it.selectedBy = "image_ids"
		}
		if r.cfg.RestoreSince > 0 {
			at, err := time.Parse(time.RFC3339, tag)
			if err != nil || now.Sub(at) > r.cfg.RestoreSince {
				if it.selectedBy != "image_ids" {
					continue
				}
				it.state, it.code = stateSkipped, CodeNotRestorable
				it.message = fmt.Sprintf("deprecated at %q, not within --since %s of now", tag, policy.FormatDuration(r.cfg.RestoreSince))
			}
		}
		its = append(its, it)
	}
	return its
}

// restoreEach sends, for each image, ModifyImageAttribute Status=Available: with DryRun (the
// image passes to stateRestoring) or for real, followed by UntagResources of our tag.
func (r *Runner) restoreEach(ctx context.Context, its []*item, dry bool) {
	if len(its) == 0 {
		return
	}
	if dry {
		r.eachItemProbed(its, func(rs *regionState, it *item) bool { return r.restoreOne(ctx, rs, it, dry) })
		return
	}
	r.eachItem(its, func(rs *regionState, it *item) { r.restoreOne(ctx, rs, it, dry) })
}

// restoreOne restores one image (with DryRun: checks that it may be), and reports whether its
// DryRun passed.
func (r *Runner) restoreOne(ctx context.Context, rs *regionState, it *item, dry bool) bool {
	if r.endIfHalted(ctx, rs, it) {
		return false
	}
	if !r.setStatus(ctx, rs, it, ecs.StatusAvailable, dry) {
		return false
	}
	if dry {
		r.move(it, stateRestoring, "", "")
		return true
	}
	// A stop sends no untag: the image is restored all the same.
	e, sent := r.sendTagChange(ctx, rs, it, report.ActionUntagResources, func(ctx context.Context) (ecs.Result, error) {
		return r.cfg.API.UntagImage(ctx, ecs.UntagImageInput{Region: it.region, ImageID: it.id, Keys: []string{policy.DeprecatedAtTag}})
	}, func(img ecs.Image) bool { _, tagged := img.Tags[policy.DeprecatedAtTag]; return !tagged })
	switch {
	case ctx.Err() != nil && !sent:
		r.move(it, stateRestored, "", "set back to Available; the run stopped before it removed the "+policy.DeprecatedAtTag+" tag "+report.TagLeftHarmless)
	case ctx.Err() != nil && e != nil:
		r.move(it, stateRestored, "", "set back to Available; the run stopped before an answer said its "+policy.DeprecatedAtTag+
			" tag was removed "+report.TagLeftHarmless)
	case e != nil:
		r.move(it, stateFailed, e.Code, "set back to Available, but could not remove the "+policy.DeprecatedAtTag+
			" tag "+report.TagLeftHarmless+": "+e.Message)
	default:
		r.move(it, stateRestored, "", "set back to Available; the "+policy.DeprecatedAtTag+" tag removed")
	}
	return false
}
