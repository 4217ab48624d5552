package runner

import (
	"testing"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// TestTransitions: the table is the only way an image changes state, and it keeps the promises
// the report makes: a final outcome changes only where later evidence beats an answer, and a
// real delete of unknown result never turns into not_attempted.
func TestTransitions(t *testing.T) {
	r := New(Config{})
	for from := stateSelected; from <= stateNotAttempted; from++ {
		for to := stateSelected; to <= stateNotAttempted; to++ {
			it := &item{state: from}
			moved := r.move(it, to, "C", "m")
			want := allowed(from, to)
			if moved != want || (moved && it.state != to) || (!moved && it.state != from) {
				t.Errorf("%s -> %s: moved %v (state %s), want %v", from, to, moved, it.state, want)
			}
		}
	}
	for _, s := range []state{stateWouldDelete, stateBlocked, stateSkipped, stateNotAttempted} {
		if len(transitions[s]) != 0 {
			t.Errorf("final state %s may move to %v", s, transitions[s])
		}
	}
	if allowed(stateUnknown, stateNotAttempted) || allowed(stateUnknown, stateSkipped) {
		t.Error("an unknown result may become not_attempted or skipped")
	}
	if allowed(stateSelected, stateDeleted) {
		t.Error("an image may be deleted without a DryRun that passed")
	}
	// Progress counts each image once, when it first reaches a final state.
	r = New(Config{})
	it := &item{state: statePassed}
	r.move(it, stateUnknown, "InternalError", "")
	r.move(it, stateDeleted, "", "")
	r.move(it, stateFailed, CodeDeleteNotConfirmed, "")
	if got := r.done.Load(); got != 1 {
		t.Errorf("progress counted %d times, want 1", got)
	}
	if it.state.outcome() != report.Failed {
		t.Errorf("outcome %q", it.state.outcome())
	}
	for s := stateWouldDelete; s <= stateNotAttempted; s++ {
		if stateOf(s.outcome()) != s {
			t.Errorf("stateOf(%q) = %s", s.outcome(), stateOf(s.outcome()))
		}
	}
}
