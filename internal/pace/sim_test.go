package pace

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The simulation: a fake clock stepped a millisecond at a time, a service that is a token bucket
// of limit requests/s (burst limit/10, as the emulator's) with a share of answers throttled
// whatever the pace, answers that come latency after their request, and a sender that sends
// whenever the pace allows, up to demand requests/s.

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

type service struct {
	limit, tokens, background float64
	outage                    bool // every answer a throttle
	rng                       *rand.Rand
}

func (s *service) answer() bool {
	if s.outage {
		return true
	}
	if s.limit > 0 {
		if s.tokens < 1 {
			return true
		}
		s.tokens--
	}
	return s.rng.Float64() < s.background
}

func (s *service) tick() {
	if s.limit > 0 {
		s.tokens = min(s.tokens+s.limit/1000, max(1, s.limit/10))
	}
}

type inflight struct {
	due       int
	ticket    Ticket
	throttled bool
}

type sim struct {
	p       *Pacer
	clk     *fakeClock
	svc     *service
	latency int     // ms
	demand  float64 // requests/s the sender can make; 0 = none (stalled)
	conc    int     // requests in flight at most, as the job's concurrency; 0 = no bound
	total   int     // answers so far
	ms      int
	credit  float64
	queue   []inflight
	// per simulated second
	answered, throttled []int
	paces               []float64 // the pace at the end of each second
}

func newSim(limit, background float64, cfg Config) *sim {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	svc := &service{limit: limit, tokens: max(1, limit/10), background: background, rng: rand.New(rand.NewPCG(1, 2))}
	return &sim{p: New(cfg, clk.now), clk: clk, svc: svc, latency: 5, demand: 100000}
}

// run advances the simulation by d.
func (s *sim) run(d time.Duration) {
	for end := s.ms + int(d/time.Millisecond); s.ms < end; s.ms++ {
		if s.ms%1000 == 0 {
			s.answered, s.throttled = append(s.answered, 0), append(s.throttled, 0)
		}
		s.clk.t = s.clk.t.Add(time.Millisecond)
		s.svc.tick()
		sec := len(s.answered) - 1
		for len(s.queue) > 0 && s.queue[0].due <= s.ms {
			a := s.queue[0]
			s.queue = s.queue[1:]
			s.total++
			if a.throttled {
				s.throttled[sec]++
				s.p.Throttled(a.ticket)
			} else {
				s.answered[sec]++
				s.p.Succeeded(a.ticket)
			}
		}
		s.credit = min(s.credit+s.demand/1000, max(1, s.demand/100))
		for s.credit >= 1 && (s.conc == 0 || len(s.queue) < s.conc) {
			s.p.mu.Lock()
			wait, w := s.p.reserve(s.clk.t)
			s.p.mu.Unlock()
			if wait > 0 {
				break
			}
			s.credit--
			s.queue = append(s.queue, inflight{due: s.ms + s.latency, ticket: Ticket{window: w, sent: s.clk.t}, throttled: s.svc.answer()})
		}
		if s.ms%1000 == 999 {
			s.paces = append(s.paces, s.p.Rate())
		}
	}
}

// sums adds the counts of seconds [from, to).
func (s *sim) sums(from, to int) (a, t int) {
	for i := from; i < to && i < len(s.answered); i++ {
		a += s.answered[i]
		t += s.throttled[i]
	}
	return a, t
}

var limits = []float64{20, 50, 200, 1000}

