package runner

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// adaptiveLimiter paces one region's calls of one action. Throttling limits are per account,
// region and API, and the service does not publish them, so the limiter learns them from the
// answers, one window at a time. It starts open (the concurrency limit alone bounds the job).
// When the share of throttled answers in a window rises clearly above the background (the
// share of a calm recent window: throttles that come whatever the pace), it was sending too
// fast, and it drops to the rate the service let through, a little under. Otherwise, if the
// pace was what held the calls back, it climbs a few percent a window, one percent a window
// for a while once it nears the rate of the last cut, and doubles while it is far below the
// rate the service has already taken calmly. A window where most answers are throttles is
// decided at once, so an open start costs a few dozen throttles, not a second of them; under
// a throttle of every answer the pace falls to Min. Answers to requests sent before a
// decision are not counted after it: they were sent at the old pace.
type adaptiveLimiter struct {
	mu  sync.Mutex
	lim *rate.Limiter
	now func() time.Time
	cfg RateConfig

	open bool    // no cut yet: no pacing
	cur  float64 // pace in requests/s when not open
	peak float64 // the highest rate answered in a calm window

	ceiling float64 // the rate the service took at the last cut
	probes  int     // calm windows spent edging up past the ceiling

	window        uint64    // the current window's number
	start         time.Time // the window's first send or answer; zero between windows
	last          time.Time // the latest send or answer
	sent, ok, thr int       // sends and answers in the current window
	history       []float64 // throttled shares of recent windows, oldest first
}

// RateConfig tunes the adaptive limiter. Zero fields take the defaults.
type RateConfig struct {
	Max    float64       // requests/s never exceeded; 0 = no fixed ceiling
	Min    float64       // floor under total throttling; default 1
	Window time.Duration // how long answers are gathered before a decision; default 1s
	Grow   float64       // growth per calm window, as a share of the pace; default 0.05
}

const (
	minAnswers     = 10   // a window with fewer answers decides nothing yet...
	maxWindows     = 5    // ...unless it has lasted this many windows
	heavyThrottles = 8    // this many throttles, and most answers, decide a window early...
	heavyCut       = 4    // ...and cut the pace at most this many times
	minMargin      = 0.01 // throttled share above the background that means "too fast"...
	sigmas         = 3    // ...or this many standard errors of the background, if more
	historySize    = 10   // windows remembered for the background share
	minHistory     = 3    // windows needed before the background is trusted
	headroom       = 0.97 // aim this much under the rate that went through
	paceBound      = 0.8  // a window sending at this share of the pace was held back by it
	slowStart      = 16   // below this pace (requests/s), calm windows double it
	probeGrow      = 0.01 // growth per calm window near the ceiling...
	probeWindows   = 10   // ...for this many windows, then Grow again
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
	return max(1, int(r/20))
}

// Wait blocks until a request may be sent or ctx ends, and returns the window the request is
// sent in, to be given back with its answer.
func (l *adaptiveLimiter) Wait(ctx context.Context) (uint64, error) {
	l.mu.Lock()
	l.touch(l.now()) // time spent waiting for the pace belongs to the window
	l.mu.Unlock()
	if err := l.lim.Wait(ctx); err != nil {
		return 0, err
	}
	return l.noteSent(), nil
}

func (l *adaptiveLimiter) noteSent() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.touch(l.now())
	l.sent++
	return l.window
}

// touch starts a window at the first event after a decision, and starts it afresh after a
// pause of a window or more (and more than a few requests' time at the pace): time with
// nothing to send says nothing of the service.
func (l *adaptiveLimiter) touch(now time.Time) {
	idle := l.cfg.Window
	if !l.open {
		idle = max(idle, time.Duration(3/l.cur*float64(time.Second)))
	}
	if l.start.IsZero() || now.Sub(l.last) >= idle {
		l.start, l.sent, l.ok, l.thr = now, 0, 0, 0
	}
	l.last = now
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

// Throttled records a throttling answer to a request sent in window w.
func (l *adaptiveLimiter) Throttled(w uint64) { l.record(w, true) }

// Succeeded records an answer that was not a throttle to a request sent in window w.
func (l *adaptiveLimiter) Succeeded(w uint64) { l.record(w, false) }

func (l *adaptiveLimiter) record(w uint64, throttled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w != l.window {
		return // sent at the pace before the last decision: it tells nothing of the new one
	}
	now := l.now()
	l.touch(now)
	if throttled {
		l.thr++
	} else {
		l.ok++
	}
	n := l.ok + l.thr
	elapsed := now.Sub(l.start)
	heavy := l.thr >= heavyThrottles && 2*l.thr > n
	full := elapsed >= l.cfg.Window && (n >= minAnswers || elapsed >= maxWindows*l.cfg.Window)
	if !heavy && !full {
		return
	}
	secs := max(elapsed.Seconds(), 1e-3)
	share := float64(l.thr) / float64(n)
	answered := float64(l.ok) / secs
	background := l.background()
	margin := max(minMargin, sigmas*math.Sqrt(background*(1-background)/float64(n)))
	calm := !heavy && share <= background+margin
	switch {
	case !calm:
		// What went through is what the service allows. A window decided early is short and
		// its count small, so it cuts at most fourfold: the next one will tell more.
		target := answered / (1 - background) * headroom
		if len(l.history) >= minHistory {
			// Only a known background tells a limit from noise; until then, no ceiling.
			l.ceiling, l.probes = answered/(1-background), 0
		}
		if heavy {
			target = max(target, float64(max(l.sent, n))/secs/heavyCut)
		}
		l.set(target)
	case !l.open && float64(l.sent)/secs >= paceBound*l.cur:
		grow := 1 + l.cfg.Grow
		switch {
		case l.cur < l.peak/2 || l.cur < slowStart:
			grow = 2 // far below what the service took before, or crawling: climb back fast
		case l.ceiling > 0 && l.cur*grow > l.ceiling && l.probes < probeWindows:
			grow = 1 + probeGrow // near where the last cut was: edge up
			l.probes++
		}
		l.set(l.cur * grow)
	}
	if !heavy {
		// Early windows are all over the limit: they tell nothing of the background.
		l.history = append(l.history, share)
		if len(l.history) > historySize {
			l.history = l.history[1:]
		}
		if calm {
			l.peak = max(l.peak, answered)
		}
	}
	l.window++
	l.start, l.sent, l.ok, l.thr = time.Time{}, 0, 0, 0
}

// background is the throttled share of the recent windows at their first quartile, capped:
// low enough that windows over the limit do not raise it, high enough that random throttles
// seldom look like a limit; and beyond the cap, throttling is the answer to the pace, not noise.
func (l *adaptiveLimiter) background() float64 {
	if len(l.history) == 0 {
		return 0
	}
	h := slices.Sorted(slices.Values(l.history))
	return min(maxBackground, h[len(h)/4])
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
