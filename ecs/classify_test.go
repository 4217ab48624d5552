package ecs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

// sdkErr builds the error the SDK returns without DisableSDKError, as dara.TeaSDKError does.
func sdkErr(status int, code, msg, requestID string) error {
	return tea.NewSDKError(map[string]interface{}{
		"code":       code,
		"statusCode": status,
		"message":    fmt.Sprintf("code: %d, %s request id: %s", status, msg, requestID),
		"data": map[string]interface{}{
			"RequestId": requestID, "Code": code, "Message": msg, "HostId": "ecs.aliyuncs.com",
		},
	})
}

// clientErr builds the openapi error the SDK returns with DisableSDKError set.
func clientErr(status int, code, msg, requestID string) error {
	m := fmt.Sprintf("code: %d, %s request id: %s", status, msg, requestID)
	data := map[string]interface{}{"RequestId": requestID, "Code": code, "Message": msg}
	switch {
	case strings.HasPrefix(code, "Throttling"):
		return &openapi.ThrottlingError{StatusCode: tea.Int(status), Code: tea.String(code), Message: tea.String(m),
			RequestId: tea.String(requestID), Data: data, RetryAfter: dara.Int64(1500)}
	case status >= 500:
		return &openapi.ServerError{StatusCode: tea.Int(status), Code: tea.String(code), Message: tea.String(m),
			RequestId: tea.String(requestID), Data: data}
	}
	return &openapi.ClientError{StatusCode: tea.Int(status), Code: tea.String(code), Message: tea.String(m),
		RequestId: tea.String(requestID), Data: data}
}

func TestClassifyServiceCodes(t *testing.T) {
	cases := []struct {
		status    int
		code      string
		class     Class
		throttled bool
	}{
		{400, "DryRunOperation", ClassPass, false},
		{403, "ImageUsingByInstance", ClassBlocked, false},
		{403, "ImageUseShared", ClassBlocked, false},
		{403, "OperationDenied.ImageCopying", ClassBlocked, false},
		{403, "ImageIsImporting", ClassBlocked, false},
		{403, "ImageIsExporting", ClassBlocked, false},
		{403, "ImageIsPublic", ClassBlocked, false},
		{403, "ImageIsCreating", ClassBlocked, false},
		{403, "SnapshotCreatedImage", ClassBlocked, false},
		{403, "SnapshotCreatedDisk", ClassBlocked, false},
		{400, "Throttling", ClassRetryable, true},
		{400, "Throttling.User", ClassRetryable, true},
		{400, "Throttling.Api", ClassRetryable, true},
		{503, "Throttling", ClassRetryable, true},
		{429, "TooManyRequests", ClassRetryable, true},
		{503, "ServiceUnavailable", ClassRetryable, true}, // overloaded: slow down
		{500, "InternalError", ClassRetryable, false},
		{502, "BadGateway", ClassRetryable, false},
		{504, "", ClassRetryable, false},
		{404, "InvalidImageId.NotFound", ClassNotFound, false},
		{404, "InvalidSnapshotId.NotFound", ClassNotFound, false},
		{403, "Forbidden.RAM", ClassFailed, false},
		{404, "InvalidAccessKeyId.NotFound", ClassFailed, false},
		{400, "SignatureDoesNotMatch", ClassFailed, false},
		{400, "SignatureNonceUsed", ClassFailed, false},
		{400, "MissingParameter", ClassFailed, false},
		{404, "InvalidRegionId.NotFound", ClassFailed, false},
	}
	for _, tc := range cases {
		for shape, err := range map[string]error{
			"tea.SDKError": sdkErr(tc.status, tc.code, "msg of "+tc.code, "REQ-1"),
			"openapi":      clientErr(tc.status, tc.code, "msg of "+tc.code, "REQ-1"),
		} {
			e := Classify(err)
			if e.Class != tc.class || e.Throttled != tc.throttled {
				t.Errorf("%s %d %s: class %v throttled %v, want %v %v", shape, tc.status, tc.code, e.Class, e.Throttled, tc.class, tc.throttled)
			}
			wantCode := tc.code
			if wantCode == "" {
				wantCode = CodeUnknown
			}
			if e.Code != wantCode || e.StatusCode != tc.status || e.RequestID != "REQ-1" {
				t.Errorf("%s: got code %q status %d request %q", shape, e.Code, e.StatusCode, e.RequestID)
			}
			if e.Message != "msg of "+tc.code {
				t.Errorf("%s %s: message %q", shape, tc.code, e.Message)
			}
		}
	}
}

