package runner_test

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// These tests run the job for tens of seconds against rate limits; -short skips them.

// TestFaultSuite: 10,000 images in two regions, each limited to 200 requests/s, with random
// throttling, 500s and connections dropped after the delete took effect on top. Every image is
// deleted exactly once and reported deleted, none fails, no nonce is reused, Force is never sent.
// The test runs 1,000 images a region (BenchmarkFaultSuite, the 5,000);
// FAULT_SUITE_PER_REGION=N runs either at another size. How long it takes against what the rate
// limits alone impose is BenchmarkFaultSuite's figure, never an assertion.
func TestFaultSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs for about 15 seconds")
	}
	faultSuite(t, faultSuiteSize(t, 1000))
}

// BenchmarkFaultSuite reports the fault suite's time over the time the rate limits alone
// impose on the requests the job needs (x-rate-bound), and over the time they impose once the
// requests the faults force are counted too (x-fault-bound: each drawn throttle, 500 and 503
// takes one more request, which the service's limits count; issue 16 asks for at most 1.10),
// and the share of requests the rate limits refused (limited-%):
// go test -run '^$' -bench FaultSuite -benchtime 1x ./runner
func BenchmarkFaultSuite(b *testing.B) {
	for b.Loop() {
		b.ReportMetric(faultSuite(b, faultSuiteSize(b, 5000)), "x-rate-bound")
	}
}

func faultSuiteSize(tb testing.TB, def int) int {
	v := os.Getenv("FAULT_SUITE_PER_REGION")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("FAULT_SUITE_PER_REGION=%q: want a positive number", v)
	}
	return n
}

func faultSuite(tb testing.TB, per int) float64 {
	regions := []string{"cn-hangzhou", "cn-beijing"}
	st := simpleState(per, regions...)
	const rps = 200
	h := newHarness(tb, st, ecstest.Options{Seed: 42, RegionRPS: rps, Faults: map[string]ecstest.Faults{
		"*":           {Latency: 2 * time.Millisecond},
		"DeleteImage": {Latency: 2 * time.Millisecond, ThrottleRatio: 0.10, InternalErrorRatio: 0.05, DropAfterDeleteRatio: 0.05},
	}}, simplePolicy(32, "", regions...))
	start := time.Now()
	var low lowestCut
	rep := h.run(tb, runner.Apply, func(c *runner.Config) {
		c.Retry, c.Rate = runner.RetryConfig{}, runner.RateConfig{OnCut: low.cut} // the defaults, as a user runs it
		c.Now = time.Now
	})
	elapsed := time.Since(start)
	low.report(tb, rps)
	if rep.Summary.Deleted != 2*per || rep.Summary.Failed != 0 || rep.Status != report.StatusCompleted {
		tb.Fatalf("status %s summary %+v by_code %v", rep.Status, rep.Summary, rep.ByCode)
	}
	took := map[string]int{} // deletes that took effect, per image
	var nonce, force, throttled, total int
	for _, c := range h.srv.Calls() {
		total++
		if c.Action == "DeleteImage" && !c.DryRun && (c.Status == 200 || c.Dropped) {
			took[c.Region+"/"+c.ImageID]++
		}
		switch {
		case c.Code == "SignatureNonceUsed":
			nonce++
		case strings.HasPrefix(c.Code, "Throttling") || c.Code == "ServiceUnavailable":
			throttled++
		}
		if c.Force || c.Params["Force"] == "true" {
			force++
		}
	}
	for region, reg := range st.Regions {
		for _, img := range reg.Images {
			if n := took[region+"/"+img.ID]; n != 1 {
				tb.Errorf("%s/%s: deleted %d times, want exactly once", region, img.ID, n)
			}
		}
	}
	if nonce != 0 || force != 0 {
		tb.Errorf("%d requests reused a nonce, %d sent Force", nonce, force)
	}
	checkAgainstEmulator(tb, rep, h.srv, st)
	for _, region := range regions {
		all, thr := perSecond(h.srv.Calls(), region)
		tb.Logf("%s: requests per second %v, throttled %v", region, all, thr)
	}
	// What the rate limits alone impose: the requests the job needs at least (listing, a dry
	// run and a delete per image, the confirming listing), at 200/s a region.
	// Each answer the fault draws gave (a throttle, a 500, a 503; not a rate limit's refusal)
	// forces one more request, which the rate limits count too: with those, the bound is the
	// time the service's limits impose on any client that meets the same faults.
	needed := 2 * (per + per + 2*((per+99)/100))
	var injected, limited int
	for _, c := range h.srv.Calls() {
		switch {
		case c.Injected:
			injected++
		case c.Limited:
			limited++
		}
	}
	bound := time.Duration(float64(needed) / (2 * rps) * float64(time.Second))
	withFaults := time.Duration(float64(needed+injected) / (2 * rps) * float64(time.Second))
	ratio := elapsed.Seconds() / bound.Seconds()
	tb.Logf("%d requests (%d throttled: %d by the rate limits, the rest drawn), %s; the rate limits alone impose %s on the %d requests the job needs: %.2fx; %s with the %d the faults force: %.2fx",
		total, throttled, limited, elapsed.Round(time.Millisecond), bound, needed, ratio, withFaults.Round(time.Millisecond), injected, elapsed.Seconds()/withFaults.Seconds())
	if b, ok := tb.(*testing.B); ok {
		b.ReportMetric(elapsed.Seconds()/withFaults.Seconds(), "x-fault-bound")
		b.ReportMetric(100*float64(limited)/float64(total), "limited-%")
	}
	return ratio
}

