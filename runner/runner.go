// Package runner turns a policy into deletions: it lists each region's images, selects with the
// policy, keeps those that launch templates or scaling configurations still name, sends
// DeleteImage with DryRun for every other selected image and, on apply, the real DeleteImage for
// those whose DryRun passed. All calls share one concurrency limit; each region and action has
// its own adaptive rate limiter; retryable answers are retried with backoff.
package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/internal/pace"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// Commands.
const (
	Plan  = "plan"
	Apply = "apply"
	// Restore sets the images staged retention deprecated back to Available (see restore.go).
	Restore = "restore"
)

// Codes of our own, for outcomes that no service answer names.
const (
	CodeDryRunNotHonoured   = "DryRunNotHonoured"
	CodeMaxDeletions        = "MaxDeletionsExceeded"
	CodeMaxDeletionPercent  = "MaxDeletionPercentExceeded"
	CodeNotConfirmed        = "NotConfirmed"
	CodeNotOwned            = "ImageNotOwned"
	CodeNotSelectable       = "ImageNotSelectable"
	CodeInterruptedInFlight = "InterruptedInFlight"
	CodeDeleteNotConfirmed  = "DeleteNotConfirmed"
	// CodeDeleteResultUnknown: a real delete was sent, no answer proved its outcome, and no
	// lookup could resolve it (the lookup failed, or the run was stopped before it).
	CodeDeleteResultUnknown = "DeleteResultUnknown"
	// CodeImageGone: an image Config.Only names (a reviewed plan's) no longer exists.
	CodeImageGone = "ImageGone"
	// CodeNoLongerSelected: an image Config.Only names exists but the policy no longer selects it.
	CodeNoLongerSelected = "NoLongerSelected"
)

// RateConfig tunes the pace of each region and API; see package pace.
type RateConfig = pace.Config

// Config is one run.
type Config struct {
	Command     string // Plan, Apply or Restore
	Policy      *policy.Policy
	PolicyPath  string
	PolicyBytes []byte // hashed into the report
	API         ecs.API
	Logger      *zap.Logger      // nil = no logging
	Now         func() time.Time // nil = time.Now
	Retry       RetryConfig
	Rate        RateConfig
	// Confirm is asked on apply, after the DryRun phase and before any real change, with the
	// images that would be changed, by region and id, so that a person can read what they agree
	// to: those whose DeleteImage DryRun passed (outcome would_delete) and, with staged
	// retention, those whose ModifyImageAttribute DryRun passed (would_deprecate) and the
	// Deprecated images that would only get the tag (skipped, code InGracePeriod). It is asked
	// whenever there is any of them, deletions or not. On restore, with the images to restore
	// (restored). False aborts the run; nil proceeds.
	Confirm func(toChange []report.Entry) bool
	// Progress, when set, is called at every change of phase and as the images of the dry run
	// and delete phases are answered. It must not block.
	Progress func(Progress)
	// Only, when not nil, limits the run to these images ("region/image_id"), such as those an
	// earlier report left failed or not_attempted. Each is still checked against the policy and
	// the service as usual; an image the policy no longer selects is left alone.
	Only map[string]bool
	// OnlyFrom names where Only came from ("the plan plan.json"), for messages.
	OnlyFrom string
	// OnlyKnown are the images the source of Only reported, whatever their outcome: a selected
	// image outside it is one the source never saw, and the run counts those in a warning.
	OnlyKnown map[string]bool
	// Blockers looks up what holds each blocked image (the instances using it, the accounts it is
	// shared with) after the delete phases. Remediations are reported either way.
	Blockers bool
	// Journal, when set, records the run as it goes; see Journal. Nil keeps none.
	Journal Journal
	// RestoreIDs, on Restore, when not nil, limits the restore to these image ids; each one that
	// is not an image the job deprecated is reported skipped (CodeNotRestorable).
	RestoreIDs []string
	// RestoreSince, on Restore, when above 0, limits the restore to the images whose
	// policy.DeprecatedAtTag time is within it of Now.
	RestoreSince time.Duration
}

