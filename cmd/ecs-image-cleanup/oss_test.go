package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
)

// ossRequest is one request the fake OSS saw.
type ossRequest struct {
	Method, Path string
	Body         []byte
}

// fakeOSS is OSS on 127.0.0.1: it checks every request's signature form and x-oss-* headers,
// keeps objects, and refuses PutObject with 403 AccessDenied when deny is set.
type fakeOSS struct {
	t       *testing.T
	mu      sync.Mutex
	reqs    []ossRequest
	objects map[string][]byte
	deny    bool
}

var ossAuth = regexp.MustCompile(`^OSS4-HMAC-SHA256 Credential=` + regexp.QuoteMeta(ecstest.AccessKeyID) + `/\d{8}/cn-hangzhou/oss/aliyun_v4_request,(AdditionalHeaders=[a-z;-]+,)?Signature=[0-9a-f]{64}$`)

func (f *fakeOSS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, ossRequest{r.Method, r.URL.Path, body})
	auth := r.Header.Get("Authorization")
	if !ossAuth.MatchString(auth) {
		f.t.Errorf("%s %s: Authorization %q is not an OSS V4 signature of the emulator's key", r.Method, r.URL.Path, auth)
	}
	if strings.Contains(auth, ecstest.AccessKeySecret) {
		f.t.Errorf("the secret is in the Authorization header")
	}
	if r.Header.Get("x-oss-date") == "" || r.Header.Get("x-oss-content-sha256") != "UNSIGNED-PAYLOAD" {
		f.t.Errorf("%s %s: x-oss-date %q, x-oss-content-sha256 %q", r.Method, r.URL.Path, r.Header.Get("x-oss-date"), r.Header.Get("x-oss-content-sha256"))
	}
	w.Header().Set("x-oss-request-id", "5C3D9175B6FC201293AD4890")
	if !strings.HasPrefix(r.URL.Path, "/reports-bkt/") {
		f.t.Errorf("%s %s: not path-style in bucket reports-bkt", r.Method, r.URL.Path)
	}
	key := strings.TrimPrefix(r.URL.Path, "/reports-bkt/")
	switch r.Method {
	case http.MethodPut:
		if f.deny {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>You have no right to access this object because of bucket acl.</Message><RequestId>5C3D9175B6FC201293AD4890</RequestId><HostId>reports-bkt.oss-cn-hangzhou.aliyuncs.com</HostId></Error>`)
			return
		}
		if r.ContentLength != int64(len(body)) {
			f.t.Errorf("PUT %s: Content-Length %d, body %d bytes", key, r.ContentLength, len(body))
		}
		f.objects[key] = body
		w.Header().Set("ETag", `"D41D8CD98F00B204E9800998ECF8427E"`)
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		delete(f.objects, key)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodHead:
		if _, ok := f.objects[key]; !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusBadRequest)
	}
}

func startOSS(t *testing.T) (*fakeOSS, string) {
	f := &fakeOSS{t: t, objects: map[string][]byte{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

// plan --report oss://... checks the bucket (a marker put and deleted under the key's prefix)
// before any ECS request, keeps the journal in KEY.journal while it runs, puts the report in
// the object named with {command} and {started_at}, and then deletes the journal object.
func TestReportToOSS(t *testing.T) {
	srv, _ := confirmSetup(t)
	oss, ossURL := startOSS(t)
	code, _, stderr := edgeRun(t, srv, "plan", "--policy", "../../examples/demo.yaml",
		"--report", "oss://reports-bkt/runs/{command}-{started_at}.json", "--oss-endpoint", ossURL, "--oss-region", "cn-hangzhou")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	oss.mu.Lock()
	defer oss.mu.Unlock()
	var seq []string
	for _, r := range oss.reqs {
		p := regexp.MustCompile(`\d{8}T\d{6}Z`).ReplaceAllString(r.Path, "STAMP")
		p = regexp.MustCompile(`check-[0-9a-f]{12}`).ReplaceAllString(p, "check-N")
		seq = append(seq, r.Method+" "+p)
	}
	got := strings.Join(seq, "\n")
	const (
		marker  = "/reports-bkt/runs/.ecs-image-cleanup-write-check-N"
		rep     = "/reports-bkt/runs/plan-STAMP.json"
		journal = rep + ".journal"
	)
	wantStart := strings.Join([]string{"PUT " + marker, "DELETE " + marker, "HEAD " + journal, "PUT " + marker, "DELETE " + marker, "PUT " + journal}, "\n")
	wantEnd := "PUT " + rep + "\nDELETE " + journal
	if !strings.HasPrefix(got, wantStart) || !strings.HasSuffix(got, wantEnd) {
		t.Fatalf("OSS requests:\n%s\nwant first:\n%s\nand last:\n%s", got, wantStart, wantEnd)
	}
	for _, line := range seq[6 : len(seq)-2] {
		if line != "PUT "+journal {
			t.Errorf("between the first journal put and the report: %s", line)
		}
	}
	if len(oss.objects) != 1 {
		t.Fatalf("objects left: %d, want only the report", len(oss.objects))
	}
	for key, body := range oss.objects {
		if !regexp.MustCompile(`^runs/plan-\d{8}T\d{6}Z\.json$`).MatchString(key) {
			t.Errorf("report key %q", key)
		}
		var rep struct {
			Command string
			Status  string
		}
		if err := json.Unmarshal(body, &rep); err != nil || rep.Command != "plan" || rep.Status != "completed" {
			t.Errorf("report object: %v %+v", err, rep)
		}
	}
	// The first journal put is the start line; a later one holds selected images.
	for _, r := range oss.reqs {
		if r.Method == http.MethodPut && strings.HasSuffix(r.Path, ".journal") && !strings.Contains(string(r.Body), `"kind":"start"`) {
			t.Errorf("journal object without its start line: %q", r.Body)
		}
	}
	if calls := srv.Calls(); len(calls) == 0 || calls[0].Action != "DescribeRegions" {
		t.Errorf("the first ECS call is not DescribeRegions")
	}
}

// A bucket that refuses the write check (403 AccessDenied) stops the run with exit 1 before any
// ECS request, saying why.
func TestReportToOSSRefused(t *testing.T) {
	srv, _ := confirmSetup(t)
	oss, ossURL := startOSS(t)
	oss.deny = true
	code, _, stderr := edgeRun(t, srv, "apply", "--yes", "--policy", "../../examples/demo.yaml",
		"--report", "oss://reports-bkt/runs/{command}.json", "--summary", "oss://reports-bkt/runs/{command}.md", "--oss-endpoint", ossURL)
	if code != exitUsage {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "--report oss://reports-bkt/runs/apply.json: write check (PutObject): 403 AccessDenied") || !strings.Contains(stderr, "nothing was sent") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if strings.Contains(stderr, ecstest.AccessKeySecret) {
		t.Error("the secret is in the message")
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d ECS requests after the refusal", n)
	}
	oss.mu.Lock()
	defer oss.mu.Unlock()
	if len(oss.reqs) != 1 || oss.reqs[0].Method != http.MethodPut {
		t.Errorf("OSS requests %+v, want the one refused PUT", oss.reqs)
	}
}
