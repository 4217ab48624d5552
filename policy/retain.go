package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
)

// The values of select.group_by.
const (
	// GroupByFamily groups images by their image family. Images without a family form one group
	// of their own.
	GroupByFamily = "family"
	// GroupByNamePrefix groups images by NamePrefix of their name. Names without a prefix form
	// one group of their own.
	GroupByNamePrefix = "name_prefix"
)

// GroupByValues lists the values select.group_by accepts, in the order messages name them.
var GroupByValues = []string{GroupByFamily, GroupByNamePrefix}

// namePrefixSeparators are the bytes that split a name into segments for NamePrefix.
const namePrefixSeparators = "-_. "

// NamePrefix is the group key of a name for group_by: name_prefix: the name without its trailing
// segments that contain a digit, segments being separated by '-', '_', '.' or ' '. So
// "ci-build-0042" and "ci-build-0043" share the prefix "ci-build", "web-2026-01-31" has "web",
// "app-server-v3" has "app-server" and "centos7-base-20260101" has "centos7-base". A name made
// only of such segments ("20260101") has the empty prefix.
func NamePrefix(name string) string {
	end := len(name)
	for end > 0 {
		start := strings.LastIndexAny(name[:end], namePrefixSeparators) + 1
		if seg := name[start:end]; seg != "" && !strings.ContainsAny(seg, "0123456789") {
			break
		}
		if start == 0 {
			return ""
		}
		end = start - 1 // drop the segment and the separator before it
	}
	return name[:end]
}

// retention reads select.keep_latest and select.group_by. keep_latest must be at least 1 and
// comes with group_by, and group_by only with keep_latest: either alone is a policy that does not
// say what it means.
func (d *decoder) retention(field string, fs *fileSelect) (int, string) {
	keep, group := 0, ""
	_, hasGroup := d.nodes[field+".group_by"]
	if fs.KeepLatest != nil {
		switch keep = *fs.KeepLatest; {
		case keep == 0:
			// As with max_deletions: 0 could mean "keep none" or "no retention"; neither is
			// what a careful reader would bet a deletion on.
			d.errorAt(field+".keep_latest", "0 is ambiguous (keep none, or no retention?): use at least 1, or leave the key out for no retention")
		case keep < 0:
			d.errorAt(field+".keep_latest", "%d is negative: use at least 1, or leave the key out for no retention", keep)
		}
		if !hasGroup {
			d.errorAt(field+".keep_latest", "needs group_by: %s", strings.Join(GroupByValues, " or "))
		}
	}
	if hasGroup {
		group = fs.GroupBy
		if !slices.Contains(GroupByValues, group) {
			d.errorAt(field+".group_by", "%q is not a grouping (want %s)", group, strings.Join(GroupByValues, " or "))
		}
		if fs.KeepLatest == nil {
			d.errorAt(field+".group_by", "has no effect without keep_latest: give keep_latest: N, or leave group_by out")
		}
	}
	return keep, group
}

// groupKey is the group of an image for the selector's group_by, and how messages name it.
func (s *Selector) groupKey(img ecs.Image) (key, name string) {
	if s.GroupBy == GroupByNamePrefix {
		key = NamePrefix(img.Name)
		if key == "" {
			return "", "among the names without a prefix"
		}
		return key, fmt.Sprintf("with name prefix %q", key)
	}
	if img.Family == "" {
		return "", "among the images without a family"
	}
	return img.Family, fmt.Sprintf("in family %q", img.Family)
}

// retain applies select.keep_latest to the verdicts of Evaluate. A group is every listed image
// the region could select if it were old enough: the account's own, in a selectable status,
// matching every select condition but older_than, whether it is named by an explicit id, young
// or protected. Ranked newest first by CreationTime, ties by id (the order DescribeImages lists
// them in), the first KeepLatest of each group are kept: a Selected one among them becomes
// Retained. Protected and young members count as members, so that after a run exactly the
// KeepLatest newest of each group are left, plus whatever protection keeps.
//
// An image whose creation time is unknown cannot be ranked: if it is selected, it is retained.
func (r *Region) retain(images []ecs.Image, out []Verdict) {
	s := r.Select
	if s == nil || s.KeepLatest <= 0 {
		return
	}
	rule := fmt.Sprintf("regions[%d].select.keep_latest", r.Index)
	groups := map[string][]int{}
	var keys []string
	seen := make(map[string]bool, len(images))
	for i, img := range images {
		if seen[img.ID] {
			continue
		}
		seen[img.ID] = true
		if img.OwnerAlias != ecs.OwnerSelf || !slices.Contains(SelectableStatuses, img.Status) || s.mismatchExceptAge(img) != "" {
			continue
		}
		if img.CreationTime.IsZero() {
			if out[i].Kind == Selected {
				out[i].Kind, out[i].Rule, out[i].Reason = Retained, rule, "creation time unknown: it cannot be ranked"
			}
			continue
		}
		key, _ := s.groupKey(img)
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], i)
	}
	for _, key := range keys {
		members := groups[key]
		slices.SortFunc(members, func(a, b int) int {
			if c := images[b].CreationTime.Compare(images[a].CreationTime); c != 0 {
				return c
			}
			return cmp.Compare(images[a].ID, images[b].ID)
		})
		for rank, i := range members[:min(s.KeepLatest, len(members))] {
			if out[i].Kind != Selected {
				continue
			}
			_, name := s.groupKey(images[i])
			out[i].Kind, out[i].Rule = Retained, rule
			out[i].Reason = fmt.Sprintf("#%d newest of %d %s (keep_latest %d)", rank+1, len(members), name, s.KeepLatest)
		}
	}
}