// RetryConfig bounds retries. Zero fields take the defaults.
type RetryConfig struct {
	MaxAttempts    int           // error answers per image before it fails; throttles do not count; default 8
	BaseDelay      time.Duration // first backoff ceiling; default 200ms
	MaxDelay       time.Duration // backoff ceiling; default 20s
	ThrottleGiveUp time.Duration // a region answering only throttles this long gives up; default 2m
	FailFastAfter  int           // consecutive permission or credential refusals that stop a region; default 3
}

func (c RetryConfig) withDefaults() RetryConfig {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = 200 * time.Millisecond
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 20 * time.Second
	}
	if c.ThrottleGiveUp <= 0 {
		c.ThrottleGiveUp = 2 * time.Minute
	}
	if c.FailFastAfter <= 0 {
		c.FailFastAfter = 3
	}
	return c
}

// failFastCodes are refusals that no retry and no other image will get past: a region that keeps
// answering them is stopped instead of being asked once per image.
// Every security token refusal is one too, named here or not (see isFailFast).
var failFastCodes = map[string]bool{
	"Forbidden.RAM":                              true,
	"Forbidden":                                  true,
	"InvalidAccessKeyId.NotFound":                true,
	"InvalidAccessKeyId":                         true,
	"SignatureDoesNotMatch":                      true,
	"InvalidCredentials":                         true,
	"MissingSecurityToken":                       true,
	"InvalidSecurityToken.Expired":               true,
	"InvalidSecurityToken.MismatchWithAccessKey": true,
	"InvalidSecurityToken.Malformed":             true,
}

// isFailFast reports whether a code is a refusal that stops a region: one of failFastCodes, or
// any other refusal of the security token (InvalidSecurityToken.*).
func isFailFast(code string) bool {
	return failFastCodes[code] || isSecurityTokenCode(code)
}

// isSecurityTokenCode reports whether the service refused the STS security token.
func isSecurityTokenCode(code string) bool {
	return code == "MissingSecurityToken" || code == "InvalidSecurityToken" || strings.HasPrefix(code, "InvalidSecurityToken.")
}

// failFastHint says what a fail-fast code means for the credential, for the stop message; ""
// when the code says it well enough.
func failFastHint(code string) string {
	if isSecurityTokenCode(code) {
		return ": the service refused the STS security token (missing, malformed, expired or not the access key's); " +
			"get a fresh token with its access key and run again"
	}
	return ""
}

// Runner holds one run's state. Its report can be taken at any moment (Report), so that an
// interrupted process still writes one.
type Runner struct {
	cfg   Config
	retry RetryConfig
	log   *zap.Logger
	now   func() time.Time

	mu      sync.Mutex
	items   []*item
	regions map[string]*regionState
	order   []string
	fault   string
	warns   []string
	started time.Time
	waited  time.Duration // at the confirmation prompt
	total   atomic.Int64
	done    atomic.Int64
	stop    context.CancelFunc // stops the run on a fatal fault
	calls   *calls             // every request goes through it
	prog    phaseProgress
	follow  followUp       // blocker lookups and snapshot deletions; guarded by mu
	reading sync.WaitGroup // the regions' background reads (readRegion)
}

// item is one selected image and what became of it. Fields after the first block are guarded by
// Runner.mu once the item is shared.
type item struct {
	region, id, name string

	state     state  // changed only by Runner.move once the item is shared
	code      string // why it is in its state: the service's code or one of ours
	message   string
	requestID string
	attempts  int
	errors    int // error answers (not throttles) in the current phase

	createdAt    time.Time        // from the listing; zero when not found
	family       string           // from the listing
	selectedBy   string           // "image_ids" or "select"; "" when not selected
	protectedBy  string           // the rule that kept a skipped image
	size         int              // GiB, from the listing
	snapshots    []ecs.Snapshot   // from the listing's DiskDeviceMappings, where they are deleted
	blockers     *report.Blockers // what the blocker lookup found; nil when none was made
	referencedBy []string         // what still names the image, when that kept it
	grace        time.Duration    // staged retention: the region's deprecate_first; 0 when not staged
	eligible     time.Time        // staged retention: when a deprecated (or to be) image may be deleted; zero when unknown

	// The flags together, so that a hundred thousand items pad once each.
	force       bool
	inflight    bool // a request for it is on its way
	tagOnly     bool // staged retention: Deprecated already, without our tag: tag it only
	toDeprecate bool // staged retention: selected to be deprecated (not yet Deprecated)
	changed     bool // staged retention: its real status change took effect (answered, or found by a lookup)
	confirmed   bool // a lookup after its real delete settled it (settleDeleted)
}

