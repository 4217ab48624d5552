package report

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestWriteStreamsWhatEncodingWholeWouldWrite: Write streams the entries one at a time, and
// writes byte for byte what encoding the whole report at once would.
func TestWriteStreamsWhatEncodingWholeWouldWrite(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		r := New("apply", "p.yaml", []byte("x"), time.Unix(0, 0))
		for i := 0; i < n; i++ {
			r.Add(Entry{Region: "cn", ImageID: "m-<&>", Outcome: Deleted, Snapshots: []SnapshotEntry{{}}, Blockers: &Blockers{Instances: []string{"i"}}})
		}
		r.Warnings = []string{"w"}
		r.Finish(StatusCompleted, time.Unix(5, 0))
		var a, b bytes.Buffer
		enc := json.NewEncoder(&a)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if err := Write(&b, r); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() {
			t.Fatalf("n=%d differ:\n%s\n----\n%s", n, a.String(), b.String())
		}
	}
}
