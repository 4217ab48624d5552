package ecs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"
)

// Defaults for Config's zero values.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultConnectTimeout = 5 * time.Second
	DefaultMaxIdleConns   = 16
)

// filterTimeLayout is DescribeImages' Filter.N.Value format: minutes, UTC.
const filterTimeLayout = "2006-01-02T15:04Z"

// Config configures a Client.
type Config struct {
	// Credential signs every request; nil means the credentials-go default chain
	// (environment, profile, instance role...).
	Credential credentials.Credential
	// Endpoint overrides the endpoint of every region: "https://host[:port]", or
	// "http://host:port" for a loopback host only. "" lets the SDK resolve
	// ecs.<region>.aliyuncs.com.
	Endpoint string
	// ESSEndpoint overrides the Auto Scaling (ESS) endpoint of every region, in Endpoint's
	// form. "" means Endpoint when that is set (an emulator or gateway that serves both APIs
	// tells them apart by the signed x-acs-version), else the service's own endpoint.
	ESSEndpoint string
	// Timeout bounds a whole request (the SDK's ReadTimeout); 0 means DefaultTimeout.
	Timeout time.Duration
	// ConnectTimeout bounds connecting; 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// MaxIdleConns is the idle connections kept per host; size it to the job's concurrency.
	// 0 means DefaultMaxIdleConns.
	MaxIdleConns int
	// UserAgent is appended to the SDK's user agent.
	UserAgent string
	// Dial, when set, makes every connection, whatever its host, and sends the requests for
	// the service's own endpoints (those Endpoint and ESSEndpoint do not override) over plain
	// http, ignoring proxies: for tests that serve the real host names (ecs.<region>.aliyuncs.com,
	// ess.<region>.aliyuncs.com) from one loopback emulator, so that each call is seen to go
	// to its region's endpoint. Never set it for a real account.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client is the API over the real SDK: SDK clients per region, created on first use and
// reused (see sdkPool).
// It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint string // host[:port] of the override, "" for SDK resolution
	protocol string // "http" or "https" for the override
	cred     *recordingCredential
	http     *httpCaller

	mu      sync.Mutex
	regions map[string]*sdkPool

	essEndpoint string // host[:port] of the ESS override, "" for the service's endpoints
	essProtocol string
	essMu       sync.Mutex
	ess         map[string]*essPool
}

var _ API = (*Client)(nil)

// New checks cfg and returns a Client. No request is sent.
func New(cfg Config) (*Client, error) {
	c := &Client{cfg: cfg, regions: map[string]*sdkPool{}, ess: map[string]*essPool{}}
	if cfg.Endpoint != "" {
		hostport, protocol, err := ParseEndpoint(cfg.Endpoint)
		if err != nil {
			return nil, err
		}
		c.endpoint, c.protocol = hostport, protocol
		c.essEndpoint, c.essProtocol = hostport, protocol
	}
	if cfg.ESSEndpoint != "" {
		hostport, protocol, err := ParseEndpoint(cfg.ESSEndpoint)
		if err != nil {
			return nil, fmt.Errorf("ESS %w", err)
		}
		c.essEndpoint, c.essProtocol = hostport, protocol
	}
	if cfg.Timeout < 0 || cfg.ConnectTimeout < 0 || cfg.MaxIdleConns < 0 {
		return nil, errors.New("ecs: Timeout, ConnectTimeout and MaxIdleConns must not be negative")
	}
	if c.cfg.Timeout == 0 {
		c.cfg.Timeout = DefaultTimeout
	}
	if c.cfg.ConnectTimeout == 0 {
		c.cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if c.cfg.MaxIdleConns == 0 {
		c.cfg.MaxIdleConns = DefaultMaxIdleConns
	}
	inner := cfg.Credential
	if inner == nil {
		var err error
		if inner, err = credentials.NewCredential(nil); err != nil {
			return nil, fmt.Errorf("ecs: default credential chain: %w", err)
		}
	}
	c.cred = &recordingCredential{inner: inner}
	c.http = newHTTPCaller(c.cfg, c.endpoint, c.essEndpoint)
	return c, nil
}

// Close closes the client's idle connections. Calls made after it open new ones.
func (c *Client) Close() { c.http.c.CloseIdleConnections() }

// httpCaller is the SDK's HTTP client, ours instead of dara's: dara's shared cached client
// rewrites http.Client.Timeout on every request while other requests read it (a data race
// under concurrency), and builds a new http.Transport per request. One http.Client with one
// transport serves every region; it is safe for concurrent use.
type httpCaller struct{ c *http.Client }

// Call implements dara.HttpClient; dara's per-request transport is not used.
func (h *httpCaller) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	return h.c.Do(req)
}