// lowestCut keeps the lowest pace any pacer restarted at after a cut that was not taken for an
// outage (RateConfig.OnCut): the issue asks that none fall below half the limit, busy CPU or not.
type lowestCut struct {
	mu      sync.Mutex
	lowest  float64
	n, outs int
}

func (l *lowestCut) cut(_, restart float64, outage bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if outage {
		l.outs++
		return
	}
	if l.n == 0 || restart < l.lowest {
		l.lowest = restart
	}
	l.n++
}

// report logs the cuts and, in a benchmark, reports the lowest restart over the limit
// (lowest-cut-x).
func (l *lowestCut) report(tb testing.TB, limit float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tb.Logf("%d cuts (and %d outages): the lowest restarted at %.1f/s, %.2f of the limit %.0f/s", l.n, l.outs, l.lowest, l.lowest/limit, limit)
	if b, ok := tb.(*testing.B); ok && l.n > 0 {
		b.ReportMetric(l.lowest/limit, "lowest-cut-x")
	}
}

// perSecond buckets a region's calls by the second they started in, from the first call.
func perSecond(calls []ecstest.Call, region string) (all, throttled []int) {
	var first time.Time
	for _, c := range calls {
		if c.Region == region && (first.IsZero() || c.Start.Before(first)) {
			first = c.Start
		}
	}
	for _, c := range calls {
		if c.Region != region {
			continue
		}
		s := int(c.Start.Sub(first) / time.Second)
		for len(all) <= s {
			all, throttled = append(all, 0), append(throttled, 0)
		}
		all[s]++
		if strings.HasPrefix(c.Code, "Throttling") {
			throttled[s]++
		}
	}
	return all, throttled
}

// BenchmarkAdaptiveRateSettles: with the service limiting the region to 200 requests/s and
// nothing else wrong, the job finds the limit by itself and holds it with few throttled answers.
// It reports the median answered requests/s after the first 3 s (settled-rps, of 200) and the
// share throttled then (throttled-%). A benchmark, not a test: a busy machine sends less, and a
// rate measured on the wall clock says as much of the machine as of the job. The limiter's
// behaviour itself is tested in simulation (internal/pace).
//
//	go test -run '^$' -bench AdaptiveRateSettles -benchtime 1x ./runner
func BenchmarkAdaptiveRateSettles(b *testing.B) {
	for b.Loop() {
		const rps = 200
		st := simpleState(2000, "cn-hangzhou")
		h := newHarness(b, st, ecstest.Options{RegionRPS: rps, Faults: map[string]ecstest.Faults{"*": {Latency: 2 * time.Millisecond}}},
			simplePolicy(64, "", "cn-hangzhou"))
		rep := h.run(b, runner.Apply, func(c *runner.Config) { c.Retry, c.Rate = runner.RetryConfig{}, runner.RateConfig{}; c.Now = time.Now })
		if rep.Summary.Deleted != 2000 {
			b.Fatalf("summary %+v", rep.Summary)
		}
		all, thr := perSecond(h.srv.Calls(), "cn-hangzhou")
		// Leave out the first seconds (learning) and the last (the run ends within it).
		var sent, throttled int
		var rates []float64
		for s := 3; s < len(all)-1; s++ {
			sent += all[s]
			throttled += thr[s]
			rates = append(rates, float64(all[s]-thr[s]))
		}
		if sent == 0 {
			b.Fatalf("the run was too short to settle: %v", all)
		}
		sort.Float64s(rates)
		median := rates[len(rates)/2]
		share := float64(throttled) / float64(sent)
		b.Logf("requests per second %v; settled at a median %.0f/s of %d/s answered, %.1f%% throttled", all, median, rps, 100*share)
		b.ReportMetric(median, "settled-rps")
		b.ReportMetric(100*share, "throttled-%")
	}
}

