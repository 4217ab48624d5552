// Package ecstest is an in-memory emulator of the Alibaba Cloud ECS image
// API (version 2014-05-26) that the real, unmodified SDK talks to over real
// HTTP, in the spirit of net/http/httptest.
//
// It verifies ACS3-HMAC-SHA256 signatures, answers DescribeImages,
// DeleteImage, DescribeInstances, DescribeImageSharePermission,
// DeleteSnapshot, DescribeLaunchTemplates and DescribeLaunchTemplateVersions
// from a State, and on the same URL the Auto Scaling (ESS, version
// 2014-08-28) DescribeScalingConfigurations, and injects seeded, reproducible
// faults (latency, throttling, 5xx, connections dropped after a delete).
// For staged retention it also answers ModifyImageAttribute (Status
// Deprecated or Available), TagResources, UntagResources and
// ListTagResources for images, and DescribeImageFromFamily.
package ecstest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	randv2 "math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// AccessKeyID is the access key id the emulator accepts by default.
const AccessKeyID = "LTAI5tEmulatorKey0000001"

// AccessKeySecret is the secret of AccessKeyID.
const AccessKeySecret = "emulator-secret-do-not-use"

// APIVersion is the ECS API version the emulator answers.
const APIVersion = "2014-05-26"

// Options configure a Server.
type Options struct {
	// Credentials maps access key id to secret; nil means {AccessKeyID: AccessKeySecret}.
	Credentials map[string]string
	// Seed seeds every random fault. A request's draws depend on the seed and the request's
	// identity (action, its parameters, and how many times the same request was seen before),
	// not on the order requests arrive in: same seed, same faults, however the job's
	// goroutines interleave.
	Seed int64
	// MissingImage selects the answer to DeleteImage of a nonexistent (or not
	// self-owned) image: "error" (default; 404 InvalidImageId.NotFound) or
	// "ignore" (200, as the parameter table says; a DryRun answers DryRunOperation).
	MissingImage string
	// IgnoreDryRun is a faulty mode: DryRun=true is ignored and the image is
	// really deleted (answers 200).
	IgnoreDryRun bool
	// Faults by action name ("DeleteImage", "DescribeImages", ...); key "*"
	// applies to every action without its own entry.
	Faults map[string]Faults
	// RegionRPS limits requests per second per region across all actions
	// (token bucket, burst max(1, RPS/10)); above it 400 Throttling.User with
	// rate-limit headers. 0 = unlimited. DeleteSnapshot (no RegionId) counts
	// against the region of the snapshot, or "" if unknown.
	RegionRPS float64
	// ActionRPS limits requests per second per region and action, as the real service's limits
	// are: each action named here has its own bucket in each region (burst max(1, RPS/10)),
	// and its requests do not count against RegionRPS. Other actions fall back to RegionRPS.
	ActionRPS map[string]float64
	// Deny answers an action with a refusal code after the signature is checked, as a RAM
	// policy that allows listing but not deleting would, or a key revoked mid-run. Keys are an
	// action ("DeleteImage") or a region and action ("cn-hangzhou/DeleteImage"); values are
	// codes: Forbidden.RAM (403), InvalidAccessKeyId.NotFound (404), SignatureDoesNotMatch
	// (400) or any other (403).
	Deny map[string]string
	// Now is the clock for signature date checks (x-acs-date within 15
	// minutes of it); nil = time.Now. Rate limiting always uses the real clock.
	Now func() time.Time
	// STS makes access keys (of Credentials) STS keys: a request signed with one must carry its
	// security token in x-acs-security-token, as the service checks after the signature. No
	// token: 400 MissingSecurityToken; the token of another STS key: 400
	// InvalidSecurityToken.MismatchWithAccessKey; any other wrong value: 400
	// InvalidSecurityToken.Malformed; the right token past its Expires (by Now): 400
	// InvalidSecurityToken.Expired. SetSTS changes them at run time (a rotation, an expiry).
	STS map[string]STSToken
	// TagQueryCap is the most images a DescribeImages with Tag.N filters finds in all, as the
	// API reference says the service does (1,000): the matches past it are never listed, on
	// any page. 0 means 1,000; negative means no cap.
	TagQueryCap int
	// TagQueryTotal says what TotalCount a capped tag query reports, which the reference does
	// not: "capped" (default; min(matches, cap)) or "all" (every match, though only the first
	// cap are ever listed: the pages past it come back empty).
	TagQueryTotal string
	// SameStatus selects the answer to ModifyImageAttribute of a Status the image already has
	// (a retry of a change whose answer was lost, say), which the API reference does not give:
	// "ignore" (default; the request changes nothing and succeeds, DryRun or not) or "error"
	// (403 CodeSameStatus, the emulator's own guess at a refusal, on the DryRun too).
	SameStatus string
	// MissingSnapshot selects the answer to DeleteSnapshot of a snapshot that does not exist:
	// "error" (default; 404 InvalidSnapshotId.NotFound, as the error table says) or "ignore"
	// (200, as the parameter table says: the request is ignored).
	MissingSnapshot string
	// RegionalEndpoints serves every region under its own host names, as the service does:
	// ecs.<region>.aliyuncs.com and ecs-<region>.aliyuncs.com for ECS, ess.<region>.aliyuncs.com
	// for Auto Scaling; the central ecs.aliyuncs.com and ess.aliyuncs.com serve every region.
	// The Host a request arrives at picks the product (a version of the other product answers
	// InvalidAction.NotFound) and the region: a RegionId of another region, a DeleteSnapshot of
	// another region's snapshot, or a host that is none of these is refused (see
	// CodeWrongEndpoint). Tests reach the one listener under every name through a dialer.
	RegionalEndpoints bool
	// DiscardCalls keeps no call log (Calls returns none), only the tallies of Counts: for
	// runs of hundreds of thousands of calls, whose log would outweigh what they measure.
	DiscardCalls bool
	// Regions are regions the account has beyond those of the state, with nothing in them:
	// DescribeRegions lists them with the state's, and every other action answers for them as
	// for an empty region rather than InvalidRegionId.NotFound.
	Regions []string
	// OnAnswer, when set, is called with every call once it is decided and logged, just before
	// its answer leaves (or its connection is dropped), on the request's own goroutine: the
	// effect is done and the client has not seen the answer yet. A test counts the answers of
	// an action with it, or acts at the k-th (cancels a run, signals or kills a process) at an
	// exact point rather than a time. It may block: the answer waits for it. It must be safe
	// for concurrent use, and must not call the Server's methods that wait for requests.
	OnAnswer func(Call)
}