// regionState is what the runner knows of one region while it runs.
type regionState struct {
	name     string
	limiters map[string]*pace.Pacer
	ownCount int // the region's own custom images, for max_deletion_percent; -1 if not counted

	// Guarded by Runner.mu.
	stopped        bool
	stopOutcome    report.Outcome
	stopCode       string
	stopMessage    string
	failFast       int
	throttledSince time.Time
	err            string            // why the region could not be processed; "" if it could
	errCode        string            // the code behind err
	families       map[string]string // image id -> family, of the own Available images; nil if not listed
	listedFamilies map[string]string // the same, of the selection's listing, when it has them all (coversFamilies)

	read *regionRead // what the references step needs, read as the region is listed; set before the listing starts
}

// New prepares a run.
func New(cfg Config) *Runner {
	r := &Runner{cfg: cfg, retry: cfg.Retry.withDefaults(), log: cfg.Logger, now: cfg.Now, regions: map[string]*regionState{}}
	if r.log == nil {
		r.log = zap.NewNop()
	}
	concurrency := 1
	if cfg.Policy != nil {
		concurrency = cfg.Policy.Concurrency
	}
	r.calls = newCalls(concurrency, r.retry, r.log)
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

func (r *Runner) region(name string) *regionState {
	r.mu.Lock()
	defer r.mu.Unlock()
	rs := r.regions[name]
	if rs == nil {
		rs = &regionState{name: name, limiters: map[string]*pace.Pacer{}, ownCount: -1}
		for _, action := range slices.Concat([]string{"DescribeImages", "DeleteImage"}, followUpActions, referenceActions, stagedActions) {
			cfg := r.cfg.Rate
			told := cfg.OnCut
			cfg.OnCut = func(ceiling, restart float64, outage bool) {
				if told != nil {
					told(ceiling, restart, outage)
				}
				r.log.Debug("pace cut", zap.String("region", name), zap.String("action", action),
					zap.Float64("ceiling", math.Round(ceiling*10)/10), zap.Float64("restart", math.Round(restart*10)/10), zap.Bool("outage", outage))
			}
			rs.limiters[action] = pace.New(cfg, time.Now) // pacing follows the real clock, whatever Now says
		}
		r.regions[name] = rs
		r.order = append(r.order, name)
	}
	return rs
}

// Run runs the whole job and returns its report. The error is non-nil only when the run could
// not start; every outcome, fault and interruption is in the report.
func (r *Runner) Run(ctx context.Context) (*report.Report, error) {
	if r.cfg.Command != Plan && r.cfg.Command != Apply && r.cfg.Command != Restore {
		return nil, fmt.Errorf("unknown command %q", r.cfg.Command)
	}
	r.mu.Lock()
	r.started = r.now()
	r.mu.Unlock()
	outer := ctx // not stopped by a fatal fault
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	r.stop = stop

	steps := r.steps(outer)
	if r.cfg.Command == Restore {
		steps = r.restoreSteps()
	}
	for _, st := range steps {
		r.log.Debug("phase", zap.String("phase", st.name))
		r.startPhase(st.name)
		st.run(ctx)
		r.journalFlush()
	}
	r.calls.wait()
	r.journalFlush()
	status := report.StatusCompleted
	switch {
	case r.aborted():
		status = report.StatusAborted
	case ctx.Err() != nil && r.faultText() == "":
		status = report.StatusInterrupted
	}
	return r.Report(status), nil
}

// interruptedLookupTimeout bounds the lookup that settles unknown results after an interruption.
const interruptedLookupTimeout = 30 * time.Second

// settleContext is the context of a read-only lookup that settles an unknown result: ctx while
// the run goes on; once it stopped, one the stop does not end, bounded by interruptedLookupTimeout.
func settleContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), interruptedLookupTimeout)
}

// step is one phase of a run: a name for the log and what it does. Each step decides for itself
// whether it has anything to do: the command, a stop, an earlier step's verdict.
type step struct {
	name string
	run  func(ctx context.Context)
}

