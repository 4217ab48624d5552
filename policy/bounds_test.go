package policy

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// hostileInputs are the largest and most awkward inputs a policy file can be.
func hostileInputs() []hostileInput {
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
	return []hostileInput{
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
}

type hostileInput struct {
	name, src string
	ok        bool
}

// TestParseHostile checks that the largest and most awkward inputs are refused, or accepted,
// in bounded memory. How long they take is BenchmarkParseHostile's to measure, not a test's.
func TestParseHostile(t *testing.T) {
	for _, tt := range hostileInputs() {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.src) > MaxFileSize {
				t.Fatalf("input is %d bytes", len(tt.src))
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Parse("p.yaml", []byte(tt.src))
			runtime.ReadMemStats(&after)
			if (err == nil) != tt.ok {
				t.Errorf("err = %.200v", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 100<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			t.Logf("%d KiB allocated, %.120v", (after.TotalAlloc-before.TotalAlloc)>>10, err)
		})
	}
}

// BenchmarkParseHostile times each hostile input; the target is well under a second each.
//
//	go test -run '^$' -bench ParseHostile ./policy
func BenchmarkParseHostile(b *testing.B) {
	for _, tt := range hostileInputs() {
		b.Run(strings.ReplaceAll(tt.name, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				_, _ = Parse("p.yaml", []byte(tt.src))
			}
		})
	}
}