// newHTTPCaller makes the one HTTP client; the override endpoints are reached directly.
func newHTTPCaller(cfg Config, overrides ...string) *httpCaller {
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: cfg.ConnectTimeout,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		MaxIdleConns:        cfg.MaxIdleConns,
		MaxIdleConnsPerHost: cfg.MaxIdleConns,
		IdleConnTimeout:     90 * time.Second,
	}
	if cfg.Dial != nil {
		tr.DialContext = cfg.Dial
		return &httpCaller{c: &http.Client{Transport: tr, Timeout: cfg.Timeout}}
	}
	// The SDK honours HTTP(S)_PROXY for the service's endpoints; so do we. An override
	// endpoint is reached directly (the SDK's NoProxy = exactly host:port).
	tr.Proxy = func(req *http.Request) (*url.URL, error) {
		for _, o := range overrides {
			if o != "" && req.URL.Host == o {
				return nil, nil
			}
		}
		return http.ProxyFromEnvironment(req)
	}
	return &httpCaller{c: &http.Client{Transport: tr, Timeout: cfg.Timeout}}
}

// ParseEndpoint checks an endpoint override and returns the SDK's bare host[:port] and
// protocol. Only "https://host[:port]" and, for loopback hosts, "http://host[:port]" pass:
// the override carries signed requests, so plain http must not leave the machine.
func ParseEndpoint(endpoint string) (hostport, protocol string, err error) {
	bad := func(why string) error { return fmt.Errorf("endpoint %q: %s", endpoint, why) }
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", "", bad("not a URL: want https://host[:port]")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", bad("want https://host[:port] (or http:// for a loopback host)")
	case u.Opaque != "" || u.Host == "":
		return "", "", bad("no host: want https://host[:port]")
	case u.User != nil:
		return "", "", bad("user info is not allowed")
	case u.Path != "" && u.Path != "/", u.RawPath != "":
		return "", "", bad("a path is not allowed: the SDK always posts to /")
	case u.RawQuery != "" || u.ForceQuery:
		return "", "", bad("a query is not allowed")
	case u.Fragment != "":
		return "", "", bad("a fragment is not allowed")
	}
	host := u.Hostname()
	if host == "" {
		return "", "", bad("no host: want https://host[:port]")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", "", bad("bad port")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "", "", bad("empty port")
	}
	if u.Scheme == "http" && !isLoopback(host) {
		return "", "", bad("plain http is allowed only for loopback hosts")
	}
	return u.Host, u.Scheme, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// StaticCredential is a fixed AccessKey credential, with an STS security token when token
// is not empty. For tests and the demo; production uses the default chain.
func StaticCredential(id, secret, token string) credentials.Credential {
	typ := "access_key"
	if token != "" {
		typ = "sts"
	}
	return &staticCredential{model: credentials.CredentialModel{
		AccessKeyId:     tea.String(id),
		AccessKeySecret: tea.String(secret),
		SecurityToken:   tea.String(token),
		Type:            tea.String(typ),
		ProviderName:    tea.String("static_ak"),
	}}
}

type staticCredential struct{ model credentials.CredentialModel }

func (s *staticCredential) GetAccessKeyId() (*string, error)     { return s.model.AccessKeyId, nil }
func (s *staticCredential) GetAccessKeySecret() (*string, error) { return s.model.AccessKeySecret, nil }
func (s *staticCredential) GetSecurityToken() (*string, error)   { return s.model.SecurityToken, nil }
func (s *staticCredential) GetBearerToken() *string              { return tea.String("") }
func (s *staticCredential) GetType() *string                     { return s.model.Type }
func (s *staticCredential) GetCredential() (*credentials.CredentialModel, error) {
	m := s.model
	return &m, nil
}

