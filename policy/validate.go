package policy

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
)

// The shapes of ids. They are loose enough for every region and image id the service issues and
// tight enough to catch a pasted instance id, snapshot id or stray quote.
var (
	regionIDPattern = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)
	imageIDPattern  = regexp.MustCompile(`^m-[a-z0-9]+$`)
)

// validate checks what the structural walk cannot (values, ranges, cross references) and, when
// it finds nothing, builds the Policy. Every check runs, so that all problems are reported.
func (d *decoder) validate(fp *filePolicy) *Policy {
	p := &Policy{File: d.file, Version: 1, Concurrency: DefaultConcurrency}

	switch {
	case fp.Version == nil:
		d.errorAt("version", "required: write version: 1")
	case *fp.Version != 1:
		d.errorAt("version", "unsupported version %d (want 1)", *fp.Version)
	}
	if fp.Concurrency != nil {
		if c := *fp.Concurrency; c < 1 || c > MaxConcurrency {
			d.errorAt("concurrency", "%d is out of range 1..%d", c, MaxConcurrency)
		}
		p.Concurrency = *fp.Concurrency
	}

	if _, ok := d.nodes["regions"]; !ok {
		d.errorAt("regions", "required: list at least one region")
	} else if len(fp.Regions) == 0 {
		d.errorAt("regions", "is empty: list at least one region")
	}
	if _, ok := d.nodes["deprecate_first"]; ok {
		p.DeprecateFirst = d.gracePeriod("deprecate_first", fp.DeprecateFirst)
	}
	firstRegion := map[string]string{}
	for i, fr := range fp.Regions {
		field := fmt.Sprintf("regions[%d]", i)
		r := &Region{ID: fr.Region, Index: i, global: &p.Protect}
		if n := d.node(field + ".region"); n != nil {
			r.Line, r.Column = n.Line, n.Column
		}
		p.Regions = append(p.Regions, r)

		switch {
		case fr.Region == "" && d.nodes[field+".region"] == nil:
			d.errorAt(field+".region", "required: name the region, e.g. cn-hangzhou")
		case !regionIDPattern.MatchString(fr.Region):
			d.errorAt(field+".region", "%q is not a region id (e.g. cn-hangzhou, ap-southeast-1)", fr.Region)
		default:
			if first, ok := firstRegion[fr.Region]; ok {
				d.errorAt(field+".region", "region %s is listed twice (first at %s); give each region one entry", fr.Region, d.pos(first))
			} else {
				firstRegion[fr.Region] = field + ".region"
				if w := unknownRegion(fr.Region); w != "" {
					d.warnAt(field+".region", "%s", w)
				}
			}
		}

		r.ImageIDs = d.imageIDs(field+".image_ids", fr.ImageIDs)
		if fr.Select != nil {
			r.Select = d.selector(field+".select", fr.Select)
		}
		if len(fr.ImageIDs) == 0 && fr.Select == nil {
			d.errorAt(field, "selects nothing: give image_ids, select or both")
		}
		r.Force = fr.Force != nil && *fr.Force
		r.DeleteSnapshots = fr.DeleteSnapshots != nil && *fr.DeleteSnapshots
		r.Protect = d.protect(field+".protect", fr.Protect)
		r.DeprecateFirst = p.DeprecateFirst
		df := "deprecate_first"
		if _, ok := d.nodes[field+".deprecate_first"]; ok {
			df = field + ".deprecate_first"
			r.DeprecateFirst = d.gracePeriod(df, fr.DeprecateFirst)
		}
		if r.DeprecateFirst > 0 && r.Select != nil && !slices.Contains(r.Select.Statuses, ecs.StatusDeprecated) {
			d.errorAt(field+".select.status", "leaves out Deprecated, but %s deprecates the images it selects and deletes them only when they are still selected once Deprecated: add Deprecated", df)
		}
	}
	p.Protect = d.protect("protect", fp.Protect)

	if l := fp.Limits; l != nil {
		if l.MaxDeletions != nil {
			switch n := *l.MaxDeletions; {
			case n == 0:
				// Some tools read 0 as "no limit"; here it could only mean "delete nothing", and
				// guessing either way is wrong for a guard.
				d.errorAt("limits.max_deletions", "0 is ambiguous (no deletions, or no limit?): use at least 1, or leave the key out for no limit")
			case n < 0:
				d.errorAt("limits.max_deletions", "%d is negative: use at least 1, or leave the key out for no limit", n)
			}
			p.Limits.MaxDeletions = *l.MaxDeletions
		}
		if l.MaxDeletionPercent != nil {
			if n := *l.MaxDeletionPercent; n < 1 || n > 100 {
				d.errorAt("limits.max_deletion_percent", "%d is out of range 1..100", n)
			}
			p.Limits.MaxDeletionPercent = *l.MaxDeletionPercent
		}
	}
	if len(d.errs) > 0 {
		return nil
	}
	p.Warnings = d.warnings
	return p
}

// gracePeriod checks a deprecate_first value: a duration as older_than writes it.
func (d *decoder) gracePeriod(field, v string) time.Duration {
	dur, err := ParseDuration(v)
	if err != nil {
		d.errorAt(field, "%v", err)
		return 0
	}
	return dur
}

