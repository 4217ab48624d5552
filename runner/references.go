package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
)

// ECS deletes an image that a launch template version or an Auto Scaling scaling configuration
// still names, and the next launch from them fails. Before the DryRun phase the runner reads
// what names the selected images and keeps those images; and it notes the image families, to
// warn when a run leaves one without an image to launch.

// Codes of images kept because something still launches from them.
const (
	CodeReferencedByLaunchTemplate       = "ReferencedByLaunchTemplate"
	CodeReferencedByScalingConfiguration = "ReferencedByScalingConfiguration"
)

// referenceActions are the calls that read what names an image; each region paces each of them
// on its own limiter.
var referenceActions = []string{"DescribeLaunchTemplates", "DescribeLaunchTemplateVersions", "DescribeScalingConfigurations"}

const (
	// maxReferencePages bounds a listing that never ends.
	maxReferencePages = 10000
	// listingReads is how often a listing that changed while it was read is read again before
	// the region gives up.
	listingReads = 3
)

// references is what names an image in one region, by image id: launch template versions
// ("TEMPLATE_ID:VERSION") and scaling configurations, each list sorted.
type references struct {
	templates map[string][]string
	scaling   map[string][]string
}

// checkReferences runs between selection and the DryRun phase, for every region with selected
// images, all regions at once. Where the policy protects referenced images (the default), it
// reads every launch template version and scaling configuration of the region and keeps the
// images they name; a region whose references cannot be read sends nothing at all, since
// failing open here is what breaks launches. It also notes the region's image families.
func (r *Runner) checkReferences(ctx context.Context) {
	r.eachRegion(r.itemsWhere(func(it *item) bool { return it.state == stateSelected || it.state == stateDeprecating }), func(rs *regionState, its []*item) { r.checkRegion(ctx, rs, its) })
}

func (r *Runner) checkRegion(ctx context.Context, rs *regionState, its []*item) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.readFamilies(ctx, rs)
	}()
	defer wg.Wait()
	// A region the policy does not name cannot have items; were it to, it is protected.
	if reg := r.cfg.Policy.Region(rs.name); reg != nil && !reg.ProtectReferenced() {
		return
	}
	refs, err := r.readReferences(ctx, rs)
	if err != nil {
		if ctx.Err() != nil {
			return // interrupted: the phase reports the items as such
		}
		r.log.Error("references unreadable", zap.String("region", rs.name), zap.String("code", err.Code), zap.String("message", err.Message))
		msg := fmt.Sprintf("not attempted: the launch templates and scaling configurations of %s could not be read, so none of its images is deleted: %s", rs.name, err.Error())
		for _, it := range its {
			r.move(it, stateNotAttempted, err.Code, msg)
		}
		r.warn(fmt.Sprintf("%s: could not read what still names its images (%s): its %d selected images were not attempted", rs.name, err.Code, len(its)))
		return
	}
	for _, it := range its {
		lts, scs := refs.templates[it.id], refs.scaling[it.id]
		if len(lts) == 0 && len(scs) == 0 {
			continue
		}
		code := CodeReferencedByLaunchTemplate
		if len(lts) == 0 {
			code = CodeReferencedByScalingConfiguration
		}
		r.mu.Lock()
		it.referencedBy = slices.Concat(lts, scs)
		it.protectedBy = "protect.referenced"
		r.mu.Unlock()
		r.move(it, stateSkipped, code, referencedMessage(lts, scs))
	}
}

func referencedMessage(lts, scs []string) string {
	var named []string
	if len(lts) > 0 {
		named = append(named, "launch template versions "+strings.Join(lts, ", "))
	}
	if len(scs) > 0 {
		named = append(named, "scaling configurations "+strings.Join(scs, ", "))
	}
	return "kept: still named by " + strings.Join(named, " and ") + "; launches from them would fail without it"
}