// steps are the run's phases, in order. ctx, given to each, is stopped by a fatal fault; outer
// is not, for the one read-only lookup that must follow such a fault.
func (r *Runner) steps(outer context.Context) []step {
	cleared := false // apply: the guards and the confirmation let the real deletes and deprecations go
	return []step{
		{"list and select", r.resolveAll},
		{"references", r.checkReferences},
		{"dry run", func(ctx context.Context) {
			open := r.itemsIn(stateSelected)
			r.log.Info("selected", zap.Int("images", len(r.items)), zap.Int("to_check", len(open)))
			r.phase(ctx, open, true)
			r.deprecateDry(ctx)
		}},
		{"what an ignored dry run deleted", func(context.Context) { r.lookUpDryRunIgnored(outer) }},
		{"guards", func(ctx context.Context) {
			switch {
			case r.cfg.Command == Plan:
				if code, msg := r.limitBreach(r.itemsIn(stateWouldDelete)); code != "" {
					r.warn("apply would abort (" + code + "): " + msg)
				}
			case ctx.Err() == nil:
				// Both the deletions and the deprecations are asked about, even a run that only
				// deprecates: each changes the account, and a no leaves every one unsent.
				passed, deprecating := r.itemsIn(statePassed), r.itemsIn(stateToDeprecate)
				cleared = r.guard(passed, deprecating) &&
					r.confirm(ctx, "apply was not confirmed: nothing deleted or deprecated", slices.Concat(passed, deprecating), applyShown)
			}
		}},
		{"deprecate", func(ctx context.Context) { r.deprecate(ctx, cleared) }},
		{"delete", func(ctx context.Context) {
			if cleared {
				passed := r.itemsIn(statePassed)
				r.log.Info("deleting", zap.Int("images", len(passed)))
				r.phase(ctx, passed, false)
			}
		}},
		{"confirm", func(ctx context.Context) {
			switch {
			case !cleared:
			case ctx.Err() == nil:
				// What the delete phase did not confirm as it went (confirmBatch).
				r.confirmDeleted(ctx, r.itemsWhere(func(it *item) bool {
					return (it.state == stateDeleted || it.state == stateUnknown) && !it.confirmed
				}))
			case r.faultText() == "":
				// Interrupted: nothing new is deleted, but a real delete of unknown result is
				// settled by one read-only lookup, bounded in time, so that the report says what
				// happened. A second signal ends the process first; then it says unknown.
				lctx, cancel := settleContext(ctx)
				defer cancel()
				r.confirmDeleted(lctx, r.itemsIn(stateUnknown))
			}
		}},
		{"follow-ups", r.followUps},
		{"requests in flight", func(context.Context) { r.calls.wait() }},
	}
}

// Report builds the report as things stand. Images still open end not_attempted; one whose
// request is in flight ends failed, since its result is unknown.
func (r *Runner) Report(status string) *report.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := report.New(r.cfg.Command, r.cfg.PolicyPath, r.cfg.PolicyBytes, r.started)
	for _, name := range r.order {
		rt := rep.AddRegion(name)
		rt.Error, rt.ErrorCode = r.regions[name].err, r.regions[name].errCode
	}
	rep.Images = make([]report.Entry, 0, len(r.items))
	last, familyWarnings := r.lastInFamily()
	for _, it := range r.items {
		e := entryOf(it)
		e.Outcome, e.Code, e.Message, e.RequestID = it.state.outcome(), it.code, it.message, it.requestID
		e.ReferencedBy, e.LastInFamily, e.ProtectedBy = slices.Clone(it.referencedBy), last[it], it.protectedBy
		switch {
		case !it.state.open():
		case it.state == stateUnknown:
			// No answer said whether its real delete took effect, and no lookup told (yet).
			e.Outcome, e.Code, e.Message = report.Failed, CodeDeleteResultUnknown, unknownResultMessage+" (last answer: "+it.code+")"
		case it.changed:
			// Its status change took effect; the process stopped before the tag call that
			// follows it had an answer.
			e.Outcome, e.Message = report.Deprecated, "deprecated; the process stopped before its tag was set: "+report.UntaggedNext
			if r.cfg.Command == Restore {
				e.Outcome, e.Message = report.Restored, "set back to Available; the process stopped before its "+policy.DeprecatedAtTag+" tag was removed "+report.TagLeftHarmless
			}
		case it.inflight:
			e.Outcome, e.Code, e.Message = report.Failed, CodeInterruptedInFlight, "the process stopped while a request for this image was in flight; its result is unknown"
		default:
			e.Outcome = report.NotAttempted
		}
		if !it.eligible.IsZero() && (e.Outcome == report.Deprecated || e.Outcome == report.WouldDeprecate ||
			(e.Outcome == report.Skipped && e.Code == CodeInGracePeriod)) {
			t := it.eligible.UTC()
			e.EligibleAt = &t
		}
		r.annotate(&e, it)
		rep.Add(e)
	}
	rep.Fault = r.fault
	rep.ConfirmationSeconds = r.waited.Seconds()
	rep.Warnings = slices.Concat(r.warns, familyWarnings)
	rep.Finish(status, r.now())
	return rep
}

