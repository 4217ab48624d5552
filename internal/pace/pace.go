// Package pace paces one region's calls of one API by the throttling answers the service gives;
// the limits are per account, region and API and unpublished, so each Pacer learns its own:
//   - Start at Config.Start (50/s); while a request waits for the pace, double per round trip
//     (>= 0.15 s) to W = 8 requests a round trip, then add 6 x min(1, 32/W) a round trip.
//   - A limit: since the last cut, >= 4 throttles, 3 standard errors above the background in the
//     last 32 answers (and 40%), the last 512, or, with W >= 4, a slow start's since its first
//     throttle (10%); the background: the share throttled at paces the service took, 20% prior.
//   - Cut: ceiling = what went through since throttling began (not before an idle second) /
//     (1-background, measured under 0.95 x what went through at the last cut, 50 answers of the
//     whole as prior, <= 25%), >= 0.7 x a known one (below 0.9 x, climbed back to once); a first
//     one is measured again on the answers in flight. Restart at 0.9 x ceiling, or, if almost
//     nothing went through (an outage), at the Min, ceiling kept.
//   - No cut in a window where the job sent under 80% of its pace (CPU, concurrency).
//   - Recover: from the first answer after a cut that is not a throttle, the pace climbs along
//     ceiling x 0.99 - (ceiling x 0.99 - restart) x (1 - t/1.5s)^3, at 0.99 x ceiling in 1.5 s,
//     then probes above it as +10% x (u/T)^3, u the time requests waited for the pace, T 3 s,
//     or 1600 requests' time once two cuts agree within 10%.
package pace

import (
	"context"
	"math"
	"sync"
	"time"
)

// Config tunes a Pacer. Zero fields take the defaults.
type Config struct {
	Max   float64 // requests/s never exceeded; 0 = no ceiling
	Min   float64 // the floor under total throttling; default 1
	Start float64 // the cold-start pace; default 50
	// OnCut, when set, is told of each cut: the ceiling found, the pace restarted at, and
	// whether it was taken for an outage. It is called under the Pacer's lock: it must not
	// call the Pacer.
	OnCut func(ceiling, restart float64, outage bool)
}

const (
	doubling     = 250 * time.Millisecond // slow start doubles per this much held-back time until a round trip is measured
	minDouble    = 150 * time.Millisecond // ...never faster than this (the service's bucket hides a limit for a while)...
	growWindow   = 6                      // ...then by this many requests a round trip (RFC 3742's limited slow start)
	slowWindow   = 32                     // ...and above this many, slower as the window grows: dW/dt ~ 1/W
	rttGain      = 1.0 / 8                // the round trip is smoothed over about 8 answers
	recoverTime  = 1500 * time.Millisecond
	maxCut       = 0.70             // a cut keeps at least this share of a known ceiling...
	regain       = 0.90             // ...and one below this share of it climbs back to it once
	restart      = 0.90             // a cut restarts at this share of the ceiling...
	plateau      = 0.99             // ...and climbs back to this share of it
	probeGain    = 0.10             // the probe is this much above the plateau...
	probeReqs    = 1600             // ...after this many requests' time held back by the pace
	confirm      = 0.1              // two ceilings this close confirm each other
	probeMin     = 3 * time.Second  // ...or this long, if longer...
	probeMax     = 60 * time.Second // ...and no longer than this
	boundShare   = 0.8              // a window sending under this share of its pace was starved
	minThrottles = 4
	shortWin     = 32
	longWin      = 512
	shortZ       = 3.0
	heavy        = 0.4 // the short window decides only with this share of throttles
	coldShare    = 0.1 // ...and the answers after a slow start's first throttle with this share,
	coldWindow   = 4   // ...with this many requests a round trip in flight...
	coldAnswers  = 16  // ...and answers since the first throttle, in flight included, to measure the ceiling again
	longZ        = 3.0
	outageShare  = 0.9
	bgDecay      = 1 - 1.0/1000 // the background forgets an answer's weight over about 1000 answers
	priorN       = 20
	priorBG      = 0.20
	lowPrior     = 50   // answers' worth of the background of all answers in the ceiling's measure
	bgPace       = 0.95 // the ceiling takes the background measured under this share of what the service took
	maxBG        = 0.25
	maxSleep     = 20 * time.Millisecond // a waiter looks at the pace again at least this often
	onset        = 2 * time.Second       // a cut this long before an outage was its onset
	burstTime    = 20 * time.Millisecond // sends that may go at once after an idle spell, as time
	idleGap      = time.Second           // answers this far apart were an idle spell apart
)

type phase int

const (
	slowStart phase = iota
	recovering
	probing
)

