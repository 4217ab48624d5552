package policy

import (
	"path"
	"strings"
	"testing"
	"unicode/utf8"

	"pgregory.net/rapid"
)

// TestMatchesEveryName pins the decision for the globs an operator is likely to write.
func TestMatchesEveryName(t *testing.T) {
	for g, want := range map[string]bool{
		// Match-all: a * and at most two terms that each match any character.
		"*": true, "**": true, "?*": true, "*?": true, "*?*": true, "??*": true, "?*?": true, "*??**": true,
		"[^/]*": true, "?[^/]*": true, "[\x00-\U0010FFFF]*": true, "[\x00-.0-\U0010FFFF]*": true,
		"[\x00-.0-\uD7FF\uE000-\U0010FFFF]*": true, "[^/-/]*": true, "[\\\x00-\U0010FFFF]*": true,
		// An escaped x, then 0 and 0 to the last rune: it misses the control characters.
		"[\\x00-\U0010FFFF]*": false,
		// Not match-all: a plain character, a class that misses a character, too many terms
		// for a two-character name, or no * (one length only).
		"ci-*": false, "[a-z]*": false, "*-*": false, "???*": false, "?": false, "??": false, "???": false,
		"[^x]*": false, "[^x]?*": false, "\\**": false, "\\?*": false, "[\x00-.]*": false, "[\x01-\U0010FFFF]*": false,
		"[\x00-.0-\uD7FF\uE001-\U0010FFFF]*": false, "/*": false, "*/*": false, "é*": false, "[^\x00]*": false,
		"[z-a\x00-\U0010FFFF]*": true, "[z-a]*": false,
		// Classes that miss only the last character of a block of name characters.
		"[\x00-\U0010FFFE]*": false, "[\x00-\\-0-\U0010FFFF]*": false, "[\x00-.0-\uD7FE\uE000-\U0010FFFF]*": false,
	} {
		if _, err := path.Match(g, ""); err != nil {
			t.Fatalf("%q is not a valid glob: %v", g, err)
		}
		witness, all := matchesEveryName(g)
		if all != want {
			t.Errorf("matchesEveryName(%q) = %v, want %v", g, all, want)
		}
		if !all && isASCII(witness) {
			checkWitness(t, g, witness)
		}
	}
	// The known gap: * steps over bytes, so this class, which misses only the last character,
	// matches every name through the U+FFFD of a split character. It is accepted, not refused.
	if ok, _ := path.Match("*[\x00-\U0010FFFE]", "\U0010FFFF\U0010FFFF"); !ok {
		t.Error("path.Match no longer matches a split character; matchesEveryName could be exact")
	}
}

// checkWitness fails unless witness is an image name that g does not match.
func checkWitness(t interface {
	Helper()
	Fatalf(string, ...any)
}, g, witness string) {
	t.Helper()
	if n := utf8.RuneCountInString(witness); n < minNameLen || n > maxNameLen || strings.Contains(witness, "/") {
		t.Fatalf("glob %q: witness %q is not an image name", g, witness)
	}
	if ok, _ := path.Match(g, witness); ok {
		t.Fatalf("glob %q: witness %q matches", g, witness)
	}
}

// TestMatchesEveryNameWildcards checks the rule for globs made of *, ? and a letter, all of
// them up to six terms long: match-all exactly when there is a *, no letter and at most two ?.
func TestMatchesEveryNameWildcards(t *testing.T) {
	globs := []string{""}
	for n := 1; n <= 6; n++ {
		var next []string
		for _, g := range globs {
			for _, c := range []string{"*", "?", "a"} {
				next = append(next, g+c)
			}
		}
		globs = next
		for _, g := range globs {
			want := strings.Contains(g, "*") && !strings.Contains(g, "a") && strings.Count(g, "?") <= 2
			witness, all := matchesEveryName(g)
			if all != want {
				t.Errorf("matchesEveryName(%q) = %v, want %v", g, all, want)
			}
			if !all {
				checkWitness(t, g, witness)
			}
		}
	}
}