// TestGrowthIsOneCurve: the slow start grows by held-back time in whatever steps it is
// measured (the pace is brought up to date at each Wait and answer), through each of its
// stages; and above slowWindow requests a round trip, doubling the pace takes longer the
// larger it is.
func TestGrowthIsOneCurve(t *testing.T) {
	for _, rtt := range []time.Duration{0, 5 * time.Millisecond, 100 * time.Millisecond} {
		for _, total := range []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second} {
			once := grow(50, total, rtt)
			stepped := 50.0
			for range 1000 {
				stepped = grow(stepped, total/1000, rtt)
			}
			if math.Abs(stepped-once) > 1e-6*once {
				t.Errorf("round trip %s, %s held back: %.3f/s in one step, %.3f/s in 1000", rtt, total, once, stepped)
			}
		}
	}
	const rtt = 100 * time.Millisecond
	doubleFrom := func(r float64) time.Duration { // held-back time for the pace to double from r
		lo, hi := time.Duration(0), time.Minute
		for hi-lo > time.Microsecond {
			if mid := (lo + hi) / 2; grow(r, mid, rtt) >= 2*r {
				hi = mid
			} else {
				lo = mid
			}
		}
		return hi
	}
	w0 := slowWindow / rtt.Seconds()
	if a, b := doubleFrom(w0), doubleFrom(2*w0); b < 3*a || b > 5*a {
		t.Errorf("doubling from %.0f/s takes %s, from %.0f/s %s: want about 4 times as long (dW/dt ~ 1/W)", w0, a, 2*w0, b)
	}
}

func TestSettlesUnderALimit(t *testing.T) {
	for _, limit := range limits {
		s := newSim(limit, 0, Config{})
		s.run(2 * time.Minute)
		const learnt = 30
		_, learning := s.sums(0, learnt)
		a, th := s.sums(learnt, len(s.answered))
		rate := float64(a) / float64(len(s.answered)-learnt)
		share := float64(th) / float64(a+th)
		t.Logf("limit %.0f/s: %d throttles in the first %d s; then %.1f answered/s, %.2f%% throttled; first seconds %v / %v",
			limit, learning, learnt, rate, 100*share, s.answered[:8], s.throttled[:8])
		if rate < 0.95*limit || rate > 1.01*limit {
			t.Errorf("limit %.0f/s: settled at %.1f answered/s", limit, rate)
		}
		if share > 0.01 {
			t.Errorf("limit %.0f/s: %.2f%% throttled after learning, want at most 1%%", limit, 100*share)
		}
	}
}

// TestLearnsWithFewThrottles: a cold Pacer finds a limit within 20% with at most 20 throttles,
// at answer latencies of 5, 50 and 100 ms, with the job's default concurrency (8), 64, or a
// sender never short of requests, for each limit the concurrency can reach.
// BenchmarkLearningCost gives the table.
func TestLearnsWithFewThrottles(t *testing.T) {
	for _, tc := range []struct{ latency, conc int }{{5, 0}, {5, 8}, {50, 8}, {50, 64}, {50, 0}, {100, 8}, {100, 64}, {100, 0}} {
		for _, limit := range limits {
			if limit > reachable(tc.conc, tc.latency) {
				continue
			}
			s := newSim(limit, 0, Config{})
			s.latency, s.conc = tc.latency, tc.conc
			n, ms := s.learn(t)
			t.Logf("latency %d ms, concurrency %d, limit %.0f/s: learnt %.1f/s after %d ms and %d throttles", tc.latency, tc.conc, limit, s.p.ceiling, ms, n)
			if n > 20 || s.p.ceiling < 0.8*limit || s.p.ceiling > 1.2*limit {
				t.Errorf("latency %d ms, concurrency %d, limit %.0f/s: learnt %.1f/s with %d throttles, want within 20%% and at most 20",
					tc.latency, tc.conc, limit, s.p.ceiling, n)
			}
		}
	}
}