// STSToken is the security token of an STS access key.
type STSToken struct {
	Token   string
	Expires time.Time // zero: never
}

// Faults are injected into the answers to one action.
type Faults struct {
	// Latency is added before answering (cancelled with the request context).
	Latency time.Duration
	// ThrottleRatio of requests are answered with one of (random) 400
	// Throttling.User, 429 Throttling, 503 ServiceUnavailable, carrying an
	// x-ratelimit-user-api header "Limit:N,Remain:0,TimeLeft:<ms>,Reset:<unix>".
	ThrottleRatio float64
	// InternalErrorRatio of requests are answered 500 InternalError.
	InternalErrorRatio float64
	// UnavailableRatio of requests are answered 503 ServiceUnavailable.
	UnavailableRatio float64
	// DropAfterDeleteRatio applies to real (non-dry) successful DeleteImage
	// and successful DeleteSnapshot only: the delete takes effect, then the
	// connection is closed with no answer. This and the other *Delete ratios
	// apply alike to the changes of staged retention: a real successful
	// ModifyImageAttribute, TagResources and UntagResources.
	DropAfterDeleteRatio float64
	// UnappliedDeleteRatio applies to real (non-dry) DeleteImage that would succeed: the
	// service answers 200 but the image stays, a lost write that only a second look reveals.
	UnappliedDeleteRatio float64
	// ErrorAfterDeleteRatio applies to real successful DeleteImage and DeleteSnapshot: the
	// delete takes effect, then the answer is 500 InternalError (a gateway that lost the
	// backend's answer). A 5xx does not say the delete did not happen.
	ErrorAfterDeleteRatio float64
	// StallAfterDeleteRatio applies to real successful DeleteImage and DeleteSnapshot: the
	// delete takes effect, then no answer comes until the client gives up (its timeout).
	StallAfterDeleteRatio float64
}

