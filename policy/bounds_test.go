package policy

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParseHostile checks that the largest and most awkward inputs are refused, or accepted,
// quickly and in bounded memory.
func TestParseHostile(t *testing.T) {
	// Each level of aliases repeats the one before ten times: 10^40 nodes expanded.
	var laughs strings.Builder
	laughs.WriteString("version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 40; i++ {
		p := fmt.Sprintf("*a%d", i-1)
		fmt.Fprintf(&laughs, "a%d: &a%d [%s]\n", i, i, strings.Join(slices.Repeat([]string{p}, 10), ", "))
	}
	// fill repeats a pattern up to the size limit.
	fill := func(prefix, pattern, suffix string) string {
		return prefix + strings.Repeat(pattern, (MaxFileSize-len(prefix)-len(suffix))/len(pattern)) + suffix
	}
	var ids strings.Builder
	ids.WriteString("version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids:\n")
	for i := 0; ids.Len() < MaxFileSize-40; i++ {
		fmt.Fprintf(&ids, "      - m-%020d\n", i)
	}
	tests := []struct {
		name, src string
		ok        bool
	}{
		{"billion laughs", laughs.String(), false},
		{"deep flow", strings.Repeat("[", MaxFileSize), false},
		{"deep block", strings.Repeat("- ", MaxFileSize/2), false},
		{"many keys", fill("", "k: v\n", ""), false},
		{"many nulls", fill("", "k:\n", ""), false},
		{"dense flow list", fill("[", "a,", "a]"), false},
		{"dense flow map", fill("{", "a: b,", "a: b}"), false},
		{"dense block list", fill("", "- a\n", ""), false},
		{"spaced flow list", fill("[", "a   ,", "a]"), false},
		{"nested lists", fill("", "- - - - - - - - - - a\n", ""), false},
		{"many ids", ids.String(), true}, // a one-off list of 34,000 ids still loads
		{"long scalar", "version: 1\nregions: [{region: cn-hangzhou, select: {name: \"" + strings.Repeat("*", MaxFileSize-100) + "\"}}]\n", false},
		{"long glob", "version: 1\nregions: [{region: cn-hangzhou, select: {name: \"" + strings.Repeat("a*", (MaxFileSize-100)/2) + "\"}}]\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.src) > MaxFileSize {
				t.Fatalf("input is %d bytes", len(tt.src))
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := Parse("p.yaml", []byte(tt.src))
			d := time.Since(start)
			runtime.ReadMemStats(&after)
			if (err == nil) != tt.ok {
				t.Errorf("err = %.200v", err)
			}
			if d > parseTimeLimit() {
				t.Errorf("took %v", d)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 100<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			t.Logf("%v, %d KiB allocated, %.120v", d, (after.TotalAlloc-before.TotalAlloc)>>10, err)
		})
	}
}

// parseTimeLimit is the longest Parse may take on any input: a second, as the fuzz target also
// requires, or more under the race detector.
func parseTimeLimit() time.Duration {
	if raceEnabled {
		return 20 * time.Second
	}
	return time.Second
}