// TestFirstCeilingIsMeasuredOnTheAnswersInFlight: a slow start that decides its first limit a
// few answers after its first throttle (with at least coldWindow requests a round trip in
// flight) measures the ceiling again on the answers still in flight then, all sent above the
// limit, before the pace climbs back: at 200/s, the cut finds 5% under to 7% over the limit
// at 50-100 ms, and the answers in flight within 1%. With fewer in flight (5 ms, up to
// 200/s) the slow start decides as later, and the cut's measure stands.
func TestFirstCeilingIsMeasuredOnTheAnswersInFlight(t *testing.T) {
	for _, latency := range []int{5, 50, 75, 100} {
		for _, limit := range limits {
			s := newSim(limit, 0, Config{})
			s.latency = latency
			var first float64
			s.p.cfg.OnCut = func(ceiling, _ float64, _ bool) {
				if first == 0 {
					first = ceiling
				}
			}
			for first == 0 {
				s.run(time.Millisecond)
			}
			s.run(time.Duration(2*latency) * time.Millisecond) // the answers in flight, then the first sent after the cut
			got := s.p.ceiling
			t.Logf("latency %d ms, limit %.0f/s: the cut found %.1f/s, the answers in flight %.1f/s", latency, limit, first, got)
			switch {
			case latency == 5 && limit <= 200 && got != first:
				t.Errorf("latency %d ms, limit %.0f/s: the cut found %.1f/s, then %.1f/s", latency, limit, first, got)
			case limit == 200 && latency > 5 && math.Abs(got-limit) > 0.01*limit:
				t.Errorf("latency %d ms, limit 200/s: the first ceiling is %.1f/s once the answers in flight are in, want within 1%%", latency, got)
			case math.Abs(got-limit) > 0.2*limit:
				t.Errorf("latency %d ms, limit %.0f/s: the first ceiling is %.1f/s", latency, limit, got)
			}
		}
	}
}

// TestAColdStartTellsNoiseFromALimit: the first limit is decided on the few answers after the
// slow start's first throttle, against the background the answers before it allow; a service
// throttling 10% of answers at random, with no limit, fools it in few cold starts: at 50 ms
// with 64 in flight, 4 of 100 cut in their first 3 s, as many as without that rule, and 88
// of 100 if it took the background for none.
func TestAColdStartTellsNoiseFromALimit(t *testing.T) {
	const runs = 100
	fooled := 0
	for seed := range uint64(runs) {
		s := newSim(0, 0.10, Config{})
		s.latency, s.conc = 50, 64
		s.svc.rng = rand.New(rand.NewPCG(seed, 11))
		cut := false
		s.p.cfg.OnCut = func(float64, float64, bool) { cut = true }
		for s.ms < 3000 && !cut {
			s.run(time.Millisecond)
		}
		if cut {
			fooled++
		}
	}
	t.Logf("a 10%% random background with no limit: %d cold starts of %d cut in their first 3 s", fooled, runs)
	if fooled > runs/10 {
		t.Errorf("a 10%% random background with no limit: %d cold starts of %d cut in their first 3 s, want at most %d", fooled, runs, runs/10)
	}
}

// reachable is the most a sender can have answered per second with conc requests in flight at
// latency ms, 90% of conc/latency; no bound if conc is 0.
func reachable(conc, latency int) float64 {
	if conc == 0 {
		return math.Inf(1)
	}
	return 0.9 * float64(conc) * 1000 / float64(latency)
}

// TestConcurrencyBoundIsNotHeldBack: a job whose concurrency, not its pace, bounds what it
// sends is not held back by the pace, so the slow start does not grow past what it sends; had
// it grown, the pace would say nothing of the rate, and a limit under the concurrency's rate
// would be met by a pace far above it. Then, at a limit of 1000/s under the concurrency's
// 1600/s, the job settles at the limit, throttled under 1%.
func TestConcurrencyBoundIsNotHeldBack(t *testing.T) {
	s := newSim(0, 0, Config{})
	s.conc = 8 // 5 ms: 1600 requests/s at most
	s.run(10 * time.Second)
	if got := s.p.Rate(); got > 1.25*1600 {
		t.Errorf("a job held to 1600 requests/s by its concurrency: the pace grew to %.0f/s", got)
	}
	s = newSim(1000, 0, Config{})
	s.conc = 8
	s.run(30 * time.Second)
	a, th := s.sums(10, 30)
	t.Logf("limit 1000/s, concurrency 8 at 5 ms: %.1f answered/s, %.2f%% throttled; paces %v", float64(a)/20, 100*float64(th)/float64(a+th), s.paces[:5])
	if float64(a)/20 < 0.95*1000 || float64(th)/float64(a+th) > 0.01 {
		t.Errorf("limit 1000/s under the concurrency's 1600/s: %.1f answered/s, %.2f%% throttled", float64(a)/20, 100*float64(th)/float64(a+th))
	}
}

