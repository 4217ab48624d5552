package policy

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
)

// Kind is what the policy decides about one listed image.
type Kind int

// The verdict kinds. The zero value is NotSelected, so that a Verdict nobody filled in never
// deletes anything.
const (
	// NotSelected: the policy does not ask for the image to be deleted; Reason says why.
	NotSelected Kind = iota
	// Selected: delete the image; Rule names the explicit id or selector that selected it.
	Selected
	// Protected: the image was selected but a protect rule keeps it; Rule names the rule.
	Protected
	// NotOwned: the image is not the account's own custom image (system, shared by others,
	// marketplace), so it is never deleted. The runner reports explicit ids with this verdict
	// as skipped.
	NotOwned
	// Retained: the image was selected but select.keep_latest keeps it as one of the newest of
	// its group; Rule names the setting and Reason the group and the image's rank in it.
	Retained
)

// String names the kind as reports write it.
func (k Kind) String() string {
	switch k {
	case NotSelected:
		return "not_selected"
	case Selected:
		return "selected"
	case Protected:
		return "protected"
	case NotOwned:
		return "not_owned"
	case Retained:
		return "retained"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Verdict is the policy's decision about one listed image.
type Verdict struct {
	ImageID string
	Kind    Kind
	// Explicit reports that the region's image_ids name the image, so that the runner accounts
	// for every id the user asked for, whatever its verdict.
	Explicit bool
	// Rule names the rule behind Selected and Protected, e.g. regions[0].image_ids[3],
	// regions[0].select, protect.names[0] "golden-*" or regions[0].protect.tags.keep.
	Rule string
	// Reason says why an image is NotSelected or NotOwned, e.g. "younger than 30d", and for
	// Retained which group kept it, e.g. `#1 newest of 3 in family "ci-build"`.
	Reason string
}

// Evaluate decides about every image listed in a region; see Region.Evaluate. A region the
// policy does not name selects nothing.
func (p *Policy) Evaluate(region string, images []ecs.Image, now time.Time) []Verdict {
	if r := p.Region(region); r != nil {
		return r.Evaluate(images, now)
	}
	out := make([]Verdict, len(images))
	for i, img := range images {
		out[i] = Verdict{ImageID: img.ID, Kind: NotSelected, Reason: "region " + region + " is not in the policy"}
	}
	return out
}

// Evaluate returns exactly one verdict per listed image, in the order listed. now is the time
// ages are measured from; it is a parameter so that one run uses one clock and tests a fixed one.
//
// The checks run from the most to the least fundamental: an image listed twice counts once; an
// image the account does not own is NotOwned even when named by id; Creating and Waiting images,
// and any status the service may add later, are never selected; then an explicit id or the
// selector selects; then any protect rule, the region's first, wins over the selection; and
// last select.keep_latest keeps the newest images of each group (see retain.go). Protection wins
// over retention: a protected image is reported Protected even when it is also among the newest.
//
// A Region built by hand rather than by Load or Parse selects nothing: it lacks the policy-wide
// protect rules, and evaluating it without them could delete what they protect.
func (r *Region) Evaluate(images []ecs.Image, now time.Time) []Verdict {
	out := make([]Verdict, len(images))
	if r.global == nil {
		for i, img := range images {
			out[i] = Verdict{ImageID: img.ID, Kind: NotSelected, Reason: "region is not part of a loaded policy"}
		}
		return out
	}
	seen := make(map[string]bool, len(images))
	for i, img := range images {
		v := Verdict{ImageID: img.ID, Kind: NotSelected}
		idx := slices.Index(r.ImageIDs, img.ID)
		v.Explicit = idx >= 0
		switch {
		case seen[img.ID]:
			// The same id twice must not become two deletes.
			v.Reason = "listed twice; decided at its first listing"
		case img.OwnerAlias != ecs.OwnerSelf:
			v.Kind = NotOwned
			v.Reason = fmt.Sprintf("owner is %q, not %q", img.OwnerAlias, ecs.OwnerSelf)
		case !slices.Contains(SelectableStatuses, img.Status):
			v.Reason = fmt.Sprintf("status %q is never selected", img.Status)
		case v.Explicit:
			v.Kind = Selected
			v.Rule = fmt.Sprintf("regions[%d].image_ids[%d]", r.Index, idx)
		case r.Select == nil:
			v.Reason = "not in image_ids"
		default:
			if why := r.Select.mismatch(img, now); why != "" {
				v.Reason = why
			} else {
				v.Kind = Selected
				v.Rule = fmt.Sprintf("regions[%d].select", r.Index)
			}
		}
		seen[img.ID] = true
		if v.Kind == Selected {
			if rule := r.Protect.match(img); rule != "" {
				v.Kind, v.Rule = Protected, rule
			} else if r.global != nil {
				if rule := r.global.match(img); rule != "" {
					v.Kind, v.Rule = Protected, rule
				}
			}
		}
		out[i] = v
	}
	r.retain(images, out)
	return out
}

// mismatch returns the first condition an image fails, or "" when it matches them all.
func (s *Selector) mismatch(img ecs.Image, now time.Time) string {
	if why := s.mismatchExceptAge(img); why != "" {
		return why
	}
	if s.OlderThan > 0 {
		// An unknown creation time is not old: the zero time would otherwise be the oldest
		// image of all.
		if img.CreationTime.IsZero() {
			return "creation time unknown"
		}
		if !img.CreationTime.Before(now.Add(-s.OlderThan)) {
			return fmt.Sprintf("younger than %s", formatAge(s.OlderThan))
		}
	}
	return ""
}

// mismatchExceptAge is mismatch without older_than: the conditions that make an image a member
// of a keep_latest group, whatever its age.
func (s *Selector) mismatchExceptAge(img ecs.Image) string {
	if !slices.Contains(s.Statuses, img.Status) {
		return fmt.Sprintf("status %s is not in select.status", img.Status)
	}
	if s.Name != "" {
		if ok, err := path.Match(s.Name, img.Name); err != nil || !ok {
			return fmt.Sprintf("name %q does not match %q", img.Name, s.Name)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Tags)) {
		if v, ok := img.Tags[k]; !ok || v != s.Tags[k] {
			return fmt.Sprintf("tag %s is not %q", k, s.Tags[k])
		}
	}
	return ""
}

// formatAge writes a duration in the policy's own units where it can.
func formatAge(d time.Duration) string {
	switch {
	case d%Week == 0:
		return fmt.Sprintf("%dw", d/Week)
	case d%Day == 0:
		return fmt.Sprintf("%dd", d/Day)
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dmin", d/time.Minute)
	}
	return d.String()
}

// match returns the first rule that protects an image, or "".
func (p *Protect) match(img ecs.Image) string {
	for i, id := range p.ImageIDs {
		if id == img.ID {
			return fmt.Sprintf("%s.image_ids[%d]", p.field, i)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.Tags)) {
		if v, ok := img.Tags[k]; ok && v == p.Tags[k] {
			return fmt.Sprintf("%s.tags.%s", p.field, k)
		}
	}
	for i, g := range p.Names {
		// A pattern that fails to match (or, impossibly after validation, is bad) protects
		// nothing; matching errs towards the check above, never towards deleting.
		if ok, _ := path.Match(g, img.Name); ok {
			return fmt.Sprintf("%s.names[%d] %q", p.field, i, g)
		}
	}
	return ""
}

// ListFilter is the server-side filter for listing the region's candidates: the account's own
// images in the selector's statuses with the selector's tags, created before the age bound. It
// is a hint that only narrows the listing; Evaluate checks every condition again. With
// select.keep_latest the age bound is not sent: the ranking needs every member of a group. The
// name glob is not sent: the service's name filter is a fuzzy match, not a glob. A region without a
// selector lists its own images in every selectable status; the runner may instead only look up
// MissingExplicit ids.
//
// Explicit ids of images the account does not own never appear in this listing: look them up
// with LookupFilter so that they get a NotOwned verdict rather than none.
func (r *Region) ListFilter(now time.Time) ecs.ListFilter {
	f := ecs.ListFilter{OwnerAlias: ecs.OwnerSelf, Statuses: slices.Clone(SelectableStatuses)}
	if r.Select == nil {
		return f
	}
	f.Statuses = slices.Clone(r.Select.Statuses)
	if len(r.Select.Tags) > 0 {
		f.Tags = make(map[string]string, len(r.Select.Tags))
		for k, v := range r.Select.Tags {
			f.Tags[k] = v
		}
	}
	if r.Select.OlderThan > 0 && r.Select.KeepLatest == 0 {
		// keep_latest ranks a group's images whatever their age, so with it the young ones must
		// be listed too. The service filters to the minute; round the bound up a minute so that the listing
		// is a superset of what the selector takes.
		f.CreatedBefore = now.Add(-r.Select.OlderThan).UTC().Truncate(time.Minute).Add(time.Minute)
	}
	return f
}

// LookupFilter is the filter for looking up one explicit id that the listing did not return:
// any owner and every status, because the service lists Available images only by default and the
// verdict must see what the image really is.
func LookupFilter(imageID string) ecs.ListFilter {
	return ecs.ListFilter{ImageID: imageID, Statuses: slices.Clone(ecs.AllStatuses)}
}

// MissingExplicit returns the region's explicit ids that are not among the listed images, in
// policy order. The runner looks each one up; one that does not exist is reported, never dropped.
func (r *Region) MissingExplicit(images []ecs.Image) []string {
	listed := make(map[string]bool, len(images))
	for _, img := range images {
		listed[img.ID] = true
	}
	var missing []string
	for _, id := range r.ImageIDs {
		if !listed[id] {
			missing = append(missing, id)
		}
	}
	return missing
}

// Count is what the runner counted in one region, for CheckLimits.
type Count struct {
	Region string
	// Selected is the images that would be deleted in the region.
	Selected int
	// Owned is all of the region's own custom images, in any status: a count of its own, not
	// the length of the narrowed ListFilter listing.
	Owned int
}

// LimitError is a guard that a run would break; apply aborts before any real delete.
type LimitError struct {
	Limit  string // limits.max_deletions or limits.max_deletion_percent
	Region string // empty for the all-regions limit
	Msg    string
}

// Error describes the breach.
func (e *LimitError) Error() string {
	if e.Region != "" {
		return fmt.Sprintf("%s: %s: %s", e.Limit, e.Region, e.Msg)
	}
	return e.Limit + ": " + e.Msg
}

// CheckLimits returns a *LimitError for the first limit the counts break, or nil.
func (p *Policy) CheckLimits(counts []Count) error {
	total := 0
	for _, c := range counts {
		total += c.Selected
	}
	if m := p.Limits.MaxDeletions; m > 0 && total > m {
		return &LimitError{Limit: "limits.max_deletions", Msg: fmt.Sprintf("%d images would be deleted, more than %d", total, m)}
	}
	if pct := p.Limits.MaxDeletionPercent; pct > 0 {
		for _, c := range counts {
			// Integer arithmetic: selected/owned > pct/100. A region that selects images yet
			// counts none owned breaks the limit rather than dividing by zero.
			if c.Selected > 0 && (c.Owned <= 0 || c.Selected*100 > pct*c.Owned) {
				return &LimitError{Limit: "limits.max_deletion_percent", Region: c.Region,
					Msg: fmt.Sprintf("%d of %d own images would be deleted, more than %d%%", c.Selected, c.Owned, pct)}
			}
		}
	}
	return nil
}