// TestTotalThrottlingEnds: a region that throttles every DeleteImage is given up after
// ThrottleGiveUp: its images end failed under the throttling code, and the run ends. That the pace
// falls to one request a second meanwhile is internal/pace's TestTotalThrottlingFallsToTheFloor, in
// simulation: requests per second on the wall clock depend on how busy the machine is.
func TestTotalThrottlingEnds(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs for a few seconds")
	}
	st := simpleState(40, "cn-hangzhou")
	h := newHarness(t, st, ecstest.Options{Faults: map[string]ecstest.Faults{"DeleteImage": {ThrottleRatio: 1}}},
		simplePolicy(16, "", "cn-hangzhou"))
	const giveUp = 3 * time.Second
	start := time.Now()
	rep := h.run(t, runner.Plan, func(c *runner.Config) {
		c.Retry = runner.RetryConfig{ThrottleGiveUp: giveUp}
		c.Now = time.Now
	})
	elapsed := time.Since(start)
	if rep.Summary.Failed != 40 {
		t.Fatalf("summary %+v by_code %v", rep.Summary, rep.ByCode)
	}
	for _, e := range rep.Images {
		if !strings.HasPrefix(e.Code, "Throttling") && e.Code != "ServiceUnavailable" {
			t.Errorf("%s failed with %q, want its throttling code", e.ImageID, e.Code)
		}
	}
	all, _ := perSecond(h.srv.Calls(), "cn-hangzhou")
	t.Logf("requests per second %v; gave up after %s (ThrottleGiveUp %s)", all, elapsed.Round(time.Millisecond), giveUp)
}

// BenchmarkOutageRecovery: one region limited to 200 requests/s, 2,000 images; 6 s into the run
// the service throttles every request for 3 s. It reports how long after the outage's end the
// answered requests of a sliding second first reach 180 (recovered-s; the issue asks for at
// most 3) and the answered rate from then on (after-rps). A benchmark, not a test: it measures
// the wall clock.
//
//	go test -run '^$' -bench OutageRecovery -benchtime 1x ./runner
func BenchmarkOutageRecovery(b *testing.B) {
	for b.Loop() {
		const rps = 200
		st := simpleState(2000, "cn-hangzhou")
		base := ecstest.Faults{Latency: 2 * time.Millisecond}
		h := newHarness(b, st, ecstest.Options{RegionRPS: rps, Faults: map[string]ecstest.Faults{"*": base}},
			simplePolicy(64, "", "cn-hangzhou"))
		start := time.Now()
		var outageEnd time.Time
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(6 * time.Second)
			h.srv.SetFaults("*", ecstest.Faults{Latency: base.Latency, ThrottleRatio: 1})
			time.Sleep(3 * time.Second)
			h.srv.SetFaults("*", base)
			outageEnd = time.Now()
		}()
		var low lowestCut
		rep := h.run(b, runner.Apply, func(c *runner.Config) {
			c.Retry, c.Rate = runner.RetryConfig{}, runner.RateConfig{OnCut: low.cut}
			c.Now = time.Now
		})
		<-done
		low.report(b, rps)
		if rep.Summary.Deleted != 2000 {
			b.Fatalf("summary %+v by_code %v", rep.Summary, rep.ByCode)
		}
		// Answered (not throttled) requests in 100 ms slots from the start.
		var slots []int
		var last time.Time
		for _, c := range h.srv.Calls() {
			if c.Status == 0 || strings.HasPrefix(c.Code, "Throttling") || c.Code == "ServiceUnavailable" {
				continue
			}
			s := int(c.End.Sub(start) / (100 * time.Millisecond))
			for len(slots) <= s {
				slots = append(slots, 0)
			}
			slots[s]++
			last = maxTime(last, c.End)
		}
		endSlot := int(outageEnd.Sub(start) / (100 * time.Millisecond))
		recovered := -1.0
		for s := endSlot; s+10 <= len(slots); s++ {
			n := 0
			for _, v := range slots[s : s+10] {
				n += v
			}
			if n >= 180 {
				recovered = float64(s+10-endSlot) / 10
				break
			}
		}
		if recovered < 0 {
			b.Fatalf("never back at 180 answered/s after the outage; slots %v", slots[endSlot:])
		}
		from := start.Add(time.Duration(endSlot)*100*time.Millisecond + time.Duration(recovered*float64(time.Second)))
		after := 0
		for s := endSlot + int(recovered*10); s < len(slots); s++ {
			after += slots[s]
		}
		afterRate := float64(after) / last.Sub(from).Seconds()
		b.Logf("answered per 100 ms from the outage's end: %v", slots[endSlot:min(len(slots), endSlot+60)])
		b.Logf("back at 180 answered/s %.1f s after the outage; %.0f answered/s from then on (limit %d)", recovered, afterRate, rps)
		b.ReportMetric(recovered, "recovered-s")
		b.ReportMetric(afterRate, "after-rps")
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