func TestRecoversAfterAnOutage(t *testing.T) {
	for _, limit := range limits {
		s := newSim(limit, 0, Config{})
		s.run(30 * time.Second)
		// The outage comes while the pace holds at what it learnt, under the limit.
		for s.p.ph != probing || s.p.Rate() > limit {
			s.run(time.Millisecond)
			if s.ms > 90_000 {
				t.Fatalf("limit %.0f/s: the pace never probed from under the limit in a minute; its ceiling %.1f/s", limit, s.p.ceiling)
			}
		}
		took := s.p.ceiling
		s.svc.outage = true
		s.run(10 * time.Second)
		if got := s.p.Rate(); got != 1 {
			t.Errorf("limit %.0f/s: the pace is %.1f/s in an outage, want the floor", limit, got)
		}
		s.svc.outage = false
		start := s.ms
		for s.p.Rate() < 0.9*took {
			s.run(time.Millisecond)
			if s.ms-start > 10_000 {
				break
			}
		}
		back := time.Duration(s.ms-start) * time.Millisecond
		t.Logf("limit %.0f/s: ceiling %.1f/s; back at 90%% of it %s after the outage", limit, took, back)
		if back > 3*time.Second {
			t.Errorf("limit %.0f/s: back at 90%% of %.1f/s after %s, want within 3 s", limit, took, back)
		}
	}
}

func TestBackgroundThrottlingIsNotALimit(t *testing.T) {
	// 10% of answers are throttles whatever the pace: slowing down would not help.
	s := newSim(0, 0.10, Config{Max: 300})
	s.run(30 * time.Second)
	a, th := s.sums(5, 30)
	t.Logf("no limit, 10%% background: paces %v; %.1f requests/s after 5 s", s.paces, float64(a+th)/25)
	if float64(a+th)/25 < 0.9*300 {
		t.Errorf("random 10%% throttling held the job to %.1f requests/s of the 300 allowed", float64(a+th)/25)
	}
	// On top of a real limit: the job still takes the limit's worth.
	for _, limit := range []float64{50, 200} {
		s = newSim(limit, 0.10, Config{})
		s.run(2 * time.Minute)
		a, th = s.sums(15, len(s.answered))
		took := float64(a) / 0.9 / float64(len(s.answered)-15)
		t.Logf("limit %.0f/s, 10%% background: %.1f tokens/s taken, %.2f%% throttled", limit, took, 100*float64(th)/float64(a+th))
		if took < 0.85*limit { // a 10% background costs a 50/s limit up to a tenth of its rate
			t.Errorf("limit %.0f/s with a 10%% background: the job took %.1f/s", limit, took)
		}
	}
}

// TestBackgroundDoesNotHideALimit: a service that throttles 2% of answers whatever the pace, on
// top of a limit of 200/s. The throttles of a climb back above the limit are not all taken for
// background, so they do not keep raising the ceiling the next cut finds: of ten runs (seeds),
// at least half are throttled at most 2% beyond the background once learnt. (The pacer of
// 2026-12-05, whose background also took a cold start's throttles, had two of ten: the others
// settled above the limit, 5-20% beyond, its throttles taken for noise.)
func TestBackgroundDoesNotHideALimit(t *testing.T) {
	var beyond []float64
	for seed := range uint64(10) {
		s := newSim(200, 0.02, Config{})
		s.svc.rng = rand.New(rand.NewPCG(seed, 7))
		s.run(90 * time.Second)
		a, th := s.sums(30, 90)
		beyond = append(beyond, float64(th)/float64(a+th)-0.02)
	}
	slices.Sort(beyond)
	t.Logf("throttled beyond the 2%% background, by run: %.3f", beyond)
	if beyond[4] > 0.02 {
		t.Errorf("limit 200/s, 2%% background: %.3f throttled beyond it by run; want half the runs at most 2%%", beyond)
	}
}

