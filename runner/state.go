package runner

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// state is where one image stands in the run. Every change of state goes through Runner.move,
// which knows the transitions below; the report's outcome is derived from the state alone.
type state uint8

const (
	stateSelected       state = iota // selected: its DryRun is still to be answered
	statePassed                      // apply: its DryRun passed; the real delete is still to be answered
	stateDeprecating                 // staged retention: to be deprecated (or, if Deprecated already, tagged)
	stateUnknown                     // a real delete was sent and no answer proved its outcome: a lookup will tell
	stateWouldDelete                 // plan: its DryRun passed
	stateDeleted                     // the service deleted it (a confirming lookup may still overrule this)
	stateBlocked                     // the service refuses to delete it
	stateFailed                      // it could not be deleted, for a reason that is not a refusal
	stateSkipped                     // kept by the policy, gone, or not ours: nothing was sent
	stateNotAttempted                // never reached: interrupted, aborted, or its region stopped
	stateDeprecated                  // staged retention, apply: deprecated and tagged; deleted by a later run
	stateWouldDeprecate              // staged retention, plan: its DryRun ModifyImageAttribute passed
	stateRestoring                   // restore: its DryRun ModifyImageAttribute Status=Available passed; open
	stateRestored                    // restore: set back to Available and untagged
	stateToDeprecate                 // staged retention, apply: its DryRun ModifyImageAttribute passed (tag only: needs none); open
)

var stateNames = [...]string{"selected", "passed", "deprecating", "unknown", "would_delete", "deleted", "blocked", "failed", "skipped",
	"not_attempted", "deprecated", "would_deprecate", "restoring", "restored", "to_deprecate"}

func (s state) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", s)
}

// open reports whether the image has no final outcome yet.
func (s state) open() bool { return s <= stateUnknown || s == stateRestoring || s == stateToDeprecate }

// outcome is the report's outcome of a final state; "" for an open one.
func (s state) outcome() report.Outcome {
	switch s {
	case stateWouldDelete:
		return report.WouldDelete
	case stateDeleted:
		return report.Deleted
	case stateBlocked:
		return report.Blocked
	case stateFailed:
		return report.Failed
	case stateSkipped:
		return report.Skipped
	case stateNotAttempted:
		return report.NotAttempted
	case stateDeprecated:
		return report.Deprecated
	case stateWouldDeprecate:
		return report.WouldDeprecate
	case stateRestored:
		return report.Restored
	}
	return ""
}

// stateOf is the final state of a report outcome.
func stateOf(o report.Outcome) state {
	for s := stateWouldDelete; int(s) < len(stateNames); s++ {
		if s.outcome() == o {
			return s
		}
	}
	panic("runner: no state for outcome " + string(o))
}

// transitions lists, for each state, the states it may move to. Final states move only where
// later evidence beats an answer: a deletion the service still lists fails (DeleteNotConfirmed),
// and an image a service that ignored DryRun deleted is deleted after all. An unknown result
// never becomes not_attempted: a stop leaves it unknown, and the report says so.
var transitions = map[state][]state{
	stateSelected:    {statePassed, stateWouldDelete, stateBlocked, stateFailed, stateSkipped, stateNotAttempted, stateDeprecating, stateRestoring},
	stateRestoring:   {stateRestored, stateBlocked, stateFailed, stateSkipped, stateNotAttempted},
	stateDeprecating: {stateToDeprecate, stateWouldDeprecate, stateBlocked, stateFailed, stateSkipped, stateNotAttempted},
	stateToDeprecate: {stateDeprecated, stateBlocked, stateFailed, stateSkipped, stateNotAttempted},
	statePassed:      {stateDeleted, stateUnknown, stateBlocked, stateFailed, stateSkipped, stateNotAttempted},
	stateUnknown:     {stateUnknown, stateDeleted, stateBlocked, stateFailed},
	stateDeleted:     {stateFailed},
	stateFailed:      {stateDeleted},
}

func allowed(from, to state) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// move changes an image's state, with the code and message that say why, and reports whether
// it did: a transition the table does not allow (an answer that comes after a stop decided the
// image, say) changes nothing. Reaching a final state counts towards progress once and goes to
// the journal.
func (r *Runner) move(it *item, to state, code, msg string) bool {
	r.mu.Lock()
	from := it.state
	if !allowed(from, to) {
		r.mu.Unlock()
		return false
	}
	it.state, it.code, it.message = to, code, msg
	if !to.open() {
		it.inflight = false
		r.journalOutcome(it)
	}
	r.mu.Unlock()
	switch {
	case from.open() && !to.open():
		r.progress()
		r.log.Debug("outcome", zap.String("region", it.region), zap.String("image_id", it.id),
			zap.Stringer("state", to), zap.String("code", code), zap.Int("attempt", it.attempts))
	case !from.open():
		r.log.Warn("outcome overruled", zap.String("region", it.region), zap.String("image_id", it.id),
			zap.Stringer("from", from), zap.Stringer("state", to), zap.String("code", code))
	}
	return true
}
