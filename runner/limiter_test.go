package runner

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// feed records one window of answers at rate perSecond, with the given throttled share.
func feed(l *adaptiveLimiter, clk *fakeClock, perSecond int, share float64) {
	step := time.Second / time.Duration(perSecond)
	thr := int(float64(perSecond) * share)
	for i := 0; i < perSecond; i++ {
		clk.t = clk.t.Add(step)
		if i < thr {
			l.Throttled()
		} else {
			l.Succeeded()
		}
	}
}

func TestAdaptiveLimiterSettlesUnderARealLimit(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newAdaptiveLimiter(RateConfig{}, clk.now)
	if l.Rate() != 0 {
		t.Fatalf("a new limiter paces at %v, want open", l.Rate())
	}
	const limit = 200.0
	// Sending at 400/s into a 200/s limit: half the answers are throttles.
	sendAt := 400.0
	for i := 0; i < 60; i++ {
		share := 0.0
		if sendAt > limit {
			share = (sendAt - limit) / sendAt
		}
		feed(l, clk, int(sendAt), share)
		sendAt = l.Rate()
	}
	if got := l.Rate(); got < 0.85*limit || got > 1.06*limit {
		t.Fatalf("settled at %.0f/s under a %.0f/s limit", got, limit)
	}
}

func TestAdaptiveLimiterIgnoresBackgroundThrottling(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newAdaptiveLimiter(RateConfig{Max: 300}, clk.now)
	// 10% of answers are throttles whatever the pace: slowing down would not help.
	for i := 0; i < 30; i++ {
		feed(l, clk, max(int(l.Rate()), 10), 0.10)
	}
	if got := l.Rate(); got < 250 {
		t.Fatalf("random 10%% throttling drove the pace down to %.0f/s", got)
	}
}

func TestAdaptiveLimiterFloorUnderTotalThrottling(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newAdaptiveLimiter(RateConfig{Max: 500}, clk.now)
	// Every answer a throttle, sent at the pace the limiter allows.
	for i := 0; i < 40; i++ {
		feed(l, clk, max(int(l.Rate()), 1), 1)
	}
	if got := l.Rate(); got != 1 {
		t.Fatalf("under total throttling the pace is %v/s, want the floor of 1/s", got)
	}
	for i := 0; i < 300; i++ {
		feed(l, clk, max(int(l.Rate()), 10), 0)
	}
	if got := l.Rate(); got != 500 {
		t.Fatalf("the pace climbed to %v, want it capped at Max 500", got)
	}
}