// TestBackgroundIsMeasuredOnWholeWindows: a cut explains the throttles from its window's first
// one on, so the background is measured on the answers before it; if the first throttle were
// left out too, a random background would be measured on clean runs alone, as none, and then
// any 4 throttles would be a limit, each cut taking the pace 30% lower. At a limit of 50/s
// with 10% of answers throttled at random and 64 requests in flight, no run of 30 (seeds)
// sends under 60% of the limit (the pacer of 2026-12-05 left the first throttle out: 4 of these
// runs sent 27-48%).
func TestBackgroundIsMeasuredOnWholeWindows(t *testing.T) {
	var low []float64
	for seed := range uint64(30) {
		s := newSim(50, 0.10, Config{})
		s.conc = 64
		s.svc.rng = rand.New(rand.NewPCG(seed, 3))
		s.run(25 * time.Second)
		a, th := s.sums(5, 25)
		if sent := float64(a+th) / 20; sent < 0.6*50 {
			low = append(low, sent)
		}
	}
	if len(low) > 0 {
		t.Errorf("limit 50/s, 10%% background: %d runs of 30 sent only %.1f requests/s", len(low), low)
	}
}

func TestStarvationDoesNotCut(t *testing.T) {
	for _, limit := range []float64{50, 200} {
		s := newSim(limit, 0.10, Config{})
		s.run(30 * time.Second)
		before := s.p.Rate()
		low := before
		// The sender stalls for 2 s, then runs at a third of the pace for 5 s.
		s.demand = 0
		for range 2000 {
			s.run(time.Millisecond)
			low = min(low, s.p.Rate())
		}
		s.demand = before / 3
		for range 5000 {
			s.run(time.Millisecond)
			low = min(low, s.p.Rate())
		}
		t.Logf("limit %.0f/s: pace %.1f/s before the stall, %.1f at its lowest", limit, before, low)
		if low < 0.98*before {
			t.Errorf("limit %.0f/s: a starved sender cut the pace from %.1f to %.1f", limit, before, low)
		}
	}
}

func TestTotalThrottlingFallsToTheFloor(t *testing.T) {
	s := newSim(0, 0, Config{Max: 500})
	s.svc.outage = true
	s.run(20 * time.Second)
	if got := s.p.Rate(); got != 1 {
		t.Fatalf("under total throttling the pace is %v/s, want the floor of 1/s", got)
	}
	_, first := s.sums(0, 1)
	for sec := 2; sec < len(s.answered); sec++ {
		if n := s.answered[sec] + s.throttled[sec]; n > 2 {
			t.Errorf("second %d: %d requests under total throttling, want at most 2", sec, n)
		}
	}
	t.Logf("throttles per second %v (%d in the first)", s.throttled, first)
	s.svc.outage = false
	s.run(10 * time.Second)
	if got := s.p.Rate(); got < 10 {
		t.Errorf("the pace is %.1f/s 10 s after the throttling ended", got)
	}
}

func TestThrottlingFallsToAFloor(t *testing.T) {
	// Once learnt, the throttles of each minute fall: the pace does not keep hitting the limit.
	for _, limit := range limits {
		s := newSim(limit, 0, Config{})
		s.run(3 * time.Minute)
		var perMin []int
		for m := 0; m < 3; m++ {
			_, th := s.sums(60*m, 60*(m+1))
			perMin = append(perMin, th)
		}
		t.Logf("limit %.0f/s: throttles per minute %v", limit, perMin)
		if float64(perMin[2]) > max(float64(perMin[0]), 0.01*60*limit) {
			t.Errorf("limit %.0f/s: throttles per minute %v, want falling to under 1%%", limit, perMin)
		}
	}
}

func TestMaxAndMin(t *testing.T) {
	s := newSim(0, 0, Config{Max: 30})
	s.run(10 * time.Second)
	if a, _ := s.sums(2, 10); a > 30*8+2 {
		t.Errorf("Max 30: %d answers in 8 s", a)
	}
	s = newSim(0, 0, Config{Min: 100000})
	if got := s.p.Rate(); got != 100000 {
		t.Errorf("Min 100000: starts at %v", got)
	}
}