type answer struct {
	throttled bool
	counted   bool // in the background's measure
	low       bool // ...and sent under what the service took at the last cut: in the ceiling's measure
	pace      float64
	t         time.Time
}

// Pacer paces one region's calls of one API. Its methods are safe for concurrent use; it starts
// no goroutine.
type Pacer struct {
	turn chan struct{} // one waiter at a time looks at the clock: the others queue in order

	mu  sync.Mutex
	now func() time.Time
	cfg Config

	tokens float64       // requests that may go now
	upd    time.Time     // when tokens was last brought up to date
	bound  time.Duration // time in which the pace held the job back
	held   time.Time     // since when a request has waited for the pace, counted into bound; zero if none

	ph        phase
	from      float64       // the pace the phase started from
	ceiling   float64       // the rate the service took at the last cut
	confirmed bool          // the last two cuts found the same ceiling: probe slowly
	known     bool          // a limit was found: after an outage, no slow start
	before    float64       // the ceiling before the last cut
	regainTo  float64       // recovering from a large cut: the ceiling it took down, climbed back to next; 0 if none
	low       float64       // climbing back to a ceiling a large cut took down: the ceiling the cut found; 0 if not
	cutAt     time.Time     // the last cut
	rtt       time.Duration // the smoothed time from Wait to the answer; 0 until one is measured
	since     time.Time     // recovering: the first answer that went through; zero until then
	boundAt   time.Duration // slow start, probing: bound when the phase began

	window   uint64
	ring     []answer // the window's answers, oldest first, at most longWin
	firstT   int      // index in ring of the window's first throttle; -1 if none
	lost     bool     // a throttle of the window has left the ring
	bgN, bgT float64  // answers and throttles measured for the background, decayed
	lowN     float64  // ...of them, those sent under what the service took at the last cut
	lowT     float64
	took     float64 // what the service took at the last cut, throttles aside
	first    firstCut
}

// firstCut measures the first limit found again with the answers that were in flight at its
// cut: sent above the limit, they went through at the limit's rate, and the cut had few
// answers to go by. Their measure is taken at the first answer sent after the cut, before the
// pace climbs back.
type firstCut struct {
	window    uint64    // the window the cut ended
	n, ok, bg float64   // answers since the window's first throttle, of them not throttled; the cut's background
	from      time.Time // the first throttle's answer; zero if no such cut is being measured
	last      time.Time // the latest answer of the window
}

func (f *firstCut) add(now time.Time, throttled bool) {
	f.n++
	if !throttled {
		f.ok++
	}
	f.last = now
}

// end sets the ceiling to the measure of the answers since the first throttle, the cut's and
// those that were in flight, if they are coldAnswers at least, and ends the measure.
func (f *firstCut) end(p *Pacer) {
	if span := f.last.Sub(f.from).Seconds(); f.n >= coldAnswers && span > 0 {
		p.took = f.ok / span
		p.ceiling = p.took / (1 - f.bg)
		if p.ph == recovering && p.since.IsZero() {
			p.from = restart * p.ceiling
		}
	}
	f.from = time.Time{}
}

// New returns a Pacer following now (nil = time.Now).
func New(cfg Config, now func() time.Time) *Pacer {
	if cfg.Min <= 0 {
		cfg.Min = 1
	}
	if cfg.Start <= 0 {
		cfg.Start = 50
	}
	if now == nil {
		now = time.Now
	}
	return &Pacer{turn: make(chan struct{}, 1), now: now, cfg: cfg, from: cfg.Start, firstT: -1}
}

// Ticket is a request's leave to go, given back to the Pacer with its answer.
type Ticket struct {
	window uint64    // the pace it was sent at: answers from before a cut are not counted after it
	sent   time.Time // for the round trip
}

// Wait blocks until a request may be sent or ctx ends, and returns the request's Ticket, to be
// given back with its answer.
func (p *Pacer) Wait(ctx context.Context) (Ticket, error) {
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return Ticket{}, ctx.Err()
	}
	defer func() { <-p.turn }()
	for {
		p.mu.Lock()
		now := p.now()
		d, w := p.reserve(now)
		p.mu.Unlock()
		if d <= 0 {
			return Ticket{window: w, sent: now}, nil
		}
		t := time.NewTimer(min(d, maxSleep))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			p.mu.Lock()
			p.unhold(p.now()) // nobody waits now: an idle spell after is not time held back
			p.mu.Unlock()
			return Ticket{}, ctx.Err()
		}
	}
}

// unhold counts the time a request has waited for the pace into bound, and ends the wait.
func (p *Pacer) unhold(now time.Time) {
	if !p.held.IsZero() && now.After(p.held) {
		p.bound += now.Sub(p.held)
	}
	p.held = time.Time{}
}

