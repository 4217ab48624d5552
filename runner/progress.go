package runner

import (
	"sync/atomic"
	"time"
)

// Progress is what a run reports as it goes: its phase, how far the phase is, how often the
// service pushed back, and how long the run has worked.
type Progress struct {
	Phase string // the step running, as the run's list of steps names it
	// Done and Total count the phase's images answered and to answer, in the phases that go
	// image by image (dry run, delete); both 0 in the others.
	Done, Total int
	Throttled   int64         // throttling answers so far, every phase and action
	Elapsed     time.Duration // since the run started, time spent at the confirmation prompt excluded
}

// phaseProgress is the run's progress, read and written from every goroutine of a phase.
type phaseProgress struct {
	name        atomic.Pointer[string]
	done, total atomic.Int64
	prompt      atomic.Int64 // nanoseconds spent waiting for the confirmation
}

// startPhase makes name the phase of the progress, with no images to count yet, and says so.
func (r *Runner) startPhase(name string) {
	r.prog.name.Store(&name)
	r.prog.done.Store(0)
	r.prog.total.Store(0)
	r.emitProgress()
}

// countPhase sets how many images the phase answers, and says so.
func (r *Runner) countPhase(total int) {
	r.prog.done.Store(0)
	r.prog.total.Store(int64(total))
	r.emitProgress()
}

// advancePhase counts one image of the phase answered.
func (r *Runner) advancePhase() {
	r.prog.done.Add(1)
	r.emitProgress()
}

// Progress returns the run's progress now.
func (r *Runner) Progress() Progress {
	p := Progress{Done: int(r.prog.done.Load()), Total: int(r.prog.total.Load()), Throttled: r.calls.throttled.Load()}
	if name := r.prog.name.Load(); name != nil {
		p.Phase = *name
	}
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	if !started.IsZero() {
		p.Elapsed = time.Since(started) - time.Duration(r.prog.prompt.Load())
	}
	return p
}

func (r *Runner) emitProgress() {
	if r.cfg.Progress != nil {
		r.cfg.Progress(r.Progress())
	}
}