// TestIdleSpellIsNotALimit: a pacer that saw a stray throttle, then nothing for a minute (its
// API unused between phases), then a burst of throttles as its calls resume, cuts to what the
// service takes now, not to the handful of answers spread over the idle minute.
func TestIdleSpellIsNotALimit(t *testing.T) {
	for _, limit := range []float64{50, 200} {
		s := newSim(limit, 0.02, Config{})
		s.demand = limit / 2 // under the limit: nothing learnt, and a few stray throttles
		s.run(5 * time.Second)
		if s.p.firstT < 0 || s.p.window != 0 {
			t.Fatalf("limit %.0f/s: want a stray throttle and no cut before the idle spell", limit)
		}
		s.demand = 0
		s.run(time.Minute)
		s.demand = 100000
		// The pace before the idle spell held nothing back, so it did not grow: what counts is
		// where the cuts after it take the pace.
		resumed, low := s.p.window, math.Inf(1)
		for range 5000 {
			s.run(time.Millisecond)
			if s.p.window != resumed {
				low = min(low, s.p.Rate())
			}
		}
		t.Logf("limit %.0f/s: after an idle minute, paces %v, the lowest %.1f", limit, s.paces[len(s.paces)-5:], low)
		if low < limit/2 {
			t.Errorf("limit %.0f/s: calls resumed after an idle minute cut the pace to %.1f", limit, low)
		}
	}
}

// TestFollowsALimitThatDrops: a cut takes a known ceiling down by 30% at most, so a limit that
// falls fivefold takes a few cuts to follow; within 5 s the job is under the new limit, and
// throttled little from then on.
func TestFollowsALimitThatDrops(t *testing.T) {
	s := newSim(200, 0, Config{})
	s.run(30 * time.Second)
	s.svc.limit = 40
	s.run(15 * time.Second)
	_, during := s.sums(30, 35)
	a, th := s.sums(35, 45)
	t.Logf("limit 200/s, then 40/s: paces %v; %d throttles in the 5 s after the drop, then %.1f answered/s, %.2f%% throttled",
		s.paces[29:], during, float64(a)/10, 100*float64(th)/float64(a+th))
	if p := s.paces[34]; p > 1.2*40 {
		t.Errorf("5 s after the limit fell to 40/s, the pace is %.1f", p)
	}
	if float64(a)/10 < 0.9*40 || float64(th)/float64(a+th) > 0.02 {
		t.Errorf("after the drop: %.1f answered/s, %.2f%% throttled", float64(a)/10, 100*float64(th)/float64(a+th))
	}
}

// TestABriefBurstCutsLittle: at a known limit, a tenth of a second in which half the answers are
// throttles (the service's bucket emptied by a cut's overshoot, requests bunched up) takes the
// pace down by 30% at most, and it is back at 90% of the limit within 3 s.
func TestABriefBurstCutsLittle(t *testing.T) {
	for _, limit := range []float64{50, 200} {
		s := newSim(limit, 0, Config{})
		s.run(30 * time.Second)
		// The burst comes while the pace holds under the limit, not while it probes above it,
		// where the limit's own throttles would add to it.
		for s.p.ph != probing || s.p.Rate() > limit {
			s.run(time.Millisecond)
			if s.ms > 90_000 {
				t.Fatalf("limit %.0f/s: the pace never probed from under the limit in a minute; its ceiling %.1f/s", limit, s.p.ceiling)
			}
		}
		s.svc.background = 0.5
		low := s.p.Rate()
		for range 100 {
			s.run(time.Millisecond)
			low = min(low, s.p.Rate())
		}
		s.svc.background = 0
		back := -1
		for ms := range 5000 {
			s.run(time.Millisecond)
			low = min(low, s.p.Rate())
			if back < 0 && s.p.Rate() >= 0.9*limit {
				back = ms
			}
		}
		t.Logf("limit %.0f/s: lowest pace %.1f, back at 90%% %d ms after the burst", limit, low, back)
		if low < 0.7*0.9*limit || back < 0 || back > 3000 {
			t.Errorf("limit %.0f/s: a brief burst of throttles took the pace to %.1f, back at 90%% after %d ms", limit, low, back)
		}
	}
}

