package policy

import (
	"fmt"
	"math"
	"time"
)

// Day and Week are the units a policy may write beyond time.Duration's own; there is no month or
// year, because their length varies and a deletion age must mean one thing.
const (
	Day  = 24 * time.Hour // the unit d
	Week = 7 * Day        // the unit w
)

// ParseDuration parses an age as the policy writes it: a positive whole number followed by one
// unit, m (minutes), h (hours), d (days) or w (weeks), e.g. 90m, 36h, 30d, 2w. It is stricter than
// time.ParseDuration on purpose: no fractions, no sums like 1d12h, no seconds, so that every age
// in a policy reads one way.
func ParseDuration(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("%q is not a duration (use m, h, d or w)", s)
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = Day
	case 'w':
		unit = Week
	default:
		return 0, fmt.Errorf("%q is not a duration (use m, h, d or w)", s)
	}
	var n int64
	for _, c := range s[:len(s)-1] {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a duration (use m, h, d or w)", s)
		}
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
	return time.Duration(n) * unit, nil
}
