package policy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Describe says in words what the region selects and what it keeps, with the age bound as the
// absolute time it is at now, so that a reviewer reads "created before 2026-11-02 00:00 UTC"
// rather than working out what 30d means today. The line starts with the region id, e.g.
//
//	cn-hangzhou: own custom images named "ci-*", tagged team=ci, created before 2026-11-02 00:00 UTC
//	(older than 30d), status Available, UnAvailable, CreateFailed or Deprecated; keeping the 3 newest
//	of each family; plus 2 explicit ids; protected: names "golden-*"; referenced images
//
// (on one line). The cut-off is shown in UTC to the minute, its seconds dropped.
func (r *Region) Describe(now time.Time) string {
	var parts []string
	if s := r.Select; s != nil {
		parts = append(parts, "own custom images "+s.describe(now))
		if s.KeepLatest > 0 {
			group := "family"
			if s.GroupBy == GroupByNamePrefix {
				group = "name prefix"
			}
			newest := "the newest"
			if s.KeepLatest > 1 {
				newest = fmt.Sprintf("the %d newest", s.KeepLatest)
			}
			parts = append(parts, fmt.Sprintf("keeping %s of each %s", newest, group))
		}
		if n := len(r.ImageIDs); n > 0 {
			parts = append(parts, "plus "+countIDs(n))
		}
	} else {
		parts = append(parts, "only "+countIDs(len(r.ImageIDs)))
	}
	parts = append(parts, "protected: "+r.describeProtect())
	if !r.ProtectReferenced() {
		parts = append(parts, "referenced images not protected")
	}
	if r.DeprecateFirst > 0 {
		parts = append(parts, "deprecated first, deleted "+formatAge(r.DeprecateFirst)+" later")
	}
	return r.ID + ": " + strings.Join(parts, "; ")
}

// describe lists the selector's conditions, all of which an image must meet.
func (s *Selector) describe(now time.Time) string {
	var conds []string
	if s.Name != "" {
		c := fmt.Sprintf("named %q", s.Name)
		if w := wildcardOnly(s.Name); w != "" {
			c += " (" + w + ")"
		}
		conds = append(conds, c)
	}
	if len(s.Tags) > 0 {
		conds = append(conds, "tagged "+orAnd(tagPairs(s.Tags), "and"))
	}
	if s.OlderThan > 0 {
		cut := now.Add(-s.OlderThan).UTC()
		conds = append(conds, fmt.Sprintf("created before %s (older than %s)", cut.Format("2006-01-02 15:04 UTC"), formatAge(s.OlderThan)))
	}
	conds = append(conds, "status "+orAnd(s.Statuses, "or"))
	return strings.Join(conds, ", ")
}

// describeProtect lists the rules that keep the region's images, its own then the policy-wide
// ones, and referenced images when they are kept.
func (r *Region) describeProtect() string {
	rules := []*Protect{&r.Protect}
	if r.global != nil {
		rules = append(rules, r.global)
	}
	var ids, tags, names []string
	for _, p := range rules {
		ids = append(ids, p.ImageIDs...)
		tags = append(tags, tagPairs(p.Tags)...)
		for _, g := range p.Names {
			names = append(names, strconv.Quote(g))
		}
	}
	var parts []string
	if len(ids) > 0 {
		parts = append(parts, "ids "+strings.Join(ids, ", "))
	}
	if len(tags) > 0 {
		parts = append(parts, "tags "+strings.Join(tags, ", "))
	}
	if len(names) > 0 {
		parts = append(parts, "names "+strings.Join(names, ", "))
	}
	if r.ProtectReferenced() {
		parts = append(parts, "referenced images")
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

// plainWord is a tag key or value that reads unambiguously without quotes.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9._:/@+-]+$`)

// tagPairs writes tags as key=value in key order, quoting what would not read plainly.
func tagPairs(tags map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, quoteIfNeeded(k)+"="+quoteIfNeeded(tags[k]))
	}
	return out
}

// quoteIfNeeded quotes a tag key or value unless it is a plain word.
func quoteIfNeeded(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return strconv.Quote(s)
}

// orAnd joins words as "a, b or c" (or "and").
func orAnd(words []string, conj string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// countIDs writes a count of explicit ids.
func countIDs(n int) string {
	if n == 1 {
		return "1 explicit id"
	}
	return fmt.Sprintf("%d explicit ids", n)
}