// BenchmarkLearningCost reports, in simulation, the throttled answers a cold Pacer takes to find
// a limit (throttles; up to the end of the first recovery, with the answers still in flight
// then) and how long that takes (learn-ms), at answer latencies of 5, 50 and 100 ms, with the
// job's default concurrency (8), its concurrency 64, and a sender never short of requests (the
// worst case). With no limit (limit=none) it reports the time the pace takes to let the job
// reach 90% of what its concurrency allows (ramp-ms): the cold start's cost.
//
//	go test -run '^$' -bench LearningCost ./internal/pace
func BenchmarkLearningCost(b *testing.B) {
	for _, latency := range []int{5, 50, 100} {
		for _, conc := range []int{8, 64, 0} {
			for _, limit := range append([]float64{0}, limits...) {
				name := fmt.Sprintf("latency=%dms/conc=%d/limit=%.0f", latency, conc, limit)
				if limit > reachable(conc, latency) {
					continue // the concurrency holds the job under the limit
				}
				if limit == 0 {
					if conc == 0 {
						continue
					}
					name = fmt.Sprintf("latency=%dms/conc=%d/limit=none", latency, conc)
				}
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						s := newSim(limit, 0, Config{})
						s.latency, s.conc = latency, conc
						if limit == 0 {
							b.ReportMetric(float64(s.ramp(reachable(conc, latency))), "ramp-ms")
							continue
						}
						n, learnt := s.learn(b)
						b.ReportMetric(float64(n), "throttles")
						b.ReportMetric(float64(learnt), "learn-ms")
					}
				})
			}
		}
	}
}

// learn runs a cold sim until its first cut has been recovered from, and the answers then in
// flight, and returns the throttles answered and the ms to the end of the recovery.
func (s *sim) learn(tb testing.TB) (throttles, ms int) {
	for s.p.window == 0 || s.p.ph == recovering {
		s.run(time.Millisecond)
		if s.ms > 60_000 {
			tb.Fatalf("no limit found in a minute")
		}
	}
	ms = s.ms
	s.run(time.Duration(len(s.queue)+s.latency) * time.Millisecond)
	_, throttles = s.sums(0, len(s.answered))
	return throttles, ms
}

// ramp runs a cold sim until a 100 ms span answers at least rate requests/s, and returns the ms
// to the end of that span (60,000 if never).
func (s *sim) ramp(rate float64) int {
	var totals []int // answers by the end of each ms
	for s.ms < 60_000 {
		s.run(time.Millisecond)
		totals = append(totals, s.total)
		if n := len(totals); n > 100 && float64(totals[n-1]-totals[n-101]) >= rate/10 {
			return s.ms
		}
	}
	return s.ms
}

// TestOnCutTellsEachCut: Config.OnCut hears of every cut, with the ceiling found and the pace
// restarted at, and of an outage as one.
func TestOnCutTellsEachCut(t *testing.T) {
	var cuts, outages int
	var last [2]float64
	cfg := Config{OnCut: func(ceiling, restart float64, outage bool) {
		if outage {
			outages++
			return
		}
		cuts++
		last = [2]float64{ceiling, restart}
	}}
	s := newSim(200, 0, cfg)
	s.run(10 * time.Second)
	if cuts == 0 || outages != 0 || last[0] != s.p.ceiling || last[1] > last[0] {
		t.Errorf("limit 200/s: %d cuts, %d outages, the last at %v; the pacer's ceiling %.1f", cuts, outages, last, s.p.ceiling)
	}
	s.svc.outage = true
	s.run(2 * time.Second)
	if outages == 0 {
		t.Error("total throttling: OnCut heard of no outage")
	}
}