// pos formats the position of a field's node as LINE:COL.
func (d *decoder) pos(field string) string {
	n := d.node(field)
	if n == nil {
		return "?"
	}
	return fmt.Sprintf("%d:%d", n.Line, n.Column)
}

// imageIDs checks a list of image ids: each well formed, none twice.
func (d *decoder) imageIDs(field string, ids []string) []string {
	first := map[string]int{}
	for i, id := range ids {
		f := fmt.Sprintf("%s[%d]", field, i)
		if !imageIDPattern.MatchString(id) {
			d.errorAt(f, "%q is not an image id (e.g. m-bp67acfmxazb4p0001)", id)
			continue
		}
		if j, ok := first[id]; ok {
			d.errorAt(f, "%s is listed twice (first at %s)", id, d.pos(fmt.Sprintf("%s[%d]", field, j)))
			continue
		}
		first[id] = i
	}
	return slices.Clone(ids)
}

// globs checks a list of name patterns: each non-empty, valid, and none twice.
func (d *decoder) globs(field string, globs []string) []string {
	first := map[string]int{}
	for i, g := range globs {
		f := fmt.Sprintf("%s[%d]", field, i)
		if d.glob(f, g) {
			if j, ok := first[g]; ok {
				d.errorAt(f, "%q is listed twice (first at %s)", g, d.pos(fmt.Sprintf("%s[%d]", field, j)))
				continue
			}
			first[g] = i
		}
	}
	return slices.Clone(globs)
}

// glob checks one name pattern; it reports whether the pattern is good.
func (d *decoder) glob(field, g string) bool {
	if g == "" {
		d.errorAt(field, "is empty: give a name or a glob such as ci-*")
		return false
	}
	// path.Match reports a bad pattern only when it gets that far in the name, so match against
	// the empty name, which makes it read the whole pattern.
	if _, err := path.Match(g, ""); err != nil {
		d.errorAt(field, "%q is not a valid glob (%v)", g, err)
		return false
	}
	return true
}

// tags copies a map of tags; the walk has checked its keys. Values may be empty, as ECS allows.
func (d *decoder) tags(tags map[string]string) map[string]string {
	if tags == nil {
		return nil
	}
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		out[k] = v
	}
	return out
}

// selector checks a region's select block and compiles it.
func (d *decoder) selector(field string, fs *fileSelect) *Selector {
	s := &Selector{Name: fs.Name, Statuses: slices.Clone(SelectableStatuses)}
	_, hasName := d.nodes[field+".name"]
	goodName := hasName && d.glob(field+".name", fs.Name)
	s.Tags = d.tags(fs.Tags)
	if _, ok := d.nodes[field+".older_than"]; ok {
		dur, err := ParseDuration(fs.OlderThan)
		if err != nil {
			d.errorAt(field+".older_than", "%v", err)
		}
		s.OlderThan = dur
	}
	if _, ok := d.nodes[field+".status"]; ok {
		s.Statuses = d.statuses(field+".status", fs.Status)
	}
	s.KeepLatest, s.GroupBy = d.retention(field, fs)
	// A selector must narrow by something other than status: status alone, or a name that
	// matches every name (*, ?*, ??*, [^/]*), would select every custom image of the account.
	// A name that narrows only by length (???*, ??) does narrow, and validate describes it so.
	if len(fs.Tags) == 0 && s.OlderThan == 0 && fs.OlderThan == "" {
		switch _, all := matchesEveryName(fs.Name); {
		case !hasName:
			d.errorAt(field, "selects every image: give name, tags or older_than")
		case goodName && all:
			d.errorAt(field+".name", "%q matches every image name, so the selector would select every image: give a narrower name, tags or older_than", fs.Name)
		}
	}
	return s
}

// statuses checks a select.status list.
func (d *decoder) statuses(field string, list []string) []string {
	if len(list) == 0 {
		d.errorAt(field, "is empty: leave it out for the default (%s)", strings.Join(SelectableStatuses, ", "))
	}
	first := map[string]int{}
	for i, s := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case s == ecs.StatusCreating || s == ecs.StatusWaiting:
			d.errorAt(f, "%s images are never selectable: they are still being made", s)
			continue
		case !slices.Contains(SelectableStatuses, s):
			d.errorAt(f, "%q is not an image status (want %s)", s, strings.Join(SelectableStatuses, ", "))
			continue
		}
		if j, ok := first[s]; ok {
			d.errorAt(f, "%s is listed twice (first at %s)", s, d.pos(fmt.Sprintf("%s[%d]", field, j)))
			continue
		}
		first[s] = i
	}
	return slices.Clone(list)
}

// protect checks a protect block, policy-wide or a region's, and compiles it.
func (d *decoder) protect(field string, fp *fileProtect) Protect {
	p := Protect{field: field}
	if fp == nil {
		return p
	}
	p.ImageIDs = d.imageIDs(field+".image_ids", fp.ImageIDs)
	p.Tags = d.tags(fp.Tags)
	p.Names = d.globs(field+".names", fp.Names)
	if fp.Referenced != nil {
		v := *fp.Referenced
		p.Referenced = &v
	}
	return p
}
