package policy

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Day and Week are the units a policy may write beyond time.Duration's own; there is no month or
// year, because their length varies and a deletion age must mean one thing.
const (
	Day  = 24 * time.Hour // the unit d
	Week = 7 * Day        // the unit w
)

// durationUnits lists the units of ParseDuration, for messages.
const durationUnits = "units: min, h, d, w"

// ParseDuration parses an age as the policy writes it: a positive whole number followed by one
// unit, min (minutes), h (hours), d (days) or w (weeks), e.g. 90min, 36h, 30d, 2w. It is stricter
// than time.ParseDuration on purpose: no fractions, no sums like 1d12h, no seconds, so that every
// age in a policy reads one way. For the same reason a bare m is refused: 6m is six minutes to
// Go and six months to many readers, and reading it the wrong way selects nearly every image.
func ParseDuration(s string) (time.Duration, error) {
	num, unitName := s, ""
	if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		num, unitName = s[:i], s[i:]
	}
	var unit time.Duration
	switch unitName {
	case "min", "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	case "d":
		unit = Day
	case "w":
		unit = Week
	}
	if num == "" || unit == 0 {
		return 0, fmt.Errorf("%q is not a duration (%s)", s, durationUnits)
	}
	var n int64
	for _, c := range num {
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, fmt.Errorf("%q is too long a duration", s)
		}
		n = n*10 + d
	}
	if n == 0 {
		return 0, fmt.Errorf("%q is not a positive duration", s)
	}
	if n > math.MaxInt64/int64(unit) {
		return 0, fmt.Errorf("%q is too long a duration", s)
	}
	if unitName == "m" {
		return 0, ambiguousMonths(s, n)
	}
	return time.Duration(n) * unit, nil
}

// ambiguousMonths is the error for a bare m: it offers both readings, minutes and months, the
// latter as days at 30 a month. Each suggestion is one ParseDuration takes; so many months that
// their days would be too long a duration get no number.
func ambiguousMonths(s string, n int64) error {
	months := "months"
	if n == 1 {
		months = "month"
	}
	if n > math.MaxInt64/int64(30*Day) {
		return fmt.Errorf("%q is ambiguous: write %dmin for minutes, or a number of days for months (%s)", s, n, durationUnits)
	}
	return fmt.Errorf("%q is ambiguous: write %dmin for minutes, or %dd for about %d %s (%s)", s, n, n*30, n, months, durationUnits)
}

// FormatDuration writes a duration in the policy's own units where it can (2w, 30d, 36h,
// 90min), as ParseDuration reads them.
func FormatDuration(d time.Duration) string { return formatAge(d) }