// recordingCredential passes the credential through and remembers every secret it handed
// to the SDK, so that error messages can be scrubbed of them even after a rotation.
type recordingCredential struct {
	inner credentials.Credential

	mu      sync.Mutex
	secrets []string
}

func (r *recordingCredential) remember(vals ...*string) {
	r.mu.Lock()
	defer r.mu.Unlock()
next:
	for _, v := range vals {
		s := tea.StringValue(v)
		if s == "" {
			continue
		}
		for _, have := range r.secrets {
			if have == s {
				continue next
			}
		}
		r.secrets = append(r.secrets, s)
	}
}

func (r *recordingCredential) known() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.secrets...)
}

func (r *recordingCredential) GetAccessKeyId() (*string, error) { return r.inner.GetAccessKeyId() }
func (r *recordingCredential) GetAccessKeySecret() (*string, error) {
	s, err := r.inner.GetAccessKeySecret()
	r.remember(s)
	return s, err
}
func (r *recordingCredential) GetSecurityToken() (*string, error) {
	s, err := r.inner.GetSecurityToken()
	r.remember(s)
	return s, err
}
func (r *recordingCredential) GetBearerToken() *string {
	s := r.inner.GetBearerToken()
	r.remember(s)
	return s
}
func (r *recordingCredential) GetType() *string { return r.inner.GetType() }
func (r *recordingCredential) GetCredential() (*credentials.CredentialModel, error) {
	m, err := r.inner.GetCredential()
	if m != nil {
		r.remember(m.AccessKeySecret, m.SecurityToken, m.BearerToken)
	}
	if err != nil {
		// Marked, so that Classify names it instead of calling it Unknown.
		return m, &credentialError{err: err}
	}
	return m, nil
}

// credentialError is a failure to obtain the credential (the default chain found none, or
// its provider failed): nothing was sent.
type credentialError struct{ err error }

func (e *credentialError) Error() string { return "obtaining the credential: " + e.err.Error() }
func (e *credentialError) Unwrap() error { return e.err }

// sdkPool holds a region's idle SDK clients. The SDK's openapi Client is not safe for
// concurrent calls (every call writes client.Headers in GetRpcHeaders), so a call takes a
// client for itself and gives it back. The clients of a pool share dara's cached http.Client
// (keyed by endpoint and options), hence the connections.
type sdkPool struct {
	mu   sync.Mutex
	free []*ecsclient.Client
}

// acquire returns an SDK client of the region for one call (or one paging loop) and the
// function that gives it back.
func (c *Client) acquire(region string) (*ecsclient.Client, func(), error) {
	if region == "" {
		return nil, nil, &Error{Class: ClassFailed, Code: "MissingParameter", Message: "no region given"}
	}
	c.mu.Lock()
	p := c.regions[region]
	if p == nil {
		p = &sdkPool{}
		c.regions[region] = p
	}
	c.mu.Unlock()

	p.mu.Lock()
	var rc *ecsclient.Client
	if n := len(p.free); n > 0 {
		rc, p.free = p.free[n-1], p.free[:n-1]
	}
	p.mu.Unlock()
	if rc == nil {
		var err error
		if rc, err = c.newSDKClient(region); err != nil {
			return nil, nil, err
		}
	}
	release := func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.free) < c.cfg.MaxIdleConns { // more were needed only at a peak
			p.free = append(p.free, rc)
		}
	}
	return rc, release, nil
}

