package policy

import (
	"flag"
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
		// The one-second bound is the fuzzer's to enforce: as a plain test over the seed
		// corpus, a timed check would only measure the machine.
		if d := time.Since(start); fuzzing() && d > parseTimeLimit() {
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

// fuzzing reports whether the test binary runs the fuzzer (-fuzz), not the seed corpus alone.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// parseTimeLimit is the longest Parse may take on any input while fuzzing: a second, or more
// under the race detector.
func parseTimeLimit() time.Duration {
	if raceEnabled {
		return 20 * time.Second
	}
	return time.Second
}
