package runner

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestAdaptiveLimiterStartsOpenAndCutsOnThrottle(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newAdaptiveLimiter(RateConfig{}, clk.now)
	if l.Rate() != 0 {
		t.Fatalf("a new limiter paces at %v, want open", l.Rate())
	}
	// 300 requests in the last second, then a throttle: the pace drops below what was sent.
	for i := 0; i < 300; i++ {
		l.sent.add(clk.t.Add(-time.Duration(i) * 3 * time.Millisecond))
	}
	l.Throttled()
	if got := l.Rate(); got < 150 || got > 300*0.7+1 {
		t.Fatalf("after a throttle at 300/s the pace is %v, want about 210", got)
	}
	first := l.Rate()
	// More throttles within the cooldown count once.
	l.Throttled()
	l.Throttled()
	if l.Rate() != first {
		t.Fatalf("throttles within the cooldown cut again: %v -> %v", first, l.Rate())
	}
	// Clean answers make it climb back, a little per second.
	for i := 0; i < 20; i++ {
		clk.t = clk.t.Add(500 * time.Millisecond)
		l.Succeeded()
	}
	if l.Rate() <= first {
		t.Fatalf("clean answers did not raise the pace: %v", l.Rate())
	}
}

func TestAdaptiveLimiterFloorUnderTotalThrottling(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newAdaptiveLimiter(RateConfig{Max: 500}, clk.now)
	for i := 0; i < 100; i++ {
		clk.t = clk.t.Add(time.Second)
		l.Throttled()
	}
	if got := l.Rate(); got != 1 {
		t.Fatalf("under total throttling the pace is %v/s, want the floor of 1/s", got)
	}
	for i := 0; i < 1000; i++ {
		clk.t = clk.t.Add(time.Second)
		l.Succeeded()
	}
	if got := l.Rate(); got != 500 {
		t.Fatalf("the pace climbed to %v, want it capped at Max 500", got)
	}
}