// newSDKClient makes an SDK client for a region.
func (c *Client) newSDKClient(region string) (*ecsclient.Client, error) {
	conf := c.sdkConfig(region)
	if c.endpoint != "" {
		conf.Endpoint = tea.String(c.endpoint)
		conf.Protocol = tea.String(c.protocol)
		// HTTP(S)_PROXY would otherwise apply even to 127.0.0.1; NoProxy must match exactly.
		conf.NoProxy = tea.String(c.endpoint)
	} else if c.cfg.Dial != nil {
		conf.Protocol = tea.String("http") // the SDK resolves the region's endpoint; Dial reaches it
	}
	rc, err := ecsclient.NewClient(conf)
	if err != nil {
		return nil, c.classify(context.Background(), err)
	}
	// Keep the openapi error types: the tea.SDKError conversion drops the TimeLeft hint. The
	// ecs Client shadows the field; the embedded openapi Client's is the one that counts.
	rc.Client.DisableSDKError = tea.Bool(true)
	rc.DisableSDKError = tea.Bool(true)
	// No SDK-level retries: every call is one fresh request (fresh nonce); the runner retries.
	rc.RetryOptions = nil
	return rc, nil
}

// sdkConfig is a region's openapiutil.Config, without an endpoint, fresh for every SDK client:
// the SDK keeps pointers into it, so nothing mutable is shared between clients or regions.
func (c *Client) sdkConfig(region string) *openapiutil.Config {
	conf := &openapiutil.Config{
		Credential: c.cred,
		RegionId:   tea.String(region),
		// Our httpCaller enforces both timeouts; they are set here too so that the SDK's own
		// view agrees. ReadTimeout is milliseconds. The pinned tea/dara v1.5.3 applies
		// ConnectTimeout as milliseconds too (dialer and http.Client timeout alike), not
		// seconds as older tea did: pass milliseconds.
		ReadTimeout:    tea.Int(ms(c.cfg.Timeout)),
		ConnectTimeout: tea.Int(ms(c.cfg.ConnectTimeout)),
		MaxIdleConns:   tea.Int(c.cfg.MaxIdleConns),
		HttpClient:     c.http,
	}
	if c.cfg.UserAgent != "" {
		conf.UserAgent = tea.String(c.cfg.UserAgent)
	}
	return conf
}

func ms(d time.Duration) int {
	n := d.Milliseconds()
	if n < 1 {
		n = 1
	}
	return int(n)
}

// classify turns any call error into an *Error, taking the caller's context into account:
// once ctx is done, a failure without an answer is the caller's, whatever the transport made
// of it. An answer of the service stays what it is.
func (c *Client) classify(ctx context.Context, err error) *Error {
	if err == nil {
		return nil
	}
	e := classify(err, c.cred.known())
	if ctxErr := ctx.Err(); ctxErr != nil && e.StatusCode == 0 {
		return ctxError(ctxErr)
	}
	return e
}

// rtOpts are per-call runtime options: empty, so the client's settings (and no retries) apply.
func rtOpts() *dara.RuntimeOptions { return &dara.RuntimeOptions{} }

// DescribeImagesPage implements API.
func (c *Client) DescribeImagesPage(ctx context.Context, region string, f ListFilter, pageNumber, pageSize int) (ImagePage, error) {
	rc, release, err := c.acquire(region)
	if err != nil {
		return ImagePage{}, err
	}
	defer release()
	req := describeImagesRequest(region, f, pageNumber, pageSize)
	resp, err := rc.DescribeImagesWithContext(ctx, req, rtOpts())
	if err != nil {
		return ImagePage{}, c.classify(ctx, err)
	}
	body := resp.Body
	if body == nil {
		return ImagePage{}, &Error{Class: ClassFailed, Code: CodeInvalidResponse, Message: "DescribeImages: empty answer"}
	}
	page := ImagePage{
		TotalCount: int(tea.Int32Value(body.TotalCount)),
		PageNumber: int(tea.Int32Value(body.PageNumber)),
		PageSize:   int(tea.Int32Value(body.PageSize)),
		RequestID:  tea.StringValue(body.RequestId),
	}
	if body.Images != nil {
		for _, im := range body.Images.Image {
			if im == nil {
				continue
			}
			img, err := toImage(im)
			if err != nil {
				return ImagePage{}, &Error{Class: ClassFailed, Code: CodeInvalidResponse, Message: err.Error(), RequestID: page.RequestID}
			}
			page.Images = append(page.Images, img)
		}
	}
	return page, nil
}