func (r *Runner) faultText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fault
}

func (r *Runner) aborted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, it := range r.items {
		switch it.code {
		case CodeMaxDeletions, CodeMaxDeletionPercent, CodeNotConfirmed:
			return true
		}
	}
	return false
}

func (r *Runner) addItems(its []*item) {
	r.mu.Lock()
	r.items = append(r.items, its...)
	r.journalSelected(its)
	r.mu.Unlock()
	r.total.Add(int64(len(its)))
	for _, it := range its {
		if !it.state.open() {
			r.progress()
		}
	}
}

// progress counts an image that reached its outcome.
func (r *Runner) progress() { r.done.Add(1) }

// itemsWhere returns the items keep holds for, read under the lock.
func (r *Runner) itemsWhere(keep func(*item) bool) []*item {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*item
	for _, it := range r.items {
		if keep(it) {
			out = append(out, it)
		}
	}
	return out
}

// itemsIn returns the items in state s.
func (r *Runner) itemsIn(s state) []*item {
	return r.itemsWhere(func(it *item) bool { return it.state == s })
}

// eachItem runs fn on every item at once, with its region, and returns when all have: the
// calls fn makes take the concurrency slots and paces as any.
func (r *Runner) eachItem(items []*item, fn func(rs *regionState, it *item)) {
	r.eachRegion(items, func(rs *regionState, its []*item) {
		var wg sync.WaitGroup
		for _, it := range its {
			wg.Go(func() { fn(rs, it) })
		}
		wg.Wait()
	})
}

// eachItemProbed is eachItem for a DryRun step: in each region the items go one at a time until
// fn reports that one proved the endpoint honours DryRun (a DryRun that passed), then all the
// others at once, so that an endpoint that ignores DryRun changes one image a region at most
// before the run stops on it (as the DeleteImage DryRuns do, dispatch).
func (r *Runner) eachItemProbed(items []*item, fn func(rs *regionState, it *item) (proven bool)) {
	r.eachRegion(items, func(rs *regionState, its []*item) {
		i := 0
		for i < len(its) {
			i++
			if fn(rs, its[i-1]) {
				break
			}
		}
		var wg sync.WaitGroup
		for _, it := range its[i:] {
			wg.Go(func() { fn(rs, it) })
		}
		wg.Wait()
	})
}

// eachRegion runs fn on every region's share of items, all regions at once, and returns when
// all have.
func (r *Runner) eachRegion(items []*item, fn func(rs *regionState, its []*item)) {
	byRegion := map[string][]*item{}
	for _, it := range items {
		byRegion[it.region] = append(byRegion[it.region], it)
	}
	var wg sync.WaitGroup
	for name, its := range byRegion {
		wg.Go(func() { fn(r.region(name), its) })
	}
	wg.Wait()
}

// fatal stops the whole run: no request starts after it but the read-only lookup of the images
// that the fault may have deleted (lookUpDryRunIgnored).
func (r *Runner) fatal(msg string) {
	r.mu.Lock()
	if r.fault == "" {
		r.fault = msg
	}
	r.mu.Unlock()
	r.log.Error("fatal fault, stopping", zap.String("fault", msg))
	r.stop()
}

func (r *Runner) warn(msg string) {
	r.mu.Lock()
	r.warns = append(r.warns, msg)
	r.mu.Unlock()
	r.log.Warn(msg)
}

