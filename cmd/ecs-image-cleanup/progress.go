package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\033[K"

// statusLine is the one line of progress on a terminal: the phase, how far it is, its rate, an
// estimate of the time left, and the throttles so far. The logger writes through it, so that the
// line is cleared before any log line; the next update draws it again. It is never used when
// stderr is not a terminal.
type statusLine struct {
	mu         sync.Mutex
	w          io.Writer
	shown      bool
	last       time.Time
	phase      string
	phaseStart time.Time
}

// Write writes a log line, clearing the status line first.
func (s *statusLine) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hide()
	return s.w.Write(p)
}

// Sync lets zap flush through the status line.
func (s *statusLine) Sync() error { return nil }

func (s *statusLine) hide() {
	if s.shown {
		_, _ = io.WriteString(s.w, clearLine)
		s.shown = false
	}
}

// clear erases the line, before a prompt or the summary.
func (s *statusLine) clear() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hide()
}

// update draws the line, at most five times a second, and at once on a new phase or at a
// phase's end.
func (s *statusLine) update(p runner.Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	newPhase := p.Phase != s.phase
	if newPhase {
		s.phase, s.phaseStart = p.Phase, now
	}
	if !newPhase && now.Sub(s.last) < 200*time.Millisecond && (p.Total == 0 || p.Done < p.Total) {
		return
	}
	s.last = now
	_, _ = io.WriteString(s.w, clearLine+progressText(p, now.Sub(s.phaseStart)))
	s.shown = true
}

// progressText words one progress report: "dry run: 120/500 images, 84/s, about 5s left, 3
// throttled, 12s".
func progressText(p runner.Progress, inPhase time.Duration) string {
	text := p.Phase
	if p.Total > 0 {
		text += fmt.Sprintf(": %d/%d images", p.Done, p.Total)
		if secs := inPhase.Seconds(); secs > 0.5 && p.Done > 0 {
			rate := float64(p.Done) / secs
			left := time.Duration(float64(p.Total-p.Done) / rate * float64(time.Second))
			text += fmt.Sprintf(", %.0f/s, about %s left", rate, left.Round(time.Second))
		}
	}
	return text + fmt.Sprintf(", %d throttled, %s", p.Throttled, p.Elapsed.Round(time.Second))
}

// progressEvents logs an info event "progress" at every change of phase and every interval
// while the run goes, for logs that no person watches. stop ends the ticker.
func progressEvents(log *zap.Logger, interval time.Duration, now func() runner.Progress) (onProgress func(runner.Progress), stop func()) {
	var mu sync.Mutex
	phase := ""
	emit := func(p runner.Progress) {
		log.Info("progress", zap.String("phase", p.Phase), zap.Int("done", p.Done), zap.Int("total", p.Total),
			zap.Int64("throttled", p.Throttled), zap.Duration("elapsed", p.Elapsed))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				emit(now())
			case <-done:
				return
			}
		}
	})
	onProgress = func(p runner.Progress) {
		mu.Lock()
		changed := p.Phase != phase
		phase = p.Phase
		mu.Unlock()
		if changed {
			emit(p)
		}
	}
	return onProgress, func() { close(done); wg.Wait() }
}