func describeImagesRequest(region string, f ListFilter, pageNumber, pageSize int) *ecsclient.DescribeImagesRequest {
	req := &ecsclient.DescribeImagesRequest{
		RegionId:   tea.String(region),
		PageNumber: tea.Int32(int32(pageNumber)),
		PageSize:   tea.Int32(int32(pageSize)),
	}
	if f.OwnerAlias != "" {
		req.ImageOwnerAlias = tea.String(f.OwnerAlias)
	}
	if len(f.Statuses) > 0 {
		req.Status = tea.String(strings.Join(f.Statuses, ","))
	}
	if f.Name != "" {
		req.ImageName = tea.String(f.Name)
	}
	if f.ImageID != "" {
		req.ImageId = tea.String(f.ImageID)
	}
	if len(f.Tags) > 0 {
		keys := make([]string, 0, len(f.Tags))
		for k := range f.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			req.Tag = append(req.Tag, &ecsclient.DescribeImagesRequestTag{Key: tea.String(k), Value: tea.String(f.Tags[k])})
		}
	}
	// The service filters on whole minutes. Widen the window outward so that it never drops
	// an image the exact bounds would keep; callers apply the exact bounds themselves.
	if !f.CreatedAfter.IsZero() {
		start := f.CreatedAfter.UTC().Truncate(time.Minute)
		req.Filter = append(req.Filter, &ecsclient.DescribeImagesRequestFilter{
			Key: tea.String("CreationStartTime"), Value: tea.String(start.Format(filterTimeLayout))})
	}
	if !f.CreatedBefore.IsZero() {
		end := f.CreatedBefore.UTC()
		if t := end.Truncate(time.Minute); !t.Equal(end) {
			end = t.Add(time.Minute)
		}
		req.Filter = append(req.Filter, &ecsclient.DescribeImagesRequestFilter{
			Key: tea.String("CreationEndTime"), Value: tea.String(end.Format(filterTimeLayout))})
	}
	return req
}

func toImage(im *ecsclient.DescribeImagesResponseBodyImagesImage) (Image, error) {
	img := Image{
		ID:         tea.StringValue(im.ImageId),
		Name:       tea.StringValue(im.ImageName),
		Family:     tea.StringValue(im.ImageFamily),
		Status:     tea.StringValue(im.Status),
		OwnerAlias: tea.StringValue(im.ImageOwnerAlias),
		Usage:      tea.StringValue(im.Usage),
		Shared:     strings.EqualFold(tea.StringValue(im.IsSelfShared), "true"),
		Public:     tea.BoolValue(im.IsPublic),
		SizeGiB:    int(tea.Int32Value(im.Size)),
	}
	// A zero CreationTime would make the image look ancient, the first to be deleted: refuse.
	ct := tea.StringValue(im.CreationTime)
	t, err := time.Parse(time.RFC3339, ct)
	if err != nil {
		if t, err = time.Parse(filterTimeLayout, ct); err != nil {
			return Image{}, fmt.Errorf("image %s: CreationTime %q is not a time", img.ID, ct)
		}
	}
	img.CreationTime = t.UTC()
	if im.Tags != nil && len(im.Tags.Tag) > 0 {
		img.Tags = make(map[string]string, len(im.Tags.Tag))
		for _, tag := range im.Tags.Tag {
			if tag != nil {
				img.Tags[tea.StringValue(tag.TagKey)] = tea.StringValue(tag.TagValue)
			}
		}
	}
	if im.DiskDeviceMappings != nil {
		for _, d := range im.DiskDeviceMappings.DiskDeviceMapping {
			if d == nil || tea.StringValue(d.SnapshotId) == "" {
				continue
			}
			size, _ := strconv.Atoi(strings.TrimSpace(tea.StringValue(d.Size))) // informational only
			img.Snapshots = append(img.Snapshots, Snapshot{ID: tea.StringValue(d.SnapshotId), SizeGiB: size})
		}
	}
	return img, nil
}

