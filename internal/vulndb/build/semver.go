package main

import "strings"

// compareSemver compares two OSV versions as govulncheck does: without a "v" (or with "v" or
// "go"), by Semantic Versioning 2.0.0 precedence as golang.org/x/mod/semver.Compare. An invalid
// version (and "") sorts before every valid one, and two invalid versions are equal.
func compareSemver(a, b string) int {
	pa, oka := parseSemver(a)
	pb, okb := parseSemver(b)
	switch {
	case !oka && !okb:
		return 0
	case !oka:
		return -1
	case !okb:
		return 1
	}
	if c := compareNum(pa.major, pb.major); c != 0 {
		return c
	}
	if c := compareNum(pa.minor, pb.minor); c != 0 {
		return c
	}
	if c := compareNum(pa.patch, pb.patch); c != 0 {
		return c
	}
	return comparePrerelease(pa.pre, pb.pre)
}

type semver struct {
	major, minor, patch string
	pre                 string // without its "-"; "" for a release
}

func parseSemver(v string) (p semver, ok bool) {
	v = strings.TrimPrefix(v, "v")
	v = strings.TrimPrefix(v, "go")
	if v == "" {
		return p, false
	}
	if p.major, v, ok = parseNum(v); !ok {
		return p, false
	}
	if v == "" {
		p.minor, p.patch = "0", "0"
		return p, true
	}
	if v[0] != '.' {
		return p, false
	}
	if p.minor, v, ok = parseNum(v[1:]); !ok {
		return p, false
	}
	if v == "" {
		p.patch = "0"
		return p, true
	}
	if v[0] != '.' {
		return p, false
	}
	if p.patch, v, ok = parseNum(v[1:]); !ok {
		return p, false
	}
	if strings.HasPrefix(v, "-") {
		end := strings.IndexByte(v, '+')
		if end < 0 {
			end = len(v)
		}
		p.pre, v = v[1:end], v[end:]
		for _, id := range strings.Split(p.pre, ".") {
			if !isIdent(id) || (isNum(id) && len(id) > 1 && id[0] == '0') {
				return p, false
			}
		}
	}
	if strings.HasPrefix(v, "+") {
		for _, id := range strings.Split(v[1:], ".") {
			if !isIdent(id) {
				return p, false
			}
		}
		v = ""
	}
	return p, v == ""
}

// parseNum takes a number without leading zeros off the front of v.
func parseNum(v string) (num, rest string, ok bool) {
	i := 0
	for i < len(v) && '0' <= v[i] && v[i] <= '9' {
		i++
	}
	if i == 0 || (v[0] == '0' && i != 1) {
		return "", v, false
	}
	return v[:i], v[i:], true
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

func isNum(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// compareNum compares decimal numbers without leading zeros.
func compareNum(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// comparePrerelease orders pre-release suffixes: a release ("") after any pre-release, then
// identifier by identifier, numeric ones below alphanumeric ones.
func comparePrerelease(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, y := as[i], bs[i]
		if x == y {
			continue
		}
		xn, yn := isNum(x), isNum(y)
		switch {
		case xn && yn:
			return compareNum(x, y)
		case xn:
			return -1
		case yn:
			return 1
		}
		return strings.Compare(x, y)
	}
	switch {
	case len(as) < len(bs):
		return -1
	case len(as) > len(bs):
		return 1
	}
	return 0
}