func TestClassifyRetryAfter(t *testing.T) {
	e := Classify(clientErr(400, "Throttling.User", "slow down", "R"))
	if !e.Throttled || e.RetryAfter != 1500*time.Millisecond {
		t.Fatalf("RetryAfter %v throttled %v", e.RetryAfter, e.Throttled)
	}
	// The tea.SDKError conversion drops the hint: classified all the same, without it.
	e = Classify(sdkErr(400, "Throttling.User", "slow down", "R"))
	if !e.Throttled || e.RetryAfter != 0 || e.Class != ClassRetryable {
		t.Fatalf("%+v", e)
	}
}

func TestClassifyRequestIDFromMessage(t *testing.T) {
	err := tea.NewSDKError(map[string]interface{}{"code": "Forbidden.RAM", "statusCode": 403,
		"message": "code: 403, denied request id: ABC-123"})
	if e := Classify(err); e.RequestID != "ABC-123" || e.Class != ClassFailed {
		t.Fatalf("%+v", e)
	}
}

func TestClassifyNoCredentials(t *testing.T) {
	// What the SDK returns before the network when no credential is set.
	err := &openapi.ClientError{Code: tea.String("InvalidCredentials"), Message: tea.String("Please set up the credentials")}
	for _, err := range []error{err, dara.TeaSDKError(err)} {
		if e := Classify(err); e.Class != ClassFailed || e.Code != "InvalidCredentials" {
			t.Fatalf("%+v", e)
		}
	}
}