// ListImages lists every image of a region that f selects, at PageSize a page, each image
// once even if the listing shifts under deletions between pages.
func ListImages(ctx context.Context, api API, region string, f ListFilter) ([]Image, error) {
	var out []Image
	seen := map[string]bool{}
	collected := 0
	for page := 1; page <= maxPages; page++ {
		p, err := api.DescribeImagesPage(ctx, region, f, page, PageSize)
		if err != nil {
			return out, err
		}
		collected += len(p.Images)
		for _, im := range p.Images {
			if !seen[im.ID] {
				seen[im.ID] = true
				out = append(out, im)
			}
		}
		// TotalCount 0 with a full page means the service left it out: page on until short.
		if len(p.Images) < PageSize || (p.TotalCount > 0 && collected >= p.TotalCount) {
			return out, nil
		}
	}
	return out, &Error{Class: ClassFailed, Code: CodeInvalidResponse, Message: "DescribeImages did not end its listing"}
}

// DeleteImage implements API. Force is sent as the caller says, never true otherwise.
func (c *Client) DeleteImage(ctx context.Context, in DeleteImageInput) (Result, error) {
	dryRun := in.DryRun
	rc, release, err := c.acquire(in.Region)
	if err != nil {
		return Result{}, err
	}
	defer release()
	req := &ecsclient.DeleteImageRequest{
		RegionId: tea.String(in.Region),
		ImageId:  tea.String(in.ImageID),
		Force:    tea.Bool(in.Force),
	}
	if dryRun {
		req.DryRun = tea.Bool(true)
	}
	resp, err := rc.DeleteImageWithContext(ctx, req, rtOpts())
	requestID := ""
	if resp != nil && resp.Body != nil {
		requestID = tea.StringValue(resp.Body.RequestId)
	}
	return c.mayBeDry(ctx, dryRun, requestID, err)
}

// mayBeDry turns the answer to a request that may be a dry run into its result. A
// DryRunOperation refusal is a dry run's pass and a real request's failure (we did not send
// what we meant to); a success to a dry run means the service ignored DryRun and acted.
func (c *Client) mayBeDry(ctx context.Context, dryRun bool, requestID string, err error) (Result, error) {
	if err != nil {
		e := c.classify(ctx, err)
		if e.Class == ClassPass {
			if dryRun {
				return Result{RequestID: e.RequestID}, nil
			}
			e.Class = ClassFailed
		}
		return Result{}, e
	}
	if dryRun {
		return Result{}, NewDryRunIgnored(requestID)
	}
	return Result{RequestID: requestID}, nil
}

// maxPages bounds the token and page loops below against a service that never ends a listing.
const maxPages = 10000

// InstancesUsingImage implements API.
func (c *Client) InstancesUsingImage(ctx context.Context, region, imageID string) ([]string, error) {
	rc, release, err := c.acquire(region)
	if err != nil {
		return nil, err
	}
	defer release()
	var ids []string
	token := ""
	for i := 0; i < maxPages; i++ {
		req := &ecsclient.DescribeInstancesRequest{
			RegionId:   tea.String(region),
			ImageId:    tea.String(imageID),
			MaxResults: tea.Int32(100),
		}
		if token != "" {
			req.NextToken = tea.String(token)
		}
		resp, err := rc.DescribeInstancesWithContext(ctx, req, rtOpts())
		if err != nil {
			return ids, c.classify(ctx, err)
		}
		if resp == nil || resp.Body == nil {
			return ids, nil
		}
		if resp.Body.Instances != nil {
			for _, in := range resp.Body.Instances.Instance {
				if in != nil && tea.StringValue(in.InstanceId) != "" {
					ids = append(ids, tea.StringValue(in.InstanceId))
				}
			}
		}
		next := tea.StringValue(resp.Body.NextToken)
		if next == "" {
			return ids, nil
		}
		if next == token {
			return ids, &Error{Class: ClassFailed, Code: CodeInvalidResponse, Message: "DescribeInstances repeated its NextToken",
				RequestID: tea.StringValue(resp.Body.RequestId)}
		}
		token = next
	}
	return ids, &Error{Class: ClassFailed, Code: CodeInvalidResponse, Message: "DescribeInstances did not end its listing"}
}