// Call is one entry of the call log.
type Call struct {
	Action, Version, Region, AccessKeyID string
	Host                                 string            // the Host header it arrived with
	Params                               map[string]string // decoded query (first value of each key)
	ImageID                              string
	DryRun, Force                        bool
	Status                               int    // HTTP status answered; 0 if none (dropped, or cancelled during Latency)
	Code                                 string // error code answered, "" for 2xx; "RequestCanceled" if cancelled during Latency
	RequestID                            string
	Dropped                              bool // connection dropped after the effect
	// Limited: refused by the rate limits (RegionRPS, ActionRPS), which it did not count
	// against. Injected: answered by a fault of Faults' ratios (a throttle, a 500, a 503) after
	// the rate limits counted it.
	Limited, Injected bool
	// Effect is set on a real DeleteImage or DeleteSnapshot that took effect, and on a real
	// ModifyImageAttribute, TagResources or UntagResources that was applied, whatever was
	// answered (200, a dropped connection, an error or a stall after the effect).
	Effect     bool
	Start, End time.Time
}

// Server is a running emulator. Its methods are safe for concurrent use.
type Server struct {
	opts  Options
	creds map[string]string

	denyMu sync.Mutex
	deny   map[string]string
	sts    map[string]STSToken // guarded by denyMu
	now    func() time.Time

	ln  net.Listener
	hs  *http.Server
	url string

	mu        sync.Mutex // guards regions and snapshots
	regions   map[string]*regionState
	snapshots map[string]*snapState

	faultMu   sync.Mutex // guards faults, seen, rps, buckets
	faults    map[string]Faults
	seen      map[uint64]uint64 // times each request identity was drawn for
	rps       float64
	buckets   map[string]*bucket
	nonceMu   sync.Mutex
	nonceCur  map[string]struct{}
	noncePrev map[string]struct{}
	nonceRot  time.Time

	logMu  sync.Mutex
	calls  []Call
	counts map[CallKind]int

	inFlight atomic.Int64
	peak     atomic.Int64
}

type regionState struct {
	name        string
	images      map[string]*Image
	sorted      []*Image // CreationTime desc, then id; nil when stale
	instances   []Instance
	instByImage map[string]int

	templates      []LaunchTemplate       // by id, versions newest first
	scalingConfigs []ScalingConfiguration // by id
}