// reserve sends a request now if the pace allows, returning 0 and its window, or else how long
// until it may. The pace is a token bucket of burstTime's worth of requests (at least one). The
// time from a request's first refusal to its grant is time the pace held the job back (bound).
func (p *Pacer) reserve(now time.Time) (time.Duration, uint64) {
	r := p.pace(now)
	capacity := max(1, r*burstTime.Seconds())
	if p.upd.IsZero() {
		p.tokens, p.upd = 1, now
	}
	if el := now.Sub(p.upd); el > 0 {
		p.tokens = min(capacity, p.tokens+r*el.Seconds())
		p.upd = now
	}
	p.unhold(now)
	if p.tokens < 1 {
		p.held = now
		return max(time.Nanosecond, time.Duration((1-p.tokens)/r*float64(time.Second))), 0
	}
	p.tokens--
	return 0, p.window
}

// Rate is the current pace in requests/s.
func (p *Pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pace(p.now())
}

// pace is the pace at now; it moves recovering into probing when the climb is done.
func (p *Pacer) pace(now time.Time) float64 {
	var r float64
	switch p.ph {
	case slowStart:
		if d := p.bound - p.boundAt; d > 0 {
			p.from, p.boundAt = grow(p.from, d, p.rtt), p.bound
		}
		r = p.from
	case recovering:
		r = p.from
		if !p.since.IsZero() {
			t := now.Sub(p.since)
			top := plateau * p.ceiling
			if t >= recoverTime && p.regainTo > p.ceiling {
				// A large cut: climb once more, back to the ceiling it took down.
				p.low, p.from, p.ceiling, p.regainTo, p.since = p.ceiling, top, p.regainTo, 0, now
				return p.pace(now)
			}
			if t >= recoverTime {
				p.low = 0
				p.ph, p.boundAt = probing, p.bound
				if !p.known {
					p.ph, p.from = slowStart, top // an outage before any limit: learn from here
				}
				return p.pace(now)
			}
			x := 1 - float64(t)/float64(recoverTime)
			r = top - (top-p.from)*x*x*x
		}
	case probing:
		top := plateau * p.ceiling
		tp := probeMin.Seconds()
		if p.confirmed {
			tp = min(max(probeReqs/top, tp), probeMax.Seconds())
		}
		u := (p.bound - p.boundAt).Seconds() / tp
		r = top * (1 + probeGain*u*u*u)
	}
	if p.cfg.Max > 0 {
		r = min(r, p.cfg.Max)
	}
	return max(r, p.cfg.Min)
}

// grow is the slow start's pace r after d more held-back time at round trip rtt: doubling a
// round trip (minDouble at least) while a round trip holds under growWindow requests, then
// growWindow more requests a round trip (RFC 3742's limited slow start), fewer in proportion
// above slowWindow. Until a round trip is measured it doubles per doubling.
func grow(r float64, d, rtt time.Duration) float64 {
	u := d.Seconds()
	if rtt <= 0 {
		return r * math.Exp2(u/doubling.Seconds())
	}
	l, dt := rtt.Seconds(), max(rtt, minDouble).Seconds()
	if knee := growWindow / l; r < knee {
		t := dt * math.Log2(knee/r) // held-back time to the knee
		if u <= t {
			return r * math.Exp2(u/dt)
		}
		r, u = knee, u-t
	}
	// Above slowWindow requests a round trip, the pace grows as the square root of time
	// (dr/dt ~ 1/r): a service whose bucket lets a tenth of a second of its limit through at
	// once hides the limit while the pace overshoots it, and the overshoot grows with the
	// pace's growth; so the requests in flight when the first throttles come back stay few.
	w0 := slowWindow / l
	if r < w0 {
		t := (w0 - r) * l * dt / growWindow
		if u <= t {
			return r + u*growWindow/(l*dt)
		}
		r, u = w0, u-t
	}
	return math.Sqrt(r*r + 2*u*growWindow*w0/(l*dt))
}

// Throttled records a throttling answer to the request of Ticket t.
func (p *Pacer) Throttled(t Ticket) { p.record(t, true) }

// Succeeded records an answer that was not a throttle to the request of Ticket t.
func (p *Pacer) Succeeded(t Ticket) { p.record(t, false) }