// readReferences reads every launch template with every version, and every scaling
// configuration, of a region. The first error stops the rest and is returned.
func (r *Runner) readReferences(ctx context.Context, rs *regionState) (*references, *ecs.Error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	refs := &references{templates: map[string][]string{}, scaling: map[string][]string{}}
	var (
		mu    sync.Mutex
		first *ecs.Error
	)
	fail := func(e *ecs.Error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = e
			cancel()
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		templates, err := pageAll(r, ctx, rs, "DescribeLaunchTemplates",
			func(ctx context.Context, page int) ([]ecs.LaunchTemplate, int, error) {
				p, err := r.cfg.API.DescribeLaunchTemplatesPage(ctx, rs.name, page, ecs.ReferencePageSize)
				return p.Templates, p.TotalCount, err
			}, func(lt ecs.LaunchTemplate) string { return lt.ID })
		if err != nil {
			fail(err)
			return
		}
		var tw sync.WaitGroup
		for _, lt := range templates {
			tw.Add(1)
			go func() {
				defer tw.Done()
				versions, err := pageAll(r, ctx, rs, "DescribeLaunchTemplateVersions",
					func(ctx context.Context, page int) ([]ecs.LaunchTemplateVersion, int, error) {
						p, err := r.cfg.API.DescribeLaunchTemplateVersionsPage(ctx, rs.name, lt.ID, page, ecs.ReferencePageSize)
						return p.Versions, p.TotalCount, err
					}, func(v ecs.LaunchTemplateVersion) string { return strconv.FormatInt(v.Version, 10) })
				switch {
				case err != nil && err.Class == ecs.ClassNotFound:
					return // deleted since the listing: it names nothing any more
				case err != nil:
					fail(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, v := range versions {
					if v.ImageID != "" {
						refs.templates[v.ImageID] = append(refs.templates[v.ImageID], fmt.Sprintf("%s:%d", lt.ID, v.Version))
					}
				}
			}()
		}
		tw.Wait()
	}()
	go func() {
		defer wg.Done()
		configs, err := pageAll(r, ctx, rs, "DescribeScalingConfigurations",
			func(ctx context.Context, page int) ([]ecs.ScalingConfiguration, int, error) {
				p, err := r.cfg.API.DescribeScalingConfigurationsPage(ctx, rs.name, page, ecs.ReferencePageSize)
				return p.Configurations, p.TotalCount, err
			}, func(sc ecs.ScalingConfiguration) string { return sc.ID })
		if err != nil {
			fail(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, sc := range configs {
			if sc.ImageID != "" {
				refs.scaling[sc.ImageID] = append(refs.scaling[sc.ImageID], sc.ID)
			}
		}
	}()
	wg.Wait()
	if first != nil {
		return nil, first
	}
	for _, m := range []map[string][]string{refs.templates, refs.scaling} {
		for id, list := range m {
			slices.Sort(list)
			m[id] = slices.Compact(list)
		}
	}
	return refs, nil
}

// pageAll reads a whole listing of ecs.ReferencePageSize entries a page, each page one call
// under the runner's limits and retries. The first page's TotalCount says how many pages follow,
// and those are read at once; a listing that leaves TotalCount out is paged on until a short
// page. Entries come back once each, by id. A listing that changed while it was read (fewer
// entries than its TotalCount: entries shifted between pages) is read again, and after
// listingReads tries it is an error: a missed entry could be the one that names an image.
func pageAll[T any](r *Runner, ctx context.Context, rs *regionState, action string,
	fetch func(ctx context.Context, page int) ([]T, int, error), id func(T) string) ([]T, *ecs.Error) {
	for try := 1; ; try++ {
		out, total, err := readPages(r, ctx, rs, action, fetch, id)
		switch {
		case err != nil:
			return nil, err
		case total == 0 || len(out) >= total:
			return out, nil
		case try == listingReads:
			return nil, &ecs.Error{Class: ecs.ClassFailed, Code: ecs.CodeInvalidResponse,
				Message: fmt.Sprintf("%s listed %d entries of the %d it counted, %d times: the listing keeps changing", action, len(out), total, try)}
		}
	}
}

// readPages reads a listing once and returns its entries, once each in page order, and the
// first page's TotalCount.
func readPages[T any](r *Runner, ctx context.Context, rs *regionState, action string,
	fetch func(ctx context.Context, page int) ([]T, int, error), id func(T) string) ([]T, int, *ecs.Error) {
	var mu sync.Mutex
	pages := map[int][]T{}
	total, err := r.calls.pages(ctx, rs, action, ecs.ReferencePageSize, maxReferencePages, r.retry.MaxAttempts,
		func(ctx context.Context, page int) (int, int, error) {
			entries, total, err := fetch(ctx, page)
			mu.Lock()
			pages[page] = entries
			mu.Unlock()
			return len(entries), total, err
		})
	if err != nil {
		return nil, 0, err
	}
	var out []T
	seen := map[string]bool{}
	for page := 1; page <= len(pages); page++ {
		for _, e := range pages[page] {
			if k := id(e); !seen[k] {
				seen[k] = true
				out = append(out, e)
			}
		}
	}
	return out, total, nil
}

// readFamilies notes the image family of each of the region's own Available images: launching
// by family takes the newest Available image of it. A region whose images cannot be listed gets
// a warning instead of last_in_family marks.
func (r *Runner) readFamilies(ctx context.Context, rs *regionState) {
	images, err := r.listAll(ctx, rs, ecs.ListFilter{OwnerAlias: ecs.OwnerSelf, Statuses: []string{ecs.StatusAvailable}})
	if err != nil {
		if ctx.Err() == nil {
			r.warn(fmt.Sprintf("%s: image families unknown (%s): last_in_family is not reported for the region", rs.name, err.Code))
		}
		return
	}
	families := map[string]string{}
	for _, img := range images {
		if img.Family != "" {
			families[img.ID] = img.Family
		}
	}
	r.mu.Lock()
	rs.families = families
	r.mu.Unlock()
}

// lastInFamily finds the deletions (in plan, those to come) that leave an image family of their
// region without an Available image, and words one warning per such family. The caller holds
// r.mu.
func (r *Runner) lastInFamily() (map[*item]bool, []string) {
	removed := map[string]map[string][]*item{} // region -> family -> its images removed
	for _, it := range r.items {
		if it.state != stateDeleted && it.state != stateWouldDelete {
			continue
		}
		rs := r.regions[it.region]
		if rs == nil || rs.families[it.id] == "" {
			continue
		}
		fam := rs.families[it.id]
		if removed[it.region] == nil {
			removed[it.region] = map[string][]*item{}
		}
		removed[it.region][fam] = append(removed[it.region][fam], it)
	}
	last := map[*item]bool{}
	var warns []string
	for _, region := range r.order {
		if removed[region] == nil {
			continue
		}
		available := map[string]int{}
		for _, fam := range r.regions[region].families {
			available[fam]++
		}
		for _, fam := range slices.Sorted(maps.Keys(removed[region])) {
			its := removed[region][fam]
			if len(its) < available[fam] {
				continue
			}
			ids := make([]string, len(its))
			for i, it := range its {
				last[it] = true
				ids[i] = it.id
			}
			slices.Sort(ids)
			verb, then := "left", "will fail"
			if r.cfg.Command == Plan {
				verb, then = "would leave", "would fail"
			}
			warns = append(warns, fmt.Sprintf("%s: deleting %s %s image family %s without an Available image: instances launched by family %s %s",
				region, strings.Join(ids, ", "), verb, fam, fam, then))
		}
	}
	return last, warns
}