// ImageSharePermission implements API.
func (c *Client) ImageSharePermission(ctx context.Context, region, imageID string) (SharePermission, error) {
	rc, release, err := c.acquire(region)
	if err != nil {
		return SharePermission{}, err
	}
	defer release()
	var sp SharePermission
	for page := 1; page <= maxPages; page++ {
		req := &ecsclient.DescribeImageSharePermissionRequest{
			RegionId:   tea.String(region),
			ImageId:    tea.String(imageID),
			PageNumber: tea.Int32(int32(page)),
			PageSize:   tea.Int32(100),
		}
		resp, err := rc.DescribeImageSharePermissionWithContext(ctx, req, rtOpts())
		if err != nil {
			return sp, c.classify(ctx, err)
		}
		if resp == nil || resp.Body == nil {
			return sp, nil
		}
		b := resp.Body
		if b.ShareGroups != nil {
			for _, g := range b.ShareGroups.ShareGroup {
				if g != nil && strings.EqualFold(tea.StringValue(g.Group), "all") {
					sp.Public = true
				}
			}
		}
		n := 0
		if b.Accounts != nil {
			for _, a := range b.Accounts.Account {
				if a != nil && tea.StringValue(a.AliyunId) != "" {
					sp.Accounts = append(sp.Accounts, tea.StringValue(a.AliyunId))
				}
				n++
			}
		}
		if total := int(tea.Int32Value(b.TotalCount)); n < 100 || (total > 0 && len(sp.Accounts) >= total) {
			return sp, nil
		}
	}
	return sp, &Error{Class: ClassFailed, Code: CodeInvalidResponse, Message: "DescribeImageSharePermission did not end its listing"}
}

// DeleteSnapshot implements API. The request has no RegionId: the region only picks the
// regional client, hence the endpoint.
func (c *Client) DeleteSnapshot(ctx context.Context, region, snapshotID string, force bool) (Result, error) {
	rc, release, err := c.acquire(region)
	if err != nil {
		return Result{}, err
	}
	defer release()
	resp, err := rc.DeleteSnapshotWithContext(ctx, &ecsclient.DeleteSnapshotRequest{
		SnapshotId: tea.String(snapshotID),
		Force:      tea.Bool(force),
	}, rtOpts())
	if err != nil {
		return Result{}, c.classify(ctx, err)
	}
	res := Result{}
	if resp != nil && resp.Body != nil {
		res.RequestID = tea.StringValue(resp.Body.RequestId)
	}
	return res, nil
}

// CentralEndpoint is ECS's central endpoint, which answers DescribeRegions for the whole
// account whatever region the job works in.
const CentralEndpoint = "ecs.aliyuncs.com"

// RegionInfo is one region the account can use, as DescribeRegions lists it.
type RegionInfo struct {
	ID        string
	LocalName string
}

// Regions lists the regions the account can use (DescribeRegions, in English), once. It is sent
// to the Endpoint override when there is one, else to the central endpoint: a policy's region
// may be the unknown one, and its own endpoint would not resolve.
func (c *Client) Regions(ctx context.Context) ([]RegionInfo, error) {
	conf := c.sdkConfig("")
	conf.RegionId = nil
	switch {
	case c.endpoint != "":
		conf.Endpoint = tea.String(c.endpoint)
		conf.Protocol = tea.String(c.protocol)
		conf.NoProxy = tea.String(c.endpoint)
	case c.cfg.Dial != nil:
		conf.Endpoint = tea.String(CentralEndpoint)
		conf.Protocol = tea.String("http")
	default:
		conf.Endpoint = tea.String(CentralEndpoint)
	}
	rc, err := ecsclient.NewClient(conf)
	if err != nil {
		return nil, c.classify(ctx, err)
	}
	rc.Client.DisableSDKError = tea.Bool(true)
	rc.DisableSDKError = tea.Bool(true)
	rc.RetryOptions = nil
	resp, err := rc.DescribeRegionsWithContext(ctx, &ecsclient.DescribeRegionsRequest{AcceptLanguage: tea.String("en-US")}, rtOpts())
	if err != nil {
		return nil, c.classify(ctx, err)
	}
	if resp.Body == nil || resp.Body.Regions == nil {
		return nil, &Error{Class: ClassFailed, Code: CodeInvalidResponse, Message: "DescribeRegions: empty answer"}
	}
	var out []RegionInfo
	for _, r := range resp.Body.Regions.Region {
		if r == nil || tea.StringValue(r.RegionId) == "" {
			continue
		}
		out = append(out, RegionInfo{ID: tea.StringValue(r.RegionId), LocalName: tea.StringValue(r.LocalName)})
	}
	if len(out) == 0 {
		return nil, &Error{Class: ClassFailed, Code: CodeInvalidResponse, Message: "DescribeRegions: no region listed", RequestID: tea.StringValue(resp.Body.RequestId)}
	}
	return out, nil
}