// globTerms are the pieces the property draws globs from: wildcards, plain and escaped
// characters, '/', and classes that match every name character, all but one, or few.
var globTerms = []string{"*", "*", "?", "?", "a", "é", "/", "\\*", "\\a", "-",
	"[a-z]", "[^a]", "[^/]", "[^\x00]", "[\x00-\U0010FFFF]", "[\x00-.0-\U0010FFFF]",
	"[\x00-.0-\uD7FF\uE000-\U0010FFFF]", "[\x01-\U0010FFFF]", "[0-\U0010FFFF\x00-.]", "[^z-a]", "[z-a]",
	"[\x00-\U0010FFFE]", "[\x00-\\-0-\U0010FFFF]", "[\x00-.0-\uD7FE\uE000-\U0010FFFF]"}

// nameRune draws a character an image name may hold, favouring the edges of the classes above.
var nameRune = rapid.OneOf(
	rapid.SampledFrom([]rune{0, 1, '.', '0', 'a', 'z', 'é', 0xD7FF, 0xE000, utf8.RuneError, utf8.MaxRune}),
	rapid.Rune().Filter(func(r rune) bool { return r != '/' }),
)

// TestMatchesEveryNameProperty checks matchesEveryName against path.Match itself: a glob it
// calls match-all matches every name drawn, and for any other it gives a name the glob misses.
func TestMatchesEveryNameProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := strings.Join(rapid.SliceOfN(rapid.SampledFrom(globTerms), 1, 5).Draw(t, "terms"), "")
		witness, all := matchesEveryName(g)
		if !all {
			if isASCII(witness) {
				checkWitness(t, g, witness)
				return
			}
			// path.Match's * steps over bytes and can match a piece of a multi-byte witness
			// (see matchesEveryName), so check the term that gave the witness on its own.
			c, _ := utf8.DecodeRuneInString(witness)
			for rest := g; rest != ""; {
				e, star, r, _ := nextTerm(rest)
				term := rest[:len(rest)-len(r)]
				rest = r
				if m, ok := e.missing(); !star && ok && m == c {
					if ok, _ := path.Match(term, string(c)); ok {
						t.Fatalf("glob %q: term %q matches %q, which it is said to miss", g, term, string(c))
					}
					return
				}
			}
			t.Fatalf("glob %q: no term misses the witness %q", g, witness)
		}
		for _, n := range []int{minNameLen, minNameLen + 1, maxNameLen} {
			name := string(rapid.SliceOfN(nameRune, n, n).Draw(t, "name"))
			if ok, err := path.Match(g, name); !ok || err != nil {
				t.Fatalf("match-all glob %q does not match %q (%v)", g, name, err)
			}
		}
	})
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// matchAllHead starts a policy whose one selector is a name, quoted after it.
const matchAllHead = "version: 1\nregions:\n  - region: cn-hangzhou\n    select:\n      name: "

// matchAllNames match every image name, and are refused alone in a selector.
var matchAllNames = []string{"*", "?*", "*?*", "??*", "**", "*?", "[^/]*"}

// narrowingNames narrow, if only by length, and are accepted alone.
var narrowingNames = []string{"ci-*", "[a-z]*", "???*", "??", "?", "*-*", "[^x]*", `\**`}

// TestMatchAllNameRefused checks the refusal through Parse: at the name's own position, only
// when nothing else narrows the selector, and never for a glob that narrows.
func TestMatchAllNameRefused(t *testing.T) {
	const head = matchAllHead
	for _, g := range matchAllNames {
		_, err := Parse("p.yaml", []byte(head+`"`+g+`"`+"\n"))
		want := `p.yaml:5:13: field regions[0].select.name: "` + g + `" matches every image name, so the selector would select every image: give a narrower name, tags or older_than`
		if err == nil || err.Error() != want {
			t.Errorf("name %q: got %v, want %s", g, err, want)
		}
		// Another condition narrows the selector, and the name then says nothing, as * did.
		if _, err := Parse("p.yaml", []byte(head+`"`+g+`"`+"\n      older_than: 30d\n")); err != nil {
			t.Errorf("name %q with older_than: %v", g, err)
		}
	}
	for _, g := range narrowingNames {
		if _, err := Parse("p.yaml", []byte(head+`'`+g+`'`+"\n")); err != nil {
			t.Errorf("name %q: %v", g, err)
		}
	}
}
