package runner

import (
	"math/rand/v2"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// service is a simulated region: a token bucket of limit requests/s (burst limit/10, as the
// emulator's), and a background share of answers throttled whatever the pace, after the
// request took its token.
type service struct {
	limit, tokens, background float64
	rng                       *rand.Rand
}

// answer reports whether one request sent now is throttled; it is called once per simulated
// millisecond with the requests of that millisecond.
func (s *service) answer() bool {
	if s.limit > 0 {
		if s.tokens < 1 {
			return true
		}
		s.tokens--
	}
	return s.rng.Float64() < s.background
}

func (s *service) tick() {
	s.tokens = min(s.tokens+s.limit/1000, max(1, s.limit/10))
}

// simulate runs the limiter against svc for d, one millisecond at a time, sending as fast as
// the pace allows (up to demand requests/s when open), and returns the answered and throttled
// counts per simulated second.
func simulate(l *adaptiveLimiter, clk *fakeClock, svc *service, d time.Duration, demand float64) (answered, throttled []int) {
	credit := 0.0
	for ms := 0; ms < int(d/time.Millisecond); ms++ {
		if ms%1000 == 0 {
			answered, throttled = append(answered, 0), append(throttled, 0)
		}
		clk.t = clk.t.Add(time.Millisecond)
		svc.tick()
		pace := l.Rate()
		if pace == 0 {
			pace = demand
		}
		credit = min(credit+min(pace, demand)/1000, max(1, pace/20))
		for ; credit >= 1; credit-- {
			w := l.noteSent()
			s := len(answered) - 1
			if svc.answer() {
				throttled[s]++
				l.Throttled(w)
			} else {
				answered[s]++
				l.Succeeded(w)
			}
		}
	}
	return answered, throttled
}

// sums adds the counts from second from on.
func sums(answered, throttled []int, from int) (a, t int) {
	for s := from; s < len(answered); s++ {
		a += answered[s]
		t += throttled[s]
	}
	return a, t
}

func newSim(limit, background float64, cfg RateConfig) (*adaptiveLimiter, *fakeClock, *service) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	svc := &service{limit: limit, tokens: max(1, limit/10), background: background, rng: rand.New(rand.NewPCG(1, 2))}
	return newAdaptiveLimiter(cfg, clk.now), clk, svc
}

func TestAdaptiveLimiterSettlesUnderARealLimit(t *testing.T) {
	for _, limit := range []float64{20, 50, 200, 1000} {
		l, clk, svc := newSim(limit, 0, RateConfig{})
		if l.Rate() != 0 {
			t.Fatalf("a new limiter paces at %v, want open", l.Rate())
		}
		ans, thr := simulate(l, clk, svc, 5*time.Minute, 5000)
		a, th := sums(ans, thr, 3)
		rate := float64(a) / float64(len(ans)-3)
		share := float64(th) / float64(a+th)
		t.Logf("limit %.0f/s: answered %.1f/s after the first 3 s, %.2f%% throttled; first seconds %v / %v", limit, rate, 100*share, ans[:3], thr[:3])
		if rate < 0.9*limit || rate > 1.01*limit { // the bucket's burst lets a little over through
			t.Errorf("limit %.0f/s: settled at %.1f answered/s", limit, rate)
		}
		if share > 0.02 {
			t.Errorf("limit %.0f/s: %.2f%% of requests throttled after the first seconds, want under 2%%", limit, 100*share)
		}
		// Learning costs a few dozen throttles whatever the limit: under 2% of five minutes'
		// requests from 50/s up.
		a, th = sums(ans, thr, 0)
		if all := float64(th) / float64(a+th); all > 0.02 && limit >= 50 {
			t.Errorf("limit %.0f/s: %.2f%% throttled over the whole run, learning included", limit, 100*all)
		}
	}
}

func TestAdaptiveLimiterIgnoresBackgroundThrottling(t *testing.T) {
	// 10% of answers are throttles whatever the pace: slowing down would not help.
	l, clk, svc := newSim(0, 0.10, RateConfig{Max: 300})
	simulate(l, clk, svc, 30*time.Second, 5000)
	if got := l.Rate(); got < 250 {
		t.Fatalf("random 10%% throttling drove the pace down to %.0f/s", got)
	}
	// The same on top of a real limit: the job still gets the limit's worth through.
	l, clk, svc = newSim(200, 0.10, RateConfig{})
	ans, thr := simulate(l, clk, svc, 5*time.Minute, 5000)
	a, th := sums(ans, thr, 5)
	took := float64(a+th-th) / float64(len(ans)-5) / 0.9 // requests that took a token
	t.Logf("limit 200/s, 10%% background: %.1f answered/s, %.1f tokens/s taken", float64(a)/float64(len(ans)-5), took)
	if took < 0.9*200 {
		t.Errorf("with a 10%% background the job used %.0f of the 200 requests/s the service allows", took)
	}
}

func TestAdaptiveLimiterFloorUnderTotalThrottling(t *testing.T) {
	l, clk, svc := newSim(0, 1, RateConfig{Max: 500})
	ans, thr := simulate(l, clk, svc, 20*time.Second, 5000)
	if got := l.Rate(); got != 1 {
		t.Fatalf("under total throttling the pace is %v/s, want the floor of 1/s", got)
	}
	for s := 5; s < len(ans); s++ {
		if n := ans[s] + thr[s]; n > 2 {
			t.Errorf("second %d: %d requests under total throttling, want at most 1 (a burst of 2)", s, n)
		}
	}
	// The throttling ends: the pace climbs back to Max.
	svc.background = 0
	simulate(l, clk, svc, 120*time.Second, 5000)
	if got := l.Rate(); got != 500 {
		t.Fatalf("the pace climbed to %v after the throttling ended, want Max 500", got)
	}
}