// SetImageStatus implements API.
func (c *Client) SetImageStatus(ctx context.Context, in SetImageStatusInput) (Result, error) {
	if in.Status != StatusDeprecated && in.Status != StatusAvailable {
		return Result{}, &Error{Class: ClassFailed, Code: "InvalidStatus.ValueNotSupported", Message: "status " + in.Status + " cannot be set: only Deprecated or Available"}
	}
	rc, release, err := c.acquire(in.Region)
	if err != nil {
		return Result{}, err
	}
	defer release()
	req := &ecsclient.ModifyImageAttributeRequest{
		RegionId: tea.String(in.Region),
		ImageId:  tea.String(in.ImageID),
		Status:   tea.String(in.Status),
	}
	if in.DryRun {
		req.DryRun = tea.Bool(true)
	}
	resp, err := rc.ModifyImageAttributeWithContext(ctx, req, rtOpts())
	requestID := ""
	if resp != nil && resp.Body != nil {
		requestID = tea.StringValue(resp.Body.RequestId)
	}
	return c.mayBeDry(ctx, in.DryRun, requestID, err)
}

// TagImage implements API.
func (c *Client) TagImage(ctx context.Context, in TagImageInput) (Result, error) {
	if len(in.Tags) == 0 {
		return Result{}, &Error{Class: ClassFailed, Code: "MissingParameter", Message: "no tag given"}
	}
	rc, release, err := c.acquire(in.Region)
	if err != nil {
		return Result{}, err
	}
	defer release()
	req := &ecsclient.TagResourcesRequest{
		RegionId:     tea.String(in.Region),
		ResourceType: tea.String("image"),
		ResourceId:   []*string{tea.String(in.ImageID)},
	}
	keys := make([]string, 0, len(in.Tags))
	for k := range in.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		req.Tag = append(req.Tag, &ecsclient.TagResourcesRequestTag{Key: tea.String(k), Value: tea.String(in.Tags[k])})
	}
	resp, err := rc.TagResourcesWithContext(ctx, req, rtOpts())
	if err != nil {
		return Result{}, c.classify(ctx, err)
	}
	res := Result{}
	if resp != nil && resp.Body != nil {
		res.RequestID = tea.StringValue(resp.Body.RequestId)
	}
	return res, nil
}

// UntagImage implements API.
func (c *Client) UntagImage(ctx context.Context, in UntagImageInput) (Result, error) {
	if len(in.Keys) == 0 {
		return Result{}, &Error{Class: ClassFailed, Code: "MissingParameter", Message: "no tag key given"}
	}
	rc, release, err := c.acquire(in.Region)
	if err != nil {
		return Result{}, err
	}
	defer release()
	req := &ecsclient.UntagResourcesRequest{
		RegionId:     tea.String(in.Region),
		ResourceType: tea.String("image"),
		ResourceId:   []*string{tea.String(in.ImageID)},
		TagKey:       tea.StringSlice(in.Keys),
	}
	resp, err := rc.UntagResourcesWithContext(ctx, req, rtOpts())
	if err != nil {
		return Result{}, c.classify(ctx, err)
	}
	res := Result{}
	if resp != nil && resp.Body != nil {
		res.RequestID = tea.StringValue(resp.Body.RequestId)
	}
	return res, nil
}