func (p *Pacer) record(t Ticket, throttled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if rt := now.Sub(t.sent); !t.sent.IsZero() && rt > 0 {
		if p.rtt == 0 {
			p.rtt = rt
		} else {
			p.rtt += time.Duration(rttGain * float64(rt-p.rtt))
		}
	}
	if f := &p.first; !f.from.IsZero() {
		// The window after f's is the current one: no cut comes before an answer of it,
		// and the first ends the measure.
		switch {
		case t.window == f.window:
			f.add(now, throttled)
		case t.window == p.window:
			f.end(p)
		}
	}
	if t.window != p.window {
		return // sent at the pace before the last cut: it tells nothing more of the new one
	}
	// The background is measured where the pace is one the service took before: the climb back
	// after a cut (or, before any limit is known, up to the first throttle), never while probing
	// above; and only once an answer has left the short window, so that a burst is not its own
	// background.
	counted := (!p.known && p.firstT < 0) || p.ph == recovering
	if !throttled && p.ph == recovering && p.since.IsZero() {
		p.since = now
	}
	if len(p.ring) == longWin {
		p.lost = p.lost || p.ring[0].throttled
		p.ring = p.ring[1:]
		p.firstT--
	}
	pace := p.pace(now)
	// A climb back above the limit is throttled by the limit: measured as background, its
	// throttles would raise the next cut's ceiling, and so the next climb. The ceiling takes
	// the background where the pace was under what the service took.
	low := counted && (!p.known || pace <= bgPace*p.took)
	p.ring = append(p.ring, answer{throttled: throttled, counted: counted, low: low, pace: pace, t: now})
	if i := len(p.ring) - 1 - shortWin; i >= 0 && p.ring[i].counted {
		p.measure(p.ring[i])
	}
	if !throttled {
		return
	}
	if p.firstT < 0 {
		p.firstT = len(p.ring) - 1
	}
	bg := p.background()
	short := p.ring[max(0, len(p.ring)-shortWin):]
	cold := p.coldLimit(pace)
	if !cold && !tooMany(short, bg, shortZ, heavy) && !tooMany(p.ring, bg, longZ, 0) {
		return
	}
	if p.starved(now) {
		return
	}
	p.cut(now, bg, cold)
}

// tooMany reports whether as hold more throttles than the background explains, and at least
// the share least.
func tooMany(as []answer, bg, z, least float64) bool {
	n, t := float64(len(as)), 0.0
	for _, a := range as {
		if a.throttled {
			t++
		}
	}
	return t >= minThrottles && t >= least*n && t > n*bg+z*math.Sqrt(n*bg*(1-bg))+0.5
}

// starved reports whether the job sent clearly less than its pace over the last second (at
// least the last 16 answers): then the answers say as much of the job as of the service.
func (p *Pacer) starved(now time.Time) bool {
	if len(p.ring) < 8 {
		return false
	}
	i := len(p.ring) - 1
	for i > 0 && (len(p.ring)-i < 16 || now.Sub(p.ring[i-1].t) <= time.Second) {
		i--
	}
	first := p.ring[i]
	span := now.Sub(first.t).Seconds()
	if span < 0.05 {
		return false
	}
	sent := float64(len(p.ring)-i) / span
	return sent < boundShare*min(first.pace, p.pace(now))
}

