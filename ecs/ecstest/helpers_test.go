package ecstest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

func newClient(t testing.TB, s *Server) *ecs.Client {
	t.Helper()
	return newClientN(t, s, 0)
}

// newClientN returns the n-th client for s. The SDK client is not safe for
// concurrent use, and SDK clients with equal runtime settings share one
// *http.Client whose Timeout every call rewrites (a data race inside tea's
// dara.DoRequestWithCtx): concurrent goroutines each need their own client
// with a distinct ReadTimeout, which gives it its own pooled http.Client.
func newClientN(t testing.TB, s *Server, n int) *ecs.Client {
	t.Helper()
	c, err := ecs.NewClient(&openapiutil.Config{
		AccessKeyId:     tea.String(AccessKeyID),
		AccessKeySecret: tea.String(AccessKeySecret),
		RegionId:        tea.String("cn-hangzhou"),
		Endpoint:        tea.String(s.Addr()),
		Protocol:        tea.String("http"),
		ReadTimeout:     tea.Int(10000 + n),
		ConnectTimeout:  tea.Int(5000), // milliseconds in the pinned tea/dara, whatever older docs say
		NoProxy:         tea.String(s.Addr()),
		MaxIdleConns:    tea.Int(64),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var rt = &dara.RuntimeOptions{}

// errCode returns the SDK error code and status of err ("" and 0 for nil,
// "transport" and 0 for a non-SDK error).
func errCode(err error) (string, int) {
	if err == nil {
		return "", 0
	}
	var se *tea.SDKError
	if errors.As(err, &se) {
		return tea.StringValue(se.Code), tea.IntValue(se.StatusCode)
	}
	return "transport", 0
}

func wantCode(t *testing.T, err error, code string, status int) {
	t.Helper()
	c, st := errCode(err)
	if c != code || st != status {
		t.Fatalf("got code %q status %d (err %v), want %q %d", c, st, err, code, status)
	}
}

func deleteImage(c *ecs.Client, region, id string, dry, force bool) error {
	req := &ecs.DeleteImageRequest{RegionId: tea.String(region), ImageId: tea.String(id), DryRun: tea.Bool(dry)}
	if force {
		req.Force = tea.Bool(true)
	}
	_, err := c.DeleteImageWithContext(context.Background(), req, rt)
	return err
}

// rawReq describes a request signed by the test's own signer.
type rawReq struct {
	action, version string
	query           url.Values
	key, secret     string
	date            time.Time
	nonce           string
	body            string
	// tamper hooks
	badSig      bool
	contentHash string // overrides x-acs-content-sha256 if set
	noAuth      bool
	auth        string // overrides Authorization if set
}

func randNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// build returns a signed *http.Request for base (e.g. "http://127.0.0.1:1").
func (rr rawReq) build(base string) *http.Request {
	if rr.action == "" {
		rr.action = "DescribeImages"
	}
	if rr.version == "" {
		rr.version = APIVersion
	}
	if rr.key == "" {
		rr.key, rr.secret = AccessKeyID, AccessKeySecret
	}
	if rr.date.IsZero() {
		rr.date = time.Now()
	}
	if rr.nonce == "" {
		rr.nonce = randNonce()
	}
	u, _ := url.Parse(base)
	u.Path = "/"
	u.RawQuery = rr.query.Encode()
	req, _ := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(rr.body))
	sum := sha256.Sum256([]byte(rr.body))
	hash := hex.EncodeToString(sum[:])
	h := map[string]string{
		"host":                  u.Host,
		"x-acs-action":          rr.action,
		"x-acs-version":         rr.version,
		"x-acs-date":            rr.date.UTC().Format("2006-01-02T15:04:05Z"),
		"x-acs-signature-nonce": rr.nonce,
		"x-acs-content-sha256":  hash,
	}
	if rr.contentHash != "" {
		h["x-acs-content-sha256"] = rr.contentHash
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var canon strings.Builder
	for _, n := range names {
		canon.WriteString(n + ":" + h[n] + "\n")
		if n != "host" {
			req.Header.Set(n, h[n])
		}
	}
	signed := strings.Join(names, ";")
	creq := "POST\n/\n" + CanonicalQuery(rr.query) + "\n" + canon.String() + "\n" + signed + "\n" + hash
	ch := sha256.Sum256([]byte(creq))
	mac := hmac.New(sha256.New, []byte(rr.secret))
	mac.Write([]byte("ACS3-HMAC-SHA256\n" + hex.EncodeToString(ch[:])))
	sig := hex.EncodeToString(mac.Sum(nil))
	if rr.badSig {
		sig = strings.Repeat("0", 64)
	}
	switch {
	case rr.noAuth:
	case rr.auth != "":
		req.Header.Set("Authorization", rr.auth)
	default:
		req.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+rr.key+",SignedHeaders="+signed+",Signature="+sig)
	}
	return req
}

type errBody struct {
	RequestId, HostId, Code, Message, Recommend string
}

func doRaw(t *testing.T, s *Server, rr rawReq) (int, errBody, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(rr.build(s.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var eb errBody
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("answer is not JSON: %q", data)
	}
	json.Unmarshal(data, &eb)
	return resp.StatusCode, eb, m
}
