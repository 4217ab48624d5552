package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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
// keeps the images that a launch template version or scaling configuration names; a region whose
// references could not be read sends nothing at all, since failing open here is what breaks
// launches. The reads themselves started with the region's listing (readRegion); a region with
// nothing selected has its reads stopped.
func (r *Runner) checkReferences(ctx context.Context) {
	its := r.itemsWhere(func(it *item) bool { return it.state == stateSelected || it.state == stateDeprecating })
	used := map[string]bool{}
	for _, it := range its {
		used[it.region] = true
	}
	r.mu.Lock()
	for name, rs := range r.regions {
		if !used[name] && rs.read != nil {
			rs.read.cancel()
		}
	}
	r.mu.Unlock()
	r.eachRegion(its, func(rs *regionState, its []*item) { r.checkRegion(ctx, rs, its) })
	r.reading.Wait()
}

// regionRead is what the references step needs of one region, read in the background.
type regionRead struct {
	done    chan struct{} // closed when the reads below have ended
	cancel  context.CancelFunc
	protect bool // the policy protects the region's referenced images: refs were read
	refs    *references
	refsErr *ecs.Error
	famErr  *ecs.Error // the image families could not be read
	// families: image id -> family of the own Available images the read listed; partial: only
	// those younger than the selection's cut-off, whose listing has the rest.
	families map[string]string
	partial  bool
}

// coversFamilies reports whether a selection listed with f has every own Available image
// created before f's cut-off (all of them if it has none).
func coversFamilies(f ecs.ListFilter) bool {
	return f.OwnerAlias == ecs.OwnerSelf && slices.Contains(f.Statuses, ecs.StatusAvailable) && len(f.Tags) == 0 &&
		f.Name == "" && f.ImageID == "" && f.CreatedAfter.IsZero()
}

// readRegion starts reading, in the background, what the references step needs of a region:
// its image families and, where the policy protects referenced images, its launch templates and
// scaling configurations. It starts as the region's listing starts, so that neither waits for
// the other; every call goes through r.calls, under the run's limits.
func (r *Runner) readRegion(ctx context.Context, rs *regionState) *regionRead {
	ctx, cancel := context.WithCancel(ctx)
	reg := r.cfg.Policy.Region(rs.name)
	// A region the policy does not name cannot have items; were it to, it is protected.
	rd := &regionRead{done: make(chan struct{}), cancel: cancel, protect: reg == nil || reg.ProtectReferenced()}
	fam := ecs.ListFilter{OwnerAlias: ecs.OwnerSelf, Statuses: []string{ecs.StatusAvailable}}
	if reg != nil && reg.Select != nil {
		if f := reg.ListFilter(r.now()); coversFamilies(f) {
			// The selection's listing has every own Available image older than its cut-off
			// (every one, without a cut-off): only the younger ones are listed here (a minute's
			// overlap), and resolve notes the families of the rest (rs.listedFamilies).
			rd.partial = true
			if !f.CreatedBefore.IsZero() {
				fam.CreatedAfter = f.CreatedBefore.Add(-2 * time.Minute)
			}
		}
	}
	r.reading.Go(func() {
		defer close(rd.done)
		var wg sync.WaitGroup
		if !rd.partial || !fam.CreatedAfter.IsZero() { // partial and no cut-off: nothing left to list
			wg.Go(func() { rd.families, rd.famErr = r.readFamilies(ctx, rs, fam) })
		}
		if rd.protect {
			rd.refs, rd.refsErr = r.readReferences(ctx, rs)
		}
		wg.Wait()
	})
	return rd
}

func (r *Runner) checkRegion(ctx context.Context, rs *regionState, its []*item) {
	rd := rs.read
	if rd == nil {
		rd = r.readRegion(ctx, rs)
	}
	<-rd.done
	switch {
	case rd.famErr != nil && ctx.Err() == nil:
		r.warn(fmt.Sprintf("%s: image families unknown (%s): last_in_family is not reported for the region", rs.name, rd.famErr.Code))
	case rd.famErr == nil:
		r.mu.Lock()
		if rd.partial {
			// The selection's listing's families, with the younger images' added: moved, not copied.
			families := rs.listedFamilies
			if families == nil {
				families = map[string]string{}
			}
			maps.Copy(families, rd.families)
			rs.families, rs.listedFamilies = families, nil
		} else {
			rs.families = rd.families
		}
		r.mu.Unlock()
	}
	if !rd.protect {
		return
	}
	refs, err := rd.refs, rd.refsErr
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

// readFamilies lists the own Available images that f finds and returns the image family of
// each that has one: launching by family takes the newest Available image of it.
func (r *Runner) readFamilies(ctx context.Context, rs *regionState, f ecs.ListFilter) (map[string]string, *ecs.Error) {
	images, err := r.listAll(ctx, rs, f)
	if err != nil {
		return nil, err
	}
	return familiesOf(images), nil
}

// familiesOf maps each Available image of images that has a family to it.
func familiesOf(images []ecs.Image) map[string]string {
	families := map[string]string{}
	for _, img := range images {
		if img.Family != "" && img.Status == ecs.StatusAvailable {
			families[img.ID] = img.Family
		}
	}
	return families
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