func TestClassifyTransport(t *testing.T) {
	opErr := func(e error) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: e}}
	}
	post := func(e error) error {
		return &url.Error{Op: "Post", URL: "http://127.0.0.1:1/?ImageId=m-1&Signature=deadbeef&SecurityToken=tok123", Err: e}
	}
	cases := []struct {
		name string
		err  error
		code string
	}{
		{"eof", post(io.EOF), CodeNetworkError},
		{"unexpected eof", post(io.ErrUnexpectedEOF), CodeNetworkError},
		{"reset", post(opErr(syscall.ECONNRESET)), CodeNetworkError},
		{"refused", post(&net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}), CodeNetworkError},
		{"bare reset", opErr(syscall.ECONNRESET), CodeNetworkError},
		{"bare eof", io.EOF, CodeNetworkError},
		{"string", errors.New("net/http: HTTP/1.x transport connection broken: malformed"), CodeNetworkError},
		{"client timeout", post(timeoutErr{}), CodeTimeout},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}, CodeTimeout},
		{"url deadline", post(context.DeadlineExceeded), CodeTimeout},
	}
	for _, tc := range cases {
		e := Classify(tc.err)
		if e.Class != ClassRetryable || e.Code != tc.code {
			t.Errorf("%s: %v %s, want retryable %s", tc.name, e.Class, e.Code, tc.code)
		}
		if strings.Contains(e.Message, "deadbeef") || strings.Contains(e.Message, "tok123") || strings.Contains(e.Err.Error(), "deadbeef") {
			t.Errorf("%s: secret in %q", tc.name, e.Message)
		}
	}
	if e := Classify(post(io.EOF)); !errors.Is(e, io.EOF) {
		t.Errorf("errors.Is(io.EOF) lost: %v", e)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassifyContext(t *testing.T) {
	for _, tc := range []struct {
		err  error
		is   error
		code string
	}{
		{context.Canceled, context.Canceled, CodeCanceled},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), context.DeadlineExceeded, CodeDeadlineExceeded},
		{&url.Error{Op: "Post", URL: "http://x/", Err: context.Canceled}, context.Canceled, CodeCanceled},
	} {
		e := Classify(tc.err)
		if e.Class != ClassFailed || e.Code != tc.code || !errors.Is(e, tc.is) {
			t.Errorf("%v: %+v", tc.err, e)
		}
	}
	// The Client looks at the caller's context first: done means the caller's failure.
	c, err := New(Config{Credential: StaticCredential("id", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if e := c.classify(ctx, &url.Error{Op: "Post", URL: "http://x/", Err: io.EOF}); e.Code != CodeCanceled || !errors.Is(e, context.Canceled) {
		t.Errorf("%+v", e)
	}
	// An answer that came back stays the service's, even if the caller gave up meanwhile.
	if e := c.classify(ctx, clientErr(404, "InvalidImageId.NotFound", "gone", "R")); e.Class != ClassNotFound {
		t.Errorf("%+v", e)
	}
}

func TestClassifyMisc(t *testing.T) {
	if Classify(nil) != nil {
		t.Fatal("nil")
	}
	own := &Error{Class: ClassBlocked, Code: "X"}
	if Classify(fmt.Errorf("w: %w", own)) != own {
		t.Fatal("an *Error must come back as is")
	}
	if e := Classify(errors.New("something odd")); e.Class != ClassFailed || e.Code != CodeUnknown {
		t.Fatalf("%+v", e)
	}
	d := NewDryRunIgnored("R9")
	if d.Class != ClassDryRunIgnored || d.Code != CodeDryRunNotHonoured || d.RequestID != "R9" {
		t.Fatalf("%+v", d)
	}
}

func TestScrub(t *testing.T) {
	secret := "s3cr3t+/Key=="
	in := "boom s3cr3t+/Key== and s3cr3t%2B%2FKey%3D%3D; Authorization: ACS3-HMAC-SHA256 Credential=AK,Signature=abcdef x-acs-security-token: TOKEN"
	out := scrub(in, []string{secret})
	for _, bad := range []string{secret, url.QueryEscape(secret), "abcdef", "TOKEN"} {
		if strings.Contains(out, bad) {
			t.Errorf("%q left in %q", bad, out)
		}
	}
	if !strings.Contains(out, "Credential=AK") {
		t.Errorf("scrubbed too much: %q", out)
	}
	e := classify(clientErr(400, "SignatureDoesNotMatch", "expected signature for secret "+secret, "R"), []string{secret})
	if strings.Contains(e.Error(), secret) {
		t.Errorf("secret in %q", e.Error())
	}
}

func TestParseEndpoint(t *testing.T) {
	good := map[string][2]string{
		"https://ecs.cn-hangzhou.aliyuncs.com":      {"ecs.cn-hangzhou.aliyuncs.com", "https"},
		"https://ecs.example.com:8443/":             {"ecs.example.com:8443", "https"},
		"http://127.0.0.1:18080":                    {"127.0.0.1:18080", "http"},
		"http://127.3.4.5:80":                       {"127.3.4.5:80", "http"},
		"http://localhost:9000":                     {"localhost:9000", "http"},
		"http://[::1]:9000":                         {"[::1]:9000", "http"},
		"https://10.0.0.1:443":                      {"10.0.0.1:443", "https"},
		"HTTP://127.0.0.1:1":                        {"127.0.0.1:1", "http"},
		"https://ecs-vpc.cn-beijing.aliyuncs.com:1": {"ecs-vpc.cn-beijing.aliyuncs.com:1", "https"},
	}
	for in, want := range good {
		hp, proto, err := ParseEndpoint(in)
		if err != nil || hp != want[0] || proto != want[1] {
			t.Errorf("%s: %q %q %v", in, hp, proto, err)
		}
	}
	bad := map[string]string{
		"http://example.com":             "plain http is allowed only for loopback hosts",
		"http://10.0.0.1:80":             "plain http is allowed only for loopback hosts",
		"http://127.0.0.1.example.com:1": "plain http is allowed only for loopback hosts",
		"ecs.cn-hangzhou.aliyuncs.com":   "want https://host",
		"127.0.0.1:8080":                 "want https://host",
		"ftp://127.0.0.1":                "want https://host",
		"https://host/path":              "a path is not allowed",
		"https://host/?a=b":              "a query is not allowed",
		"https://host?":                  "a query is not allowed",
		"https://host#frag":              "a fragment is not allowed",
		"https://user:pw@host":           "user info",
		"https://host:99999":             "bad port",
		"https://host:":                  "empty port",
		"https://":                       "no host",
		"":                               "want https://host",
	}
	for in, want := range bad {
		_, _, err := ParseEndpoint(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	if _, err := New(Config{Endpoint: "http://example.com"}); err == nil ||
		err.Error() != `endpoint "http://example.com": plain http is allowed only for loopback hosts` {
		t.Errorf("New: %v", err)
	}
}

func TestRegionClientConfig(t *testing.T) {
	c, err := New(Config{Endpoint: "http://127.0.0.1:18080", Credential: StaticCredential("id", "sec", ""),
		Timeout: 7 * time.Second, ConnectTimeout: 2 * time.Second, MaxIdleConns: 8, UserAgent: "cleanup/1"})
	if err != nil {
		t.Fatal(err)
	}
	a, relA, err := c.acquire("cn-hangzhou")
	if err != nil {
		t.Fatal(err)
	}
	b, relB, _ := c.acquire("cn-beijing")
	a2, relA2, _ := c.acquire("cn-hangzhou")
	if a2 == a {
		t.Error("a client in use was handed out twice")
	}
	relA()
	relA2()
	relB()
	if a3, rel, _ := c.acquire("cn-hangzhou"); a3 != a && a3 != a2 {
		t.Error("released client not reused")
	} else {
		rel()
	}
	if a == b || a.RegionId == b.RegionId || tea.StringValue(b.RegionId) != "cn-beijing" {
		t.Error("regions share a client or options")
	}
	if tea.StringValue(a.Endpoint) != "127.0.0.1:18080" || tea.StringValue(a.Protocol) != "http" ||
		tea.StringValue(a.NoProxy) != "127.0.0.1:18080" || tea.IntValue(a.ReadTimeout) != 7000 ||
		tea.IntValue(a.ConnectTimeout) != 2000 || tea.IntValue(a.MaxIdleConns) != 8 ||
		!tea.BoolValue(a.Client.DisableSDKError) || a.RetryOptions != nil || tea.StringValue(a.RegionId) != "cn-hangzhou" {
		t.Errorf("config: %+v", a)
	}
	// Without an override the SDK resolves the regional endpoint.
	c2, _ := New(Config{Credential: StaticCredential("id", "sec", "")})
	d, _, err := c2.acquire("eu-central-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := tea.StringValue(d.Endpoint); got != "ecs.eu-central-1.aliyuncs.com" {
		t.Errorf("endpoint %q", got)
	}
	if tea.IntValue(d.ReadTimeout) != 30000 || tea.IntValue(d.ConnectTimeout) != 5000 {
		t.Errorf("defaults: %d %d", tea.IntValue(d.ReadTimeout), tea.IntValue(d.ConnectTimeout))
	}
	if _, _, err := c2.acquire(""); err == nil {
		t.Error("empty region accepted")
	}
}

func TestDescribeImagesRequest(t *testing.T) {
	req := describeImagesRequest("cn-hangzhou", ListFilter{
		OwnerAlias:    OwnerSelf,
		Statuses:      []string{StatusAvailable, StatusCreateFailed},
		Tags:          map[string]string{"team": "a", "env": "prod"},
		Name:          "web",
		ImageID:       "m-1",
		CreatedAfter:  time.Date(2026, 1, 2, 3, 4, 59, 0, time.FixedZone("x", 3600)),
		CreatedBefore: time.Date(2026, 2, 1, 0, 0, 1, 0, time.UTC),
	}, 3, 100)
	if tea.StringValue(req.Status) != "Available,CreateFailed" || tea.StringValue(req.ImageOwnerAlias) != "self" ||
		tea.StringValue(req.ImageName) != "web" || tea.StringValue(req.ImageId) != "m-1" ||
		tea.Int32Value(req.PageNumber) != 3 || tea.Int32Value(req.PageSize) != 100 {
		t.Errorf("%+v", req)
	}
	if len(req.Tag) != 2 || tea.StringValue(req.Tag[0].Key) != "env" || tea.StringValue(req.Tag[1].Value) != "a" {
		t.Errorf("tags %+v", req.Tag)
	}
	if len(req.Filter) != 2 || tea.StringValue(req.Filter[0].Value) != "2026-01-02T02:04Z" ||
		tea.StringValue(req.Filter[1].Key) != "CreationEndTime" || tea.StringValue(req.Filter[1].Value) != "2026-02-01T00:01Z" {
		t.Errorf("filters %s %s", tea.StringValue(req.Filter[0].Value), tea.StringValue(req.Filter[1].Value))
	}
	if r := describeImagesRequest("r", ListFilter{}, 1, 10); r.Status != nil || r.Tag != nil || r.Filter != nil || r.ImageOwnerAlias != nil {
		t.Errorf("zero filter sent fields: %+v", r)
	}
}

// A body that stalls past http.Client.Timeout fails outside any *url.Error, with an error
// that also answers errors.Is(context.DeadlineExceeded): it is still a transport timeout.
func TestClassifyBodyReadTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer srv.Close()
	hc := &http.Client{Timeout: 100 * time.Millisecond}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	if err == nil {
		t.Fatal("no error")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		t.Logf("note: body error is a *url.Error here")
	}
	if e := Classify(err); e.Class != ClassRetryable || e.Code != CodeTimeout {
		t.Fatalf("%T %v: %+v", err, err, e)
	}
}

func TestClientScrubsItsSecrets(t *testing.T) {
	const secret, token = "Client-Secret-9f8e7d6c", "STS-Token-abcdef123456"
	c, err := New(Config{Credential: StaticCredential("LTAIid", secret, token)})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK fetches the credential for every request; that is when the Client learns it.
	if _, err := c.cred.GetCredential(); err != nil {
		t.Fatal(err)
	}
	raw := clientErr(400, "SignatureDoesNotMatch", "server saw secret "+secret+" and token "+token, "R")
	e := c.classify(context.Background(), raw)
	if strings.Contains(e.Error(), secret) || strings.Contains(e.Error(), token) || e.Code != "SignatureDoesNotMatch" {
		t.Fatalf("%q", e.Error())
	}
	tr := c.classify(context.Background(), &url.Error{Op: "Post", URL: "http://x/", Err: errors.New("reset " + secret)})
	if strings.Contains(tr.Error(), secret) || strings.Contains(tr.Err.Error(), secret) || tr.Class != ClassRetryable {
		t.Fatalf("%+v", tr)
	}
	if m, _ := StaticCredential("a", "b", "").GetCredential(); tea.StringValue(m.Type) != "access_key" {
		t.Fatalf("type %v", tea.StringValue(m.Type))
	}
	if m, _ := StaticCredential("a", "b", "c").GetCredential(); tea.StringValue(m.Type) != "sts" || tea.StringValue(m.SecurityToken) != "c" {
		t.Fatalf("sts %+v", m)
	}
}

// pagesAPI serves DescribeImagesPage from fixed pages; only ListImages' loop is under test.
type pagesAPI struct {
	API
	pages [][]Image
	total int
	err   error
	asked []int
}

func (p *pagesAPI) DescribeImagesPage(_ context.Context, _ string, _ ListFilter, n, size int) (ImagePage, error) {
	p.asked = append(p.asked, n)
	if p.err != nil && n == len(p.pages)+1 {
		return ImagePage{}, p.err
	}
	if n > len(p.pages) {
		return ImagePage{TotalCount: p.total, PageNumber: n, PageSize: size}, nil
	}
	return ImagePage{Images: p.pages[n-1], TotalCount: p.total, PageNumber: n, PageSize: size}, nil
}

func fullPage(prefix string, n int) []Image {
	var out []Image
	for i := 0; i < n; i++ {
		out = append(out, Image{ID: fmt.Sprintf("%s-%03d", prefix, i)})
	}
	return out
}

func TestListImagesLoop(t *testing.T) {
	// A listing that shifts under deletions repeats an image: it comes back once.
	shifted := append(fullPage("a", 99), Image{ID: "b-000"})
	p := &pagesAPI{pages: [][]Image{fullPage("b", 100), shifted, fullPage("c", 10)}, total: 210}
	got, err := ListImages(context.Background(), p, "r", ListFilter{})
	if err != nil || len(got) != 209 || len(p.asked) != 3 {
		t.Fatalf("%d images, asked %v, %v", len(got), p.asked, err)
	}
	// TotalCount left out (0): page on until a short page.
	p = &pagesAPI{pages: [][]Image{fullPage("a", 100), fullPage("b", 100)}}
	got, err = ListImages(context.Background(), p, "r", ListFilter{})
	if err != nil || len(got) != 200 || len(p.asked) != 3 {
		t.Fatalf("%d images, asked %v, %v", len(got), p.asked, err)
	}
	// Exactly TotalCount on full pages: no extra empty page.
	p = &pagesAPI{pages: [][]Image{fullPage("a", 100), fullPage("b", 100)}, total: 200}
	if got, _ := ListImages(context.Background(), p, "r", ListFilter{}); len(got) != 200 || len(p.asked) != 2 {
		t.Fatalf("asked %v", p.asked)
	}
	// An error ends the listing and is returned as is.
	boom := &Error{Class: ClassRetryable, Code: "Throttling"}
	p = &pagesAPI{pages: [][]Image{fullPage("a", 100)}, total: 500, err: boom}
	if _, err := ListImages(context.Background(), p, "r", ListFilter{}); err != boom {
		t.Fatalf("%v", err)
	}
}
