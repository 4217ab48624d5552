package runner

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// adaptiveLimiter paces one region's calls of one action. Throttling limits are per account,
// region and API, and the service does not publish them, so the limiter learns them: it starts
// open (the concurrency limit alone bounds the job) and looks at the answers one window at a
// time. When the share of throttled answers in a window rises above the share it has seen at its
// calmest (the background of throttles that come whatever the pace), it was sending too fast:
// it drops to the rate that would have gone through, a little under. Otherwise it climbs back
// a few percent a window. Under a throttle of every answer the pace falls fourfold a window,
// down to Min.
type adaptiveLimiter struct {
	mu  sync.Mutex
	lim *rate.Limiter
	now func() time.Time
	cfg RateConfig

	open    bool    // no cut yet: no pacing
	cur     float64 // pace in requests/s when not open
	start   time.Time
	ok, thr int       // answers in the current window
	history []float64 // throttled shares of recent windows, oldest first
}

// RateConfig tunes the adaptive limiter. Zero fields take the defaults.
type RateConfig struct {
	Max    float64       // requests/s never exceeded; 0 = no fixed ceiling
	Min    float64       // floor under total throttling; default 1
	Window time.Duration // how long answers are gathered before a decision; default 1s
	Grow   float64       // growth per calm window, as a share of the pace; default 0.05
}

const (
	minAnswers  = 10   // a window with fewer answers decides nothing yet
	cutMargin   = 0.03 // throttled share above the background that means "too fast"
	historySize = 10   // windows remembered for the background share
	headroom    = 0.97 // aim this much under the rate that went through
	// maxBackground caps the throttled share taken for noise.
	maxBackground = 0.25
)

func (c RateConfig) withDefaults() RateConfig {
	if c.Min <= 0 {
		c.Min = 1
	}
	if c.Window <= 0 {
		c.Window = time.Second
	}
	if c.Grow <= 0 {
		c.Grow = 0.05
	}
	return c
}

func newAdaptiveLimiter(cfg RateConfig, now func() time.Time) *adaptiveLimiter {
	cfg = cfg.withDefaults()
	l := &adaptiveLimiter{cfg: cfg, now: now, open: cfg.Max <= 0, start: now()}
	if l.open {
		l.lim = rate.NewLimiter(rate.Inf, 1)
	} else {
		l.cur = cfg.Max
		l.lim = rate.NewLimiter(rate.Limit(cfg.Max), burstFor(cfg.Max))
	}
	return l
}

func burstFor(r float64) int {
	return max(1, int(r/20))
}

// Wait blocks until a request may be sent or ctx ends.
func (l *adaptiveLimiter) Wait(ctx context.Context) error {
	return l.lim.Wait(ctx)
}

// Rate is the current pace in requests/s; 0 means unpaced.
func (l *adaptiveLimiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open {
		return 0
	}
	return l.cur
}

// Throttled records a throttling answer.
func (l *adaptiveLimiter) Throttled() { l.record(true) }

// Succeeded records an answer that was not a throttle.
func (l *adaptiveLimiter) Succeeded() { l.record(false) }

func (l *adaptiveLimiter) record(throttled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if throttled {
		l.thr++
	} else {
		l.ok++
	}
	now := l.now()
	elapsed := now.Sub(l.start)
	n := l.ok + l.thr
	if elapsed < l.cfg.Window || (n < minAnswers && l.thr < n) {
		return
	}
	share := float64(l.thr) / float64(n)
	achieved := float64(n) / elapsed.Seconds()
	// The background is the share seen at the calmest recent window, but never more than a
	// quarter: beyond that, throttling is the answer to the pace, not noise.
	background := 0.0
	if len(l.history) > 0 {
		background = l.history[0]
		for _, s := range l.history[1:] {
			background = min(background, s)
		}
	}
	background = min(background, maxBackground)
	switch {
	case share > background+cutMargin:
		// What went through, less the background, is what the service allows.
		l.set(achieved * (1 - (share - background)) * headroom)
	case !l.open:
		l.set(l.cur * (1 + l.cfg.Grow))
	}
	l.history = append(l.history, share)
	if len(l.history) > historySize {
		l.history = l.history[1:]
	}
	l.start, l.ok, l.thr = now, 0, 0
}

func (l *adaptiveLimiter) set(r float64) {
	r = max(r, l.cfg.Min)
	if l.cfg.Max > 0 {
		r = min(r, l.cfg.Max)
	}
	l.open = false
	l.cur = r
	l.lim.SetLimit(rate.Limit(r))
	l.lim.SetBurst(burstFor(r))
}
