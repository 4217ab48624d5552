package policy

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Image names, as this package reasons about them: ECS names are 2 to 128 characters, and never
// contain '/', which path.Match's * and ? do not match. Any other character counts, so that a
// glob is called match-all only if it would match a name the service might ever return.
const (
	minNameLen = 2
	maxNameLen = 128
)

// globElem is one term of a path.Match pattern other than *: something that consumes exactly one
// character of the name.
type globElem struct {
	any     bool  // ?: any character but '/'
	class   bool  // a class: [ranges] or [^ranges]
	negated bool  // the class starts with ^
	ranges  []rng // the class's ranges
	literal byte  // otherwise: a plain or escaped byte
}

// rng is an inclusive range of runes.
type rng struct{ lo, hi rune }

// nextTerm reads the first term of a valid path.Match pattern: a run of * (star true), or one
// term that consumes one character. It mirrors path.Match's own grammar (path/match.go),
// including that a plain or escaped character outside a class is compared byte by byte, and
// returns ok false where path.Match reports a bad pattern; the validator refuses those first.
func nextTerm(g string) (e globElem, star bool, rest string, ok bool) {
	switch g[0] {
	case '*':
		return e, true, strings.TrimLeft(g, "*"), true
	case '?':
		return globElem{any: true}, false, g[1:], true
	case '\\':
		if len(g) == 1 {
			return e, false, "", false
		}
		return globElem{literal: g[1]}, false, g[2:], true
	case '[':
		e.class = true
		i := 1
		if i < len(g) && g[i] == '^' {
			e.negated = true
			i++
		}
		for {
			if i < len(g) && g[i] == ']' && len(e.ranges) > 0 {
				return e, false, g[i+1:], true
			}
			lo, n, good := classChar(g[i:])
			if !good {
				return e, false, "", false
			}
			i += n
			hi := lo
			if g[i] == '-' {
				if hi, n, good = classChar(g[i+1:]); !good {
					return e, false, "", false
				}
				i += 1 + n
			}
			e.ranges = append(e.ranges, rng{lo, hi})
		}
	}
	return globElem{literal: g[0]}, false, g[1:], true
}

// classChar reads one character of a class, escaped or not, as path.Match's getEsc does: it
// returns the rune, the bytes read, and false where path.Match reports a bad pattern (which
// includes a class that the pattern ends inside).
func classChar(s string) (rune, int, bool) {
	if s == "" || s[0] == '-' || s[0] == ']' {
		return 0, 0, false
	}
	n := 0
	if s[0] == '\\' {
		n = 1
		if len(s) == 1 {
			return 0, 0, false
		}
	}
	r, size := utf8.DecodeRuneInString(s[n:])
	if r == utf8.RuneError && size == 1 {
		return 0, 0, false
	}
	n += size
	return r, n, n < len(s)
}

// nameRunes are the runes a character of a name can be, as path.Match decodes it: every rune
// but '/' and the surrogates, which decoding never yields (invalid UTF-8 decodes as U+FFFD,
// which is included).
var nameRunes = []rng{{0, '/' - 1}, {'/' + 1, 0xD7FF}, {0xE000, utf8.MaxRune}}

// missing returns a name rune the element does not match, or false when it matches every one.
func (e globElem) missing() (rune, bool) {
	switch {
	case e.any:
		return 0, false
	case !e.class:
		if e.literal == 'a' {
			return 'b', true
		}
		return 'a', true
	case e.negated:
		// A negated class fails every name rune inside one of its ranges.
		for _, r := range e.ranges {
			for _, n := range nameRunes {
				if lo, hi := max(r.lo, n.lo), min(r.hi, n.hi); lo <= hi {
					return lo, true
				}
			}
		}
		return 0, false
	}
	// A class fails the lowest name rune that none of its ranges covers.
	ranges := slices.SortedFunc(slices.Values(e.ranges), func(a, b rng) int { return cmp.Compare(a.lo, b.lo) })
	for _, n := range nameRunes {
		c := n.lo // the lowest rune of n not yet known to be covered
		for _, r := range ranges {
			if r.lo > c {
				break
			}
			c = max(c, r.hi+1)
		}
		if c <= n.hi {
			return c, true
		}
	}
	return 0, false
}

// matchesEveryName reports whether a valid glob matches every image name, and when it does not,
// gives a name it does not match. It reasons term by term: a glob matches every name of
// minNameLen..maxNameLen characters without '/' when it has a *, at most minNameLen other terms,
// and each of those is a ? or a class that matches every character. Without a * it matches names
// of one length only; with more terms it misses the shortest names; and a term that misses a
// character c misses the name made of c alone.
//
// That is exact whenever the witness is ASCII: for every glob of *, ? and plain characters, and
// for every class that misses some ASCII character. path.Match's * steps over bytes, not
// characters, so a class after a * may match the tail of a multi-byte character as U+FFFD; a class
// that misses only non-ASCII characters (*[\x00-\U0010FFFE]) can therefore match every name
// although this says it does not. The error is towards accepting a glob, never towards refusing
// one that narrows.
func matchesEveryName(g string) (witness string, all bool) {
	shortest := strings.Repeat("a", minNameLen)
	var terms []globElem
	star := false
	for rest := g; rest != ""; {
		e, isStar, r, ok := nextTerm(rest)
		if !ok {
			return "", false
		}
		rest = r
		if isStar {
			star = true
			continue
		}
		if terms = append(terms, e); len(terms) > minNameLen {
			// The shortest names are too short for the glob, whatever else it says. Stopping
			// here also bounds the work on a long glob.
			return shortest, false
		}
	}
	if !star {
		// The glob matches names of one length only (in bytes, for an ASCII name).
		if len(terms) == minNameLen {
			return shortest + "a", false
		}
		return shortest, false
	}
	// A plain character consumes one byte, so the witness is ASCII whenever there is one, and
	// every term then consumes exactly one of its characters.
	for _, e := range terms {
		if !e.any && !e.class {
			c, _ := e.missing()
			return strings.Repeat(string(c), minNameLen), false
		}
	}
	for _, e := range terms {
		if c, ok := e.missing(); ok {
			return strings.Repeat(string(c), minNameLen), false
		}
	}
	return "", true
}

// wildcardOnly describes in words a glob made only of * and ?, which narrows by length alone;
// it returns "" for any other glob.
func wildcardOnly(g string) string {
	if strings.Trim(g, "*?") != "" {
		return ""
	}
	n := strings.Count(g, "?")
	unit := "characters"
	if n == 1 {
		unit = "character"
	}
	if strings.Contains(g, "*") {
		if n <= minNameLen {
			return "any name"
		}
		return "any name of at least " + strconv.Itoa(n) + " " + unit
	}
	return "any name of exactly " + strconv.Itoa(n) + " " + unit
}