// cut lowers the pace; cold tells a slow start's first limit decided early (coldLimit).
func (p *Pacer) cut(now time.Time, bg float64, cold bool) {
	// What went through since throttling began, when the service's bucket was empty: the last
	// 64 answers at most, and none from before an idle spell (the API unused between phases),
	// which say nothing of the rate the service takes now.
	from := max(0, p.firstT, len(p.ring)-64)
	for i := len(p.ring) - 1; i > from; i-- {
		if p.ring[i].t.Sub(p.ring[i-1].t) > idleGap {
			from = i
			break
		}
	}
	// What the cut explains is not background; what it does not is, measured now if still in
	// the short window: the answers before the window's first throttle, and that throttle,
	// which ended their clean run (without it, the background of windows that all end in a
	// cut would be measured on clean runs alone: none, and any 4 throttles a limit).
	explained := from
	if from == p.firstT && p.known {
		explained++
	}
	for i, a := range p.ring {
		switch {
		case !a.counted:
		case i < explained && i >= len(p.ring)-shortWin:
			p.measure(a)
		case i >= explained && i < len(p.ring)-shortWin:
			p.unmeasure(a)
		}
	}
	var ok, paces float64
	as := p.ring[from:]
	for _, a := range as {
		if !a.throttled {
			ok++
		}
		paces += a.pace
	}
	share := ok / float64(len(as))
	pace := paces / float64(len(as))
	if span := as[len(as)-1].t.Sub(as[0].t).Seconds(); span > 0.005 && len(as) > 1 {
		// What the service saw, whatever the pace was: n answers are n-1 intervals, and what
		// went through is share x n of them.
		pace = float64(len(as)) / span
	}
	if now.Sub(p.cutAt) >= onset && !(p.ph == recovering && p.since.IsZero()) {
		p.before = p.ceiling // the ceiling before this run of cuts
	}
	outage := share < 1-outageShare && (len(as) >= 8 || now.Sub(p.cutAt) < onset)
	if p.ph == recovering && p.since.IsZero() {
		outage = true // nothing went through since the last cut
	}
	if len(as) < 8 {
		share = max(share, 0.25) // a few throttles tell little: cut at most fourfold
	}
	if outage {
		// An outage, or a limit far below the pace: wait at the floor for an answer that goes
		// through, then climb to where the service last took calls. Cuts just before were the
		// outage's onset, not a limit: their ceilings are forgotten.
		p.ceiling = max(p.ceiling, p.before, p.cfg.Start)
		p.from, p.low, p.regainTo = p.cfg.Min, 0, 0
	} else {
		prev, known := p.ceiling, p.known
		base := prev
		if p.low > 0 {
			base = p.low // the climb back failed: the ceiling the large cut found stands
		}
		p.known = true
		// The prior tells limits from noise; it is not a measure. Until the low answers are
		// many, the background of all answers stands in for theirs.
		all := p.bgT / max(1, p.bgN)
		bg = min(bg, (p.lowT+lowPrior*all)/(p.lowN+lowPrior))
		p.took = pace * share
		p.ceiling = p.took / (1 - bg)
		if cold && as[0].throttled {
			p.first = firstCut{window: p.window, n: float64(len(as)), ok: ok, bg: bg, from: as[0].t, last: now}
		}
		if known {
			// A few answers after a cut, at a service whose bucket the cut's overshoot
			// emptied, measure little: one cut takes a known ceiling down by 30% at most,
			// and a large cut is tried once more after the recovery (regainTo).
			p.ceiling = max(p.ceiling, maxCut*base)
		}
		p.regainTo = 0
		if known && p.low == 0 && p.ceiling < regain*prev {
			p.regainTo = prev
		}
		p.low = 0
		p.confirmed = math.Abs(p.ceiling-prev) < confirm*prev
		p.from = restart * p.ceiling
	}
	p.cutAt = now
	p.ph, p.since = recovering, time.Time{}
	p.window++
	p.ring, p.firstT, p.lost = p.ring[:0], -1, false
	p.tokens = min(p.tokens, 0) // no burst at the old pace
	if p.cfg.OnCut != nil {
		p.cfg.OnCut(p.ceiling, p.from, outage)
	}
}

// measure adds a counted answer to the background's measure (and, if low, to the ceiling's),
// older answers weighing less.
func (p *Pacer) measure(a answer) {
	add := func(n, t *float64) {
		*n, *t = *n*bgDecay+1, *t*bgDecay
		if a.throttled {
			*t++
		}
	}
	add(&p.bgN, &p.bgT)
	if a.low {
		add(&p.lowN, &p.lowT)
	}
}

// unmeasure takes a counted answer out of the measures measure added it to.
func (p *Pacer) unmeasure(a answer) {
	take := func(n, t *float64) {
		if a.throttled {
			*t = max(0, *t-1)
		}
		*n = max(0, *n-1)
	}
	take(&p.bgN, &p.bgT)
	if a.low {
		take(&p.lowN, &p.lowT)
	}
}

// background is the share of answers throttled whatever the pace, measured where the pace was
// one the service took before, with priorBG as priorN answers' worth of prior, capped: beyond
// the cap, throttling is the answer to the pace, not noise.
func (p *Pacer) background() float64 {
	if p.known {
		return min(maxBG, (p.bgT+0.2)/(p.bgN+2)) // limits are told from noise already: the measure weighs
	}
	return min(maxBG, (p.bgT+priorBG*priorN)/(p.bgN+priorN))
}

// coldLimit reports whether, in the slow start, the answers after its first throttle hold more
// throttles than the background the clean answers before it allow (the prior standing in for
// the many it does not know). It decides sooner than the windows, which hold the answers from
// before the service's bucket emptied: the requests in flight meanwhile, sent above the limit,
// are what a cold start costs. With few in flight, waiting costs little, and the few answers
// after the first throttle would measure the ceiling poorly.
func (p *Pacer) coldLimit(pace float64) bool {
	if p.ph != slowStart || p.firstT < 0 || p.lost || pace*p.rtt.Seconds() < coldWindow {
		return false
	}
	bg := min(maxBG, priorBG*priorN/(float64(p.firstT)+priorN))
	return tooMany(p.ring[p.firstT+1:], bg, shortZ, coldShare)
}
