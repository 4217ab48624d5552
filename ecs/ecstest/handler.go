package ecstest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	signAlgorithm = "ACS3-HMAC-SHA256"
	dateLayout    = "2006-01-02T15:04:05Z"
	maxClockSkew  = 15 * time.Minute
	maxBody       = 1 << 20
)

// requiredSignedHeaders must all appear in SignedHeaders.
var requiredSignedHeaders = []string{
	"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version",
}

type params map[string]string

type actionFunc func(s *Server, p params, c *Call, d *faultDraw) (resp any, e *apiError, drop bool)

// apis are the actions of each API version the emulator answers: ECS and, on the same URL,
// Auto Scaling (ESS). The signed x-acs-version picks the product, as the endpoint would.
var apis = map[string]map[string]actionFunc{
	APIVersion: {
		"DescribeImages":                 (*Server).describeImages,
		"DeleteImage":                    (*Server).deleteImage,
		"DescribeInstances":              (*Server).describeInstances,
		"DescribeImageSharePermission":   (*Server).describeImageSharePermission,
		"DeleteSnapshot":                 (*Server).deleteSnapshot,
		"DescribeLaunchTemplates":        (*Server).describeLaunchTemplates,
		"DescribeLaunchTemplateVersions": (*Server).describeLaunchTemplateVersions,
		"DescribeRegions":                (*Server).describeRegions,
		"ModifyImageAttribute":           (*Server).modifyImageAttribute,
		"TagResources":                   (*Server).tagResources,
		"UntagResources":                 (*Server).untagResources,
		"ListTagResources":               (*Server).listTagResources,
		"DescribeImageFromFamily":        (*Server).describeImageFromFamily,
	},
	ESSAPIVersion: {
		"DescribeScalingConfigurations": (*Server).describeScalingConfigurations,
	},
}

// lookupAction finds an action of a version: an action that no version has is not found, and
// a known action under a version that lacks it is a wrong version.
func lookupAction(version, action string) (actionFunc, *apiError) {
	if act, ok := apis[version][action]; ok {
		return act, nil
	}
	if _, ok := apis[version]; !ok {
		for _, api := range apis {
			if _, ok := api[action]; ok {
				return nil, errf(400, "InvalidVersion", "Specified parameter Version is not valid.")
			}
		}
	}
	return nil, errf(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
}

// ServeHTTP answers one API request. A Server is an http.Handler, so it can
// also be driven with httptest.NewRecorder (see NewHandler).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.enter()
	defer s.inFlight.Add(-1)
	c := Call{Start: time.Now(), RequestID: newRequestID()}
	resp, e, drop := s.handle(r, &c)
	switch {
	case drop:
		c.Dropped = true
		c.End = time.Now()
		s.logCall(c)
		s.onAnswer(c)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case e != nil && e.Status == 0: // cancelled, nothing to answer
		c.Code = e.Code
	case e != nil:
		c.Status, c.Code = e.Status, e.Code
	default:
		c.Status = http.StatusOK
	}
	// Logged before the answer leaves, so that a client that has its answer finds the call in
	// the log.
	c.End = time.Now()
	s.logCall(c)
	s.onAnswer(c)
	switch {
	case e != nil && e.Status == 0:
	case e != nil:
		s.writeError(w, &c, e)
	default:
		w.Header().Set("x-acs-request-id", c.RequestID)
		writeJSON(w, http.StatusOK, resp)
	}
}

