package policy

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse feeds Parse arbitrary files, seeded with the example policies and the bad inputs of
// TestParseErrors. Parse must never panic, must return exactly one of a policy and an error, and a
// policy it returns must be one that Evaluate can use.
func FuzzParse(f *testing.F) {
	examples, err := filepath.Glob("../examples/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range examples {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(valid))
	for _, src := range badInputs {
		f.Add([]byte(src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		p, err := Parse("fuzz.yaml", data)
		if d := time.Since(start); d > parseTimeLimit() {
			t.Errorf("Parse took %v", d)
		}
		if (p == nil) == (err == nil) {
			t.Fatalf("Parse returned policy %v and error %v", p, err)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(p.Regions) == 0 || p.Concurrency < 1 || p.Concurrency > MaxConcurrency {
			t.Fatalf("accepted an invalid policy: %+v", p)
		}
		for _, r := range p.Regions {
			if len(r.ImageIDs) == 0 && r.Select == nil {
				t.Fatalf("accepted a region that selects nothing: %+v", r)
			}
			r.Evaluate(nil, time.Now())
			r.ListFilter(time.Now())
		}
	})
}