// limitBreach checks the policy's limits against the images that would be deleted and
// returns our code and a message for the first one broken, or "" when none is.
func (r *Runner) limitBreach(toDelete []*item) (code, msg string) {
	perRegion := countByRegion(toDelete)
	counts := make([]policy.Count, 0, len(perRegion))
	for _, name := range slices.Sorted(maps.Keys(perRegion)) {
		counts = append(counts, policy.Count{Region: name, Selected: perRegion[name], Owned: r.region(name).ownCount})
	}
	var le *policy.LimitError
	if err := r.cfg.Policy.CheckLimits(counts); errors.As(err, &le) {
		code = CodeMaxDeletions
		if le.Limit == "limits.max_deletion_percent" {
			code = CodeMaxDeletionPercent
		}
		return code, le.Error()
	}
	return "", ""
}

// guard applies the policy's limits between the phases, to the images that would be deleted. It
// reports false, and leaves every passed image and every image to deprecate not_attempted, when
// a limit would be exceeded.
func (r *Runner) guard(passed, deprecating []*item) bool {
	code, msg := r.limitBreach(passed)
	if code == "" {
		return true
	}
	msg += ": nothing deleted"
	if len(deprecating) > 0 {
		msg += " or deprecated"
	}
	r.mu.Lock()
	r.fault = msg
	r.mu.Unlock()
	r.log.Error("guard abort", zap.String("code", code), zap.String("reason", msg))
	for _, it := range slices.Concat(passed, deprecating) {
		r.move(it, stateNotAttempted, code, msg)
	}
	return false
}

// entryOf is the part of an item's report entry that says who it is and what the listing said
// of it, before its outcome: the report and the confirmation start from it. Callers hold r.mu.
func entryOf(it *item) report.Entry {
	e := report.Entry{Region: it.region, ImageID: it.id, Name: it.name, Attempts: it.attempts, SizeGiB: it.size,
		Family: it.family, SelectedBy: it.selectedBy}
	if !it.createdAt.IsZero() {
		t := it.createdAt.UTC()
		e.CreatedAt = &t
	}
	return e
}

// applyShown is how apply's confirmation shows an image: would_delete when its DeleteImage
// DryRun passed; would_deprecate when its ModifyImageAttribute DryRun did; and a Deprecated image
// that only gets our tag as what it ends as, skipped InGracePeriod.
func applyShown(it *item) (report.Outcome, string, string) {
	switch {
	case it.state == statePassed:
		return report.WouldDelete, "", ""
	case it.tagOnly:
		return report.Skipped, CodeInGracePeriod, "Deprecated without the " + policy.DeprecatedAtTag + " tag: tagged now, its grace period starts now"
	}
	return report.WouldDeprecate, "", ""
}

// confirm asks Config.Confirm, showing each image as shown says: the outcome it is to get, with
// a code and message when the outcome alone does not say what will be done. A no marks every one
// not_attempted (NotConfirmed) and faults the run with refusal; a stop while asking (a signal at
// the prompt) leaves them open, to end not_attempted as any image an interrupted run did not
// reach.
func (r *Runner) confirm(ctx context.Context, refusal string, passed []*item, shown func(*item) (o report.Outcome, code, msg string)) bool {
	if r.cfg.Confirm == nil || len(passed) == 0 {
		return true
	}
	toChange := make([]report.Entry, 0, len(passed))
	r.mu.Lock()
	for _, it := range passed {
		e := entryOf(it)
		e.Outcome, e.Code, e.Message = shown(it)
		toChange = append(toChange, e)
	}
	r.mu.Unlock()
	slices.SortFunc(toChange, func(a, b report.Entry) int {
		return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.ImageID, b.ImageID))
	})
	asked := time.Now()
	yes := r.cfg.Confirm(toChange)
	r.prog.prompt.Add(int64(time.Since(asked)))
	r.mu.Lock()
	r.waited = time.Since(asked)
	r.mu.Unlock()
	if yes {
		return ctx.Err() == nil
	}
	if ctx.Err() != nil {
		return false
	}
	msg := refusal
	r.mu.Lock()
	r.fault = msg
	r.mu.Unlock()
	for _, it := range passed {
		r.move(it, stateNotAttempted, CodeNotConfirmed, msg)
	}
	return false
}

func countByRegion(items []*item) map[string]int {
	m := map[string]int{}
	for _, it := range items {
		m[it.region]++
	}
	return m
}