func (s *Server) handle(r *http.Request, c *Call) (any, *apiError, bool) {
	c.Host = r.Host
	c.Action = r.Header.Get("x-acs-action")
	c.Version = r.Header.Get("x-acs-version")
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errf(400, "InvalidParameter", "The query string is malformed."), false
	}
	p := make(params, len(vals))
	for k, v := range vals {
		p[k] = v[0]
	}
	c.Params = p
	c.Region = p["RegionId"]
	c.ImageID = p["ImageId"]
	c.DryRun = strings.EqualFold(p["DryRun"], "true")
	c.Force = strings.EqualFold(p["Force"], "true")

	if r.URL.Path != "/" && r.URL.Path != "" {
		return nil, errf(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."), false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errf(400, "InvalidParameter", "The request body could not be read."), false
	}
	if len(body) > maxBody {
		return nil, errf(400, "InvalidParameter", "The request body is too large."), false
	}
	key, e := s.verify(r, vals, body)
	c.AccessKeyID = key
	if e != nil {
		if e.Code == "InvalidAccessKeyId.NotFound" && s.isESS(c) {
			// Auto Scaling's common error table has it 400, with its own message.
			e = errf(400, e.Code, "The Access Key ID provided does not exist in our records.")
		}
		return nil, e, false
	}
	if e := s.checkEndpoint(c); e != nil {
		return nil, e, false
	}
	if e := s.checkToken(key, r.Header.Get("x-acs-security-token")); e != nil {
		return nil, e, false
	}

	if c.Action == "" {
		return nil, errf(400, "MissingParameter", "The input parameter \"Action\" that is mandatory for processing this request is not supplied."), false
	}
	if c.Version == "" {
		return nil, errf(400, "MissingParameter", "The input parameter \"Version\" that is mandatory for processing this request is not supplied."), false
	}
	act, e := lookupAction(c.Version, c.Action)
	if e != nil {
		return nil, e, false
	}

	if e := s.denied(c.Region, c.Action); e != nil {
		return nil, e, false
	}
	d := s.drawFaults(c.Action, vals.Encode())
	if d.f.Latency > 0 {
		if e := sleepCtx(r.Context(), d.f.Latency); e != nil {
			return nil, e, false
		}
	}
	rlKey := c.Region
	if c.Action == "DeleteSnapshot" {
		s.mu.Lock()
		if sn := s.snapshots[p["SnapshotId"]]; sn != nil {
			rlKey = sn.region
		}
		s.mu.Unlock()
	}
	now := time.Now() // rate limits follow the real clock, not Options.Now
	if wait, rps := s.allow(rlKey, c.Action, now); wait > 0 {
		c.Limited = true
		e := errf(400, "Throttling.User", "Request was denied due to user flow control.")
		e.Header = rateLimitHeader(int(rps+0.5), wait, now)
		return nil, e, false
	}
	if d.throttle < d.f.ThrottleRatio {
		c.Injected = true
		var e *apiError
		switch {
		case d.kind < 1.0/3:
			e = errf(400, "Throttling.User", "Request was denied due to user flow control.")
		case d.kind < 2.0/3:
			e = errf(429, "Throttling", "Request was denied due to request throttling.")
		default:
			e = errf(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
		}
		wait := time.Second - time.Duration(now.Nanosecond())
		e.Header = rateLimitHeader(100, wait, now)
		return nil, e, false
	}
	if d.internal < d.f.InternalErrorRatio {
		c.Injected = true
		return nil, errf(500, "InternalError", "The request processing has failed due to some unknown error, exception or failure."), false
	}
	if d.unavail < d.f.UnavailableRatio {
		c.Injected = true
		return nil, errf(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."), false
	}
	resp, e, drop := act(s, p, c, &d)
	if d.stall {
		// The effect is done; the answer never comes: the client's timeout ends the request.
		<-r.Context().Done()
		return nil, &apiError{Code: "RequestCanceled", Message: r.Context().Err().Error()}, false
	}
	return resp, e, drop
}

func sleepCtx(ctx context.Context, d time.Duration) *apiError {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return &apiError{Code: "RequestCanceled", Message: ctx.Err().Error()}
	}
}

func rateLimitHeader(limit int, wait time.Duration, now time.Time) map[string]string {
	ms := wait.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	reset := now.Add(wait).Unix()
	return map[string]string{
		"x-ratelimit-user-api": "Limit:" + strconv.Itoa(limit) + ",Remain:0,TimeLeft:" +
			strconv.FormatInt(ms, 10) + ",Reset:" + strconv.FormatInt(reset, 10),
	}
}

// verify checks the ACS3-HMAC-SHA256 signature, date and nonce. It returns
// the access key id named by the request (for the log).
func (s *Server) verify(r *http.Request, vals url.Values, body []byte) (string, *apiError) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", errf(400, "MissingAuthorization", "The Authorization header that is mandatory for processing this request is not supplied.")
	}
	incomplete := errf(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
	rest, ok := strings.CutPrefix(auth, signAlgorithm+" ")
	if !ok {
		return "", incomplete
	}
	var cred, signed, sig string
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", incomplete
		}
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		default:
			return "", incomplete
		}
	}
	if cred == "" || signed == "" || len(sig) != 64 {
		return cred, incomplete
	}
	if _, err := hex.DecodeString(sig); err != nil {
		return cred, incomplete
	}
	secret, ok := s.creds[cred]
	if !ok {
		return cred, errf(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	names := strings.Split(signed, ";")
	have := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" || n != strings.ToLower(n) || have[n] {
			return cred, incomplete
		}
		have[n] = true
	}
	for _, n := range requiredSignedHeaders {
		if !have[n] {
			return cred, incomplete
		}
	}

	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])
	if r.Header.Get("x-acs-content-sha256") != bodyHash {
		return cred, errf(400, "SignatureDoesNotMatch", "The x-acs-content-sha256 header does not match the request body.")
	}

	var sb strings.Builder
	sb.Grow(512)
	sb.WriteString(r.Method)
	sb.WriteString("\n/\n")
	writeCanonicalQuery(&sb, vals)
	sb.WriteByte('\n')
	for _, n := range names {
		sb.WriteString(n)
		sb.WriteByte(':')
		if n == "host" {
			sb.WriteString(strings.TrimSpace(r.Host))
		} else {
			vs := r.Header.Values(n)
			if len(vs) == 1 {
				sb.WriteString(strings.TrimSpace(vs[0]))
			} else {
				t := make([]string, len(vs))
				for i, v := range vs {
					t[i] = strings.TrimSpace(v)
				}
				sort.Strings(t)
				sb.WriteString(strings.Join(t, ","))
			}
		}
		sb.WriteByte('\n')
	}
	sb.WriteByte('\n')
	sb.WriteString(signed)
	sb.WriteByte('\n')
	sb.WriteString(bodyHash)
	creq := sha256.Sum256([]byte(sb.String()))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signAlgorithm + "\n" + hex.EncodeToString(creq[:])))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig))) {
		return cred, errf(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
	}

	now := s.now()
	d, err := time.Parse(dateLayout, r.Header.Get("x-acs-date"))
	if err != nil {
		return cred, errf(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
	}
	if skew := now.Sub(d); skew > maxClockSkew || skew < -maxClockSkew {
		return cred, errf(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
	}
	nonce := r.Header.Get("x-acs-signature-nonce")
	if nonce == "" {
		return cred, errf(400, "MissingParameter", "The input parameter \"SignatureNonce\" that is mandatory for processing this request is not supplied.")
	}
	if !s.useNonce(nonce, now) {
		return cred, errf(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	return cred, nil
}

// writeCanonicalQuery writes the sorted, RFC 3986-encoded query.
func writeCanonicalQuery(sb *strings.Builder, vals url.Values) {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	first := true
	for _, k := range keys {
		vs := vals[k]
		if len(vs) > 1 {
			vs = append([]string(nil), vs...)
			sort.Strings(vs)
		}
		for _, v := range vs {
			if !first {
				sb.WriteByte('&')
			}
			first = false
			percentEncode(sb, k)
			sb.WriteByte('=')
			percentEncode(sb, v)
		}
	}
}

func percentEncode(sb *strings.Builder, s string) {
	const hexd = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		b := s[i]
		if 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.' || b == '~' {
			sb.WriteByte(b)
		} else {
			sb.WriteByte('%')
			sb.WriteByte(hexd[b>>4])
			sb.WriteByte(hexd[b&15])
		}
	}
}

// CanonicalQuery returns the canonical query string of the signature
// algorithm (step 2), for clients that sign requests themselves.
func CanonicalQuery(vals url.Values) string {
	var sb strings.Builder
	writeCanonicalQuery(&sb, vals)
	return sb.String()
}