type snapState struct {
	Snapshot
	region string
	refs   int // images referencing it
	busy   int // DeleteSnapshot requests answered with a passing refusal
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewServer starts a server on 127.0.0.1:0 serving a deep copy of st (nil
// means empty). It panics if it cannot listen or st is invalid, like httptest.
func NewServer(st *State, opts Options) *Server {
	s, err := NewServerAt("127.0.0.1:0", st, opts)
	if err != nil {
		panic(err)
	}
	return s
}

// NewServerAt is NewServer on a given loopback address ("127.0.0.1:18080").
// Non-loopback addresses are refused.
func NewServerAt(addr string, st *State, opts Options) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("ecstest: bad address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("ecstest: refusing non-loopback address %q", addr)
	}
	s, err := newServer(st, opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ecstest: listen: %w", err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.hs = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	go s.hs.Serve(ln) //nolint:errcheck // returns on Close
	return s, nil
}

// NewHandler returns a Server that is not listening, for use as an
// http.Handler (e.g. with httptest.NewRecorder). URL is empty; Close is a no-op.
func NewHandler(st *State, opts Options) (*Server, error) {
	return newServer(st, opts)
}

func newServer(st *State, opts Options) (*Server, error) {
	if err := st.Validate(); err != nil {
		return nil, err
	}
	switch opts.MissingImage {
	case "", "error", "ignore":
	default:
		return nil, fmt.Errorf("ecstest: MissingImage must be \"error\" or \"ignore\", not %q", opts.MissingImage)
	}
	switch opts.MissingSnapshot {
	case "", "error", "ignore":
	default:
		return nil, fmt.Errorf("ecstest: MissingSnapshot must be \"error\" or \"ignore\", not %q", opts.MissingSnapshot)
	}
	switch opts.SameStatus {
	case "", "ignore", "error":
	default:
		return nil, fmt.Errorf("ecstest: SameStatus must be \"ignore\" or \"error\", not %q", opts.SameStatus)
	}
	switch opts.TagQueryTotal {
	case "", "capped", "all":
	default:
		return nil, fmt.Errorf("ecstest: TagQueryTotal must be \"capped\" or \"all\", not %q", opts.TagQueryTotal)
	}
	s := &Server{
		opts:      opts,
		creds:     map[string]string{},
		deny:      map[string]string{},
		sts:       map[string]STSToken{},
		now:       opts.Now,
		regions:   map[string]*regionState{},
		snapshots: map[string]*snapState{},
		faults:    map[string]Faults{},
		seen:      map[uint64]uint64{},
		rps:       opts.RegionRPS,
		buckets:   map[string]*bucket{},
		nonceCur:  map[string]struct{}{},
		noncePrev: map[string]struct{}{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.nonceRot = s.now()
	if opts.Credentials == nil {
		s.creds[AccessKeyID] = AccessKeySecret
	}
	for k, v := range opts.Credentials {
		s.creds[k] = v
	}
	for k, v := range opts.Faults {
		s.faults[k] = v
	}
	for k, v := range opts.Deny {
		s.deny[k] = v
	}
	for k, v := range opts.STS {
		s.sts[k] = v
	}
	cp := st.Clone()
	for name, r := range cp.Regions {
		rs := &regionState{name: name, images: map[string]*Image{}, instByImage: map[string]int{}}
		s.regions[name] = rs
		rs.loadRefs(r)
		for _, sn := range r.Snapshots {
			s.snapshots[sn.ID] = &snapState{Snapshot: sn, region: name}
		}
		for i := range r.Images {
			im := r.Images[i]
			im.withDefaults()
			rs.images[im.ID] = &im
		}
		for _, in := range r.Instances {
			if in.Status == "" {
				in.Status = "Running"
			}
			rs.instances = append(rs.instances, in)
			rs.instByImage[in.ImageID]++
		}
		sort.Slice(rs.instances, func(i, j int) bool { return rs.instances[i].ID < rs.instances[j].ID })
	}
	for _, name := range opts.Regions {
		if name == "" {
			return nil, fmt.Errorf("ecstest: Options.Regions holds an empty region id")
		}
		if s.regions[name] == nil {
			s.regions[name] = &regionState{name: name, images: map[string]*Image{}, instByImage: map[string]int{}}
		}
	}
	// Implicit snapshots and reference counts, after every region's explicit list.
	for name, rs := range s.regions {
		for _, im := range rs.images {
			for i, sid := range im.Snapshots {
				sn := s.snapshots[sid]
				if sn == nil {
					size := 0
					if i == 0 {
						size = im.SizeGiB
					}
					sn = &snapState{Snapshot: Snapshot{ID: sid, SizeGiB: size}, region: name}
					s.snapshots[sid] = sn
				}
				sn.refs++
			}
		}
	}
	return s, nil
}

// URL returns the base URL, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return s.url }

// Addr returns the listening "host:port" (the SDK's Endpoint and NoProxy value).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the server and closes all connections.
func (s *Server) Close() {
	if s.hs != nil {
		s.hs.Close()
	}
}

// SetFaults changes the faults of an action ("*" for the default) at run time.
func (s *Server) SetFaults(action string, f Faults) {
	s.faultMu.Lock()
	s.faults[action] = f
	s.faultMu.Unlock()
}

// SetRegionRPS changes the per-region request rate limit (0 = unlimited).
func (s *Server) SetRegionRPS(rps float64) {
	s.faultMu.Lock()
	s.rps = rps
	s.buckets = map[string]*bucket{}
	s.faultMu.Unlock()
}

// Calls returns a copy of the call log in arrival order.
func (s *Server) Calls() []Call {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	out := make([]Call, len(s.calls))
	copy(out, s.calls)
	return out
}

// SetDeny makes key (an action, or "region/action") answer code from now on; an empty code
// lifts the denial.
func (s *Server) SetDeny(key, code string) {
	s.denyMu.Lock()
	defer s.denyMu.Unlock()
	if code == "" {
		delete(s.deny, key)
	} else {
		s.deny[key] = code
	}
}

// SetSTS makes an access key an STS key whose requests need tok from now on; an empty
// tok.Token makes it a plain access key again.
func (s *Server) SetSTS(key string, tok STSToken) {
	s.denyMu.Lock()
	defer s.denyMu.Unlock()
	if tok.Token == "" {
		delete(s.sts, key)
	} else {
		s.sts[key] = tok
	}
}

// checkToken checks the security token of a request signed by key, as the service does for
// STS keys.
func (s *Server) checkToken(key, token string) *apiError {
	s.denyMu.Lock()
	defer s.denyMu.Unlock()
	want, ok := s.sts[key]
	switch {
	case !ok:
		return nil
	case token == "":
		return errf(400, "MissingSecurityToken", "The input parameter \"SecurityToken\" that is mandatory for processing this request is not supplied.")
	case token == want.Token:
		if !want.Expires.IsZero() && !s.now().Before(want.Expires) {
			return errf(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
		}
		return nil
	}
	for other, tok := range s.sts {
		if other != key && tok.Token == token {
			return errf(400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey.")
		}
	}
	return errf(400, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.")
}

// denied returns the refusal for an action in a region, or nil.
func (s *Server) denied(region, action string) *apiError {
	s.denyMu.Lock()
	code := s.deny[region+"/"+action]
	if code == "" {
		code = s.deny[action]
	}
	s.denyMu.Unlock()
	switch code {
	case "":
		return nil
	case "Forbidden.RAM":
		return errf(403, code, "User not authorized to operate on the specified resource, or this API doesn't support RAM.")
	case "InvalidAccessKeyId.NotFound":
		return errf(404, code, "Specified access key is not found.")
	case "SignatureDoesNotMatch":
		return errf(400, code, "Specified signature is not matched with our calculation.")
	}
	return errf(403, code, "The request was denied.")
}

// InFlight is how many requests are being handled now.
func (s *Server) InFlight() int { return int(s.inFlight.Load()) }

// PeakInFlight returns the most requests that were being handled at once.
func (s *Server) PeakInFlight() int { return int(s.peak.Load()) }

// Image returns the current state of an image.
func (s *Server) Image(region, id string) (Image, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.regions[region]
	if rs == nil {
		return Image{}, false
	}
	im := rs.images[id]
	if im == nil {
		return Image{}, false
	}
	return im.clone(), true
}

// Images returns the current images of a region, newest first (the
// DescribeImages order); nil for an unknown region.
func (s *Server) Images(region string) []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.regions[region]
	if rs == nil {
		return nil
	}
	sorted := rs.sortedImages()
	out := make([]Image, len(sorted))
	for i, im := range sorted {
		out[i] = im.clone()
	}
	return out
}

// SnapshotExists reports whether a snapshot exists in any region.
func (s *Server) SnapshotExists(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.snapshots[id]
	return ok
}

// Instances returns the current instances of a region, sorted by id.
func (s *Server) Instances(region string) []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.regions[region]
	if rs == nil {
		return nil
	}
	return append([]Instance(nil), rs.instances...)
}

// State returns a deep copy of the current state.
func (s *Server) State() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &State{Regions: map[string]*Region{}}
	for name, rs := range s.regions {
		r := &Region{Instances: append([]Instance(nil), rs.instances...)}
		r.LaunchTemplates, r.ScalingConfigurations = rs.refState()
		for _, im := range rs.sortedImages() {
			r.Images = append(r.Images, im.clone())
		}
		st.Regions[name] = r
	}
	ids := make([]string, 0, len(s.snapshots))
	for id := range s.snapshots {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		sn := s.snapshots[id]
		if r := st.Regions[sn.region]; r != nil {
			r.Snapshots = append(r.Snapshots, sn.Snapshot)
		}
	}
	return st
}

// imagesIn returns the images of ids that exist, in sortedImages' order: a lookup by id reads
// those alone, as the service's does, not the whole region sorted again after each change.
func (rs *regionState) imagesIn(ids map[string]bool) []*Image {
	out := make([]*Image, 0, len(ids))
	for id := range ids {
		if im := rs.images[id]; im != nil {
			out = append(out, im)
		}
	}
	sort.Slice(out, func(i, j int) bool { return imageBefore(out[i], out[j]) })
	return out
}

// imageBefore is the listing's order: newest first, then by id.
func imageBefore(a, b *Image) bool {
	if !a.CreationTime.Equal(b.CreationTime) {
		return a.CreationTime.After(b.CreationTime)
	}
	return a.ID < b.ID
}

func (rs *regionState) sortedImages() []*Image {
	if rs.sorted == nil {
		rs.sorted = make([]*Image, 0, len(rs.images))
		for _, im := range rs.images {
			rs.sorted = append(rs.sorted, im)
		}
		sort.Slice(rs.sorted, func(i, j int) bool { return imageBefore(rs.sorted[i], rs.sorted[j]) })
	}
	return rs.sorted
}

// faultDraw holds the random numbers drawn for one request. All of them are
// drawn for every request, so that a seed reproduces the same faults for the
// same request whatever the configuration.
type faultDraw struct {
	f                                 Faults
	throttle, kind, internal, unavail float64
	drop, unapplied, after, afterKind float64
	// stall is set by an action whose effect is done and whose answer must never come.
	stall bool
}

// drawFaults draws one request's faults from a generator seeded by the server's seed and the
// request's identity: its action and canonical query (the nonce and date are headers, not
// part of it), and the number of times the same request came before. A retry of a request
// draws afresh; two runs of one seed draw alike whatever the order requests arrive in.
func (s *Server) drawFaults(action, query string) faultDraw {
	h := fnv.New64a()
	h.Write([]byte(action))
	h.Write([]byte{'?'})
	h.Write([]byte(query))
	id := h.Sum64()
	s.faultMu.Lock()
	f, ok := s.faults[action]
	if !ok {
		f = s.faults["*"]
	}
	n := s.seen[id]
	s.seen[id] = n + 1
	s.faultMu.Unlock()
	rng := randv2.New(randv2.NewPCG(uint64(s.opts.Seed)^id, n))
	return faultDraw{
		f:         f,
		throttle:  rng.Float64(),
		kind:      rng.Float64(),
		internal:  rng.Float64(),
		unavail:   rng.Float64(),
		drop:      rng.Float64(),
		unapplied: rng.Float64(),
		after:     rng.Float64(),
		afterKind: rng.Float64(),
	}
}

// allow applies the per-region token bucket. It returns 0 if the request may
// proceed, else how long until a token is available.
func (s *Server) allow(region, action string, now time.Time) (time.Duration, float64) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	rps := s.rps
	if r, ok := s.opts.ActionRPS[action]; ok {
		rps, region = r, region+"/"+action
	}
	if rps <= 0 {
		return 0, 0
	}
	burst := rps / 10
	if burst < 1 {
		burst = 1
	}
	b := s.buckets[region]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		s.buckets[region] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens += el * rps
		if b.tokens > burst {
			b.tokens = burst
		}
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0, rps
	}
	wait := time.Duration((1 - b.tokens) / rps * float64(time.Second))
	if wait <= 0 {
		wait = time.Millisecond
	}
	return wait, rps
}

// useNonce records a nonce; false if it was seen in the last 15-30 minutes.
// Memory is bounded: generations rotate every 15 minutes or at 1<<20 entries.
func (s *Server) useNonce(nonce string, now time.Time) bool {
	s.nonceMu.Lock()
	defer s.nonceMu.Unlock()
	if now.Sub(s.nonceRot) > 15*time.Minute || len(s.nonceCur) >= 1<<20 {
		s.noncePrev, s.nonceCur = s.nonceCur, make(map[string]struct{}, len(s.nonceCur)/2)
		s.nonceRot = now
	}
	if _, ok := s.nonceCur[nonce]; ok {
		return false
	}
	if _, ok := s.noncePrev[nonce]; ok {
		return false
	}
	s.nonceCur[nonce] = struct{}{}
	return true
}

func (s *Server) logCall(c Call) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if s.counts == nil {
		s.counts = map[CallKind]int{}
	}
	s.counts[CallKind{Action: c.Action, Code: c.Code, DryRun: c.DryRun}]++
	if !s.opts.DiscardCalls {
		s.calls = append(s.calls, c)
	}
}

// onAnswer calls Options.OnAnswer, if set, with a logged call.
func (s *Server) onAnswer(c Call) {
	if s.opts.OnAnswer != nil {
		s.opts.OnAnswer(c)
	}
}

// CallKind is what Counts tallies calls by.
type CallKind struct {
	Action string
	Code   string // "" for a 2xx answer
	DryRun bool
}

// Counts returns how many calls of each kind the server has answered (or dropped), whether or
// not it keeps the call log.
func (s *Server) Counts() map[CallKind]int {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return maps.Clone(s.counts)
}

func (s *Server) enter() {
	n := s.inFlight.Add(1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func newRequestID() string {
	const hexd = "0123456789ABCDEF"
	a, b := randv2.Uint64(), randv2.Uint64()
	var buf [36]byte
	j := 0
	for i := 0; i < 32; i++ {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			buf[j] = '-'
			j++
		}
		var nib uint64
		if i < 16 {
			nib = a >> (60 - 4*uint(i)) & 0xF
		} else {
			nib = b >> (60 - 4*uint(i-16)) & 0xF
		}
		buf[j] = hexd[nib]
		j++
	}
	return string(buf[:])
}

// apiError is an error answer.
type apiError struct {
	Status  int
	Code    string
	Message string
	Header  map[string]string
}

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// errorBody is an error answer. ECS's carries Recommend; Auto Scaling's has only RequestId,
// HostId, Code and Message, its HostId an ess host.
type errorBody struct {
	RequestId string
	HostId    string
	Code      string
	Message   string
	Recommend string `json:",omitempty"`
}

// essCentral are the regions whose Auto Scaling endpoint is the central ess.aliyuncs.com, as
// the ESS SDK's endpoint map has them.
var essCentral = map[string]bool{
	"cn-qingdao": true, "cn-beijing": true, "cn-hangzhou": true, "cn-shanghai": true, "cn-shenzhen": true,
	"cn-hongkong": true, "ap-southeast-1": true, "us-west-1": true, "us-east-1": true,
	"cn-shanghai-finance-1": true, "cn-shenzhen-finance-1": true, "cn-north-2-gov-1": true,
}

// hostID is the HostId of an answer: the host it arrived at in RegionalEndpoints mode, else
// the product's endpoint for the region.
func (s *Server) hostID(c *Call) string {
	if s.opts.RegionalEndpoints && c.Host != "" {
		return hostOnly(c.Host)
	}
	switch {
	case c.Version == ESSAPIVersion && (c.Region == "" || essCentral[c.Region]):
		return "ess.aliyuncs.com"
	case c.Version == ESSAPIVersion:
		return "ess." + c.Region + ".aliyuncs.com"
	case c.Region == "":
		return "ecs.aliyuncs.com"
	}
	return "ecs." + c.Region + ".aliyuncs.com"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil { // cannot happen with our types
		status = http.StatusInternalServerError
		data = []byte(`{"Code":"InternalError","Message":"marshal failed"}`)
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json;charset=utf-8"}
	h["Content-Length"] = []string{strconv.Itoa(len(data))}
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func (s *Server) writeError(w http.ResponseWriter, c *Call, e *apiError) {
	for k, v := range e.Header {
		w.Header().Set(k, v)
	}
	reqID := c.RequestID
	w.Header().Set("x-acs-request-id", reqID)
	body := errorBody{RequestId: reqID, HostId: s.hostID(c), Code: e.Code, Message: e.Message}
	if !s.isESS(c) {
		body.Recommend = "https://api.aliyun.com/troubleshoot?q=" + e.Code + "&product=Ecs&requestId=" + reqID
	}
	writeJSON(w, e.Status, body)
}

// isESS reports whether a request is for Auto Scaling: by its host in RegionalEndpoints mode,
// else by its signed version.
func (s *Server) isESS(c *Call) bool {
	if s.opts.RegionalEndpoints {
		if product, _, ok := parseHost(c.Host); ok {
			return product == "ess"
		}
	}
	return c.Version == ESSAPIVersion
}

// CodeWrongEndpoint is the emulator's own answer (400) in RegionalEndpoints mode to a request
// that arrived at a host that does not serve its region, or at no service host at all. The
// service's own answer to that is not documented.
const CodeWrongEndpoint = "InvalidEndpoint.RegionMismatch"

// hostOnly strips the port of a Host header.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// parseHost reads a service host name: its product ("ecs" or "ess") and region ("" for the
// central endpoint, which serves every region).
func parseHost(host string) (product, region string, ok bool) {
	rest, found := strings.CutSuffix(strings.ToLower(hostOnly(host)), ".aliyuncs.com")
	if !found {
		return "", "", false
	}
	for _, p := range []string{"ecs", "ess"} {
		switch {
		case rest == p:
			return p, "", true
		case strings.HasPrefix(rest, p+".") && len(rest) > len(p)+1:
			return p, rest[len(p)+1:], true
		case p == "ecs" && strings.HasPrefix(rest, "ecs-") && len(rest) > 4:
			return p, rest[4:], true
		}
	}
	return "", "", false
}

// checkEndpoint refuses, in RegionalEndpoints mode, a request whose host is not a service host,
// serves the other product, or serves another region than its RegionId.
func (s *Server) checkEndpoint(c *Call) *apiError {
	if !s.opts.RegionalEndpoints {
		return nil
	}
	product, region, ok := parseHost(c.Host)
	switch {
	case !ok:
		return errf(400, CodeWrongEndpoint, "The host %q is not an endpoint of the service.", hostOnly(c.Host))
	case (product == "ess") != (c.Version == ESSAPIVersion):
		return errf(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
	case region != "" && c.Region != "" && region != c.Region:
		return errf(400, CodeWrongEndpoint, "The region %s is not served at the endpoint %s.", c.Region, hostOnly(c.Host))
	}
	return nil
}

// hostRegion is the region a request's host serves in RegionalEndpoints mode; "" for the
// central endpoint or outside that mode.
func (s *Server) hostRegion(c *Call) string {
	if !s.opts.RegionalEndpoints {
		return ""
	}
	_, region, _ := parseHost(c.Host)
	return region
}
