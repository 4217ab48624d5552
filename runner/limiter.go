package runner

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// adaptiveLimiter paces one region's calls of one action. It starts open (the concurrency limit
// alone bounds the job) and learns the service's limit from its throttling answers: on a
// throttle it drops to a fraction of the rate it was actually sending at, then climbs back
// additively while answers come back clean (AIMD, as TCP does). Throttling limits are per account,
// region and API, so each (region, action) pair has its own.
type adaptiveLimiter struct {
	mu       sync.Mutex
	lim      *rate.Limiter
	now      func() time.Time
	cfg      RateConfig
	open     bool      // no throttle seen yet: no pacing
	cur      float64   // current rate, requests/s, when not open
	lastCut  time.Time // last multiplicative decrease
	lastGrow time.Time // last additive increase
	sent     window    // requests sent, for the rate actually achieved
}

// RateConfig tunes the adaptive limiter. Zero fields take the defaults.
type RateConfig struct {
	Max      float64       // requests/s never exceeded; 0 = no fixed ceiling
	Min      float64       // floor under total throttling; default 1
	Decrease float64       // multiplicative factor on a throttle; default 0.7
	Increase float64       // additive growth per second, as a share of the current rate; default 0.05
	Cooldown time.Duration // at most one decrease per cooldown, so one burst of throttles counts once; default 500ms
}

func (c RateConfig) withDefaults() RateConfig {
	if c.Min <= 0 {
		c.Min = 1
	}
	if c.Decrease <= 0 || c.Decrease >= 1 {
		c.Decrease = 0.7
	}
	if c.Increase <= 0 {
		c.Increase = 0.05
	}
	if c.Cooldown <= 0 {
		c.Cooldown = 500 * time.Millisecond
	}
	return c
}

func newAdaptiveLimiter(cfg RateConfig, now func() time.Time) *adaptiveLimiter {
	cfg = cfg.withDefaults()
	l := &adaptiveLimiter{cfg: cfg, now: now, open: cfg.Max <= 0}
	if l.open {
		l.lim = rate.NewLimiter(rate.Inf, 1)
	} else {
		l.cur = cfg.Max
		l.lim = rate.NewLimiter(rate.Limit(cfg.Max), burstFor(cfg.Max))
	}
	return l
}

func burstFor(r float64) int {
	b := int(r / 20)
	if b < 1 {
		b = 1
	}
	return b
}

// Wait blocks until a request may be sent or ctx ends.
func (l *adaptiveLimiter) Wait(ctx context.Context) error {
	if err := l.lim.Wait(ctx); err != nil {
		return err
	}
	l.mu.Lock()
	l.sent.add(l.now())
	l.mu.Unlock()
	return nil
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
func (l *adaptiveLimiter) Throttled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.lastCut.IsZero() && now.Sub(l.lastCut) < l.cfg.Cooldown {
		return
	}
	base := l.cur
	if achieved := l.sent.rate(now); l.open || achieved < base {
		base = achieved
	}
	l.open = false
	l.set(base * l.cfg.Decrease)
	l.lastCut, l.lastGrow = now, now
}

// Succeeded records an answer that was not a throttle.
func (l *adaptiveLimiter) Succeeded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open {
		return
	}
	now := l.now()
	dt := now.Sub(l.lastGrow).Seconds()
	if dt < 0.1 {
		return
	}
	l.lastGrow = now
	l.set(l.cur * (1 + l.cfg.Increase*dt))
}

func (l *adaptiveLimiter) set(r float64) {
	if r < l.cfg.Min {
		r = l.cfg.Min
	}
	if l.cfg.Max > 0 && r > l.cfg.Max {
		r = l.cfg.Max
	}
	l.cur = r
	l.lim.SetLimit(rate.Limit(r))
	l.lim.SetBurst(burstFor(r))
}

// window counts events over the last second in ten buckets of 100 ms.
type window struct {
	buckets [10]int
	last    int64 // index (unix time in 100 ms units) of the newest bucket
}

func (w *window) advance(t time.Time) int64 {
	idx := t.UnixMilli() / 100
	if gap := idx - w.last; gap > 0 {
		if gap > int64(len(w.buckets)) {
			gap = int64(len(w.buckets))
		}
		for i := int64(1); i <= gap; i++ {
			w.buckets[(w.last+i)%int64(len(w.buckets))] = 0
		}
		w.last = idx
	}
	return idx
}

func (w *window) add(t time.Time) {
	idx := w.advance(t)
	w.buckets[idx%int64(len(w.buckets))]++
}

// rate is the events per second over the last second.
func (w *window) rate(t time.Time) float64 {
	w.advance(t)
	n := 0
	for _, c := range w.buckets {
		n += c
	}
	return float64(n)
}
