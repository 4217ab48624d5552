package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
)

// Distinctive credentials: the characters after the dashes make every escaped form differ.
const (
	leakKeyID  = "LTAI5tLeakTestKey000001"
	leakSecret = "S3cr3t-DO-NOT-LEAK-7f3a9c/+="
	leakToken  = "T0k3n-DO-NOT-LEAK-b41d2e/+=&"
)

// leakForms returns every form of s that must never be printed: raw, URL-query and path
// escaped, base64 and the distinctive core (which survives JSON and most other escapings).
func leakForms(s string) []string {
	core := s[:strings.IndexAny(s, "/+=&")]
	return []string{s, url.QueryEscape(s), url.PathEscape(s), strings.ReplaceAll(url.QueryEscape(s), "+", "%20"),
		base64.StdEncoding.EncodeToString([]byte(s)), base64.URLEncoding.EncodeToString([]byte(s)),
		base64.RawStdEncoding.EncodeToString([]byte(s)), core}
}

type leakRun struct {
	stdout, stderr, report string
	code                   int
}

// runLeak runs the command with the distinctive secret and token in its environment.
func runLeak(t *testing.T, bin, keyID, endpoint, format string, args ...string) leakRun {
	t.Helper()
	return runLeakUntil(t, bin, keyID, endpoint, format, "", 0, args...)
}

// runLeakUntil is runLeak that interrupts the process (SIGINT) once stderr has shown stop n times.
func runLeakUntil(t *testing.T, bin, keyID, endpoint, format, stop string, n int, args ...string) leakRun {
	t.Helper()
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte("version: 1\nconcurrency: 4\nregions:\n  - region: cn-hangzhou\n    select:\n      older_than: 30d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := filepath.Join(dir, "report.json")
	args = append(args, "--policy", pol, "--endpoint", endpoint, "--report", rep,
		"--log-level", "debug", "--log-format", format, "--request-timeout", "2s")
	cmd := exec.Command(bin, args...)
	env := []string{"HOME=" + dir}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALIBABA_CLOUD_") && !strings.HasPrefix(kv, "ALICLOUD_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "ALIBABA_CLOUD_ACCESS_KEY_ID="+keyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+leakSecret,
		"ALIBABA_CLOUD_SECURITY_TOKEN="+leakToken)
	var stdout bytes.Buffer
	stderr := &watchedBuffer{stop: stop, n: n, hit: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-stderr.hit:
			_ = cmd.Process.Signal(syscall.SIGINT)
		case <-done:
		}
	}()
	err := cmd.Wait()
	close(done)
	r := leakRun{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(rep); err == nil {
		r.report = string(data)
	}
	return r
}

// watchedBuffer collects output and closes hit once stop has appeared n times (n > 0).
type watchedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	stop string
	n    int
	hit  chan struct{}
}

func (w *watchedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.n > 0 && strings.Count(w.buf.String(), w.stop) >= w.n {
		w.n = 0
		close(w.hit)
	}
	return len(p), nil
}

func (w *watchedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// leaks describes every form of the secret or token found in any output.
func (r leakRun) leaks() []string {
	var found []string
	for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "report": r.report} {
		for _, s := range []string{leakSecret, leakToken} {
			for _, f := range leakForms(s) {
				if i := strings.Index(out, f); i >= 0 {
					lo, hi := max(0, i-200), min(len(out), i+len(f)+100)
					found = append(found, fmt.Sprintf("%s contains %q: ...%s...", name, f, out[lo:hi]))
				}
			}
		}
	}
	return found
}

// checkNoLeak fails if any form of the secret or token appears in any output.
func (r leakRun) checkNoLeak(t *testing.T) {
	t.Helper()
	for _, l := range r.leaks() {
		t.Error(l)
	}
}

// TestLeakCheck: the check itself finds each secret in the forms a log line or report could
// carry it in, so TestSecretsNeverLeak cannot pass by looking for the wrong thing.
func TestLeakCheck(t *testing.T) {
	for _, s := range []string{leakSecret, leakToken} {
		j, _ := json.Marshal(s)
		forms := append(leakForms(s), string(j), url.Values{"SecurityToken": {s}}.Encode(), "x-acs-security-token:"+s)
		for _, f := range forms {
			for _, r := range []leakRun{{stdout: "a " + f + " b"}, {stderr: f}, {report: `{"message":` + f + `}`}} {
				if len(r.leaks()) == 0 {
					t.Errorf("%q in %+v is not found", f, r)
				}
			}
		}
	}
	if l := (leakRun{stdout: "S3cr3t-DO", stderr: "[REDACTED] DO-NOT-LEAK", report: ecstest.AccessKeySecret}).leaks(); len(l) != 0 {
		t.Errorf("clean output flagged: %v", l)
	}
}

// expect fails unless all the given strings appear somewhere in stderr or the report, so that
// the scenario cannot pass without producing the errors it is about.
func (r leakRun) expect(t *testing.T, wants ...string) {
	t.Helper()
	all := r.stderr + r.report
	for _, w := range wants {
		if !strings.Contains(all, w) {
			t.Errorf("neither stderr nor the report mention %q (exit %d)\nstderr:\n%s\nreport:\n%s", w, r.code, r.stderr, r.report)
		}
	}
}

func leakServer(t *testing.T, opts ecstest.Options) *ecstest.Server {
	t.Helper()
	st := &ecstest.State{Regions: map[string]*ecstest.Region{
		"cn-hangzhou": {Images: ecstest.GenerateImages(6, "leak", time.Now().Add(-90*24*time.Hour))},
	}}
	if opts.Credentials == nil {
		opts.Credentials = map[string]string{leakKeyID: leakSecret}
	}
	srv := ecstest.NewServer(st, opts)
	t.Cleanup(srv.Close)
	return srv
}

// TestSecretsNeverLeak: with a distinctive access key secret and security token and debug
// logging in both formats, neither appears in stdout, stderr or the report, whatever goes
// wrong: retried faults, dropped connections, refusals, bad keys and unreachable endpoints.
func TestSecretsNeverLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	bin := commandPath(t)
	for _, format := range []string{"json", "console"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			t.Run("faults", func(t *testing.T) {
				t.Parallel()
				f := ecstest.Faults{ThrottleRatio: 0.1, InternalErrorRatio: 0.15, UnavailableRatio: 0.05}
				del := f
				del.DropAfterDeleteRatio = 0.4
				srv := leakServer(t, ecstest.Options{Seed: 7, Faults: map[string]ecstest.Faults{"*": f, "DeleteImage": del}})
				plan := runLeak(t, bin, leakKeyID, srv.URL(), format, "plan")
				plan.checkNoLeak(t)
				apply := runLeak(t, bin, leakKeyID, srv.URL(), format, "apply", "--yes")
				apply.checkNoLeak(t)
				var dropped, failed bool
				for _, c := range srv.Calls() {
					dropped = dropped || c.Dropped
					failed = failed || c.Status >= 400
				}
				if !dropped || !failed {
					t.Errorf("the emulator dropped %v, answered errors %v; want both", dropped, failed)
				}
				apply.expect(t, `"deleted"`)
				// Debug logging is on, and the retried errors were logged.
				debug := map[string]string{"json": `"level":"debug"`, "console": "\tDEBUG\t"}[format]
				plan.expect(t, debug)
				apply.expect(t, debug)
			})
			t.Run("forbidden", func(t *testing.T) {
				t.Parallel()
				srv := leakServer(t, ecstest.Options{Deny: map[string]string{"DeleteImage": "Forbidden.RAM"}})
				r := runLeak(t, bin, leakKeyID, srv.URL(), format, "apply", "--yes")
				r.checkNoLeak(t)
				r.expect(t, "Forbidden.RAM")
			})
			t.Run("wrong-secret", func(t *testing.T) {
				t.Parallel()
				srv := leakServer(t, ecstest.Options{Credentials: map[string]string{leakKeyID: "another-secret"}})
				r := runLeak(t, bin, leakKeyID, srv.URL(), format, "plan")
				r.checkNoLeak(t)
				r.expect(t, "SignatureDoesNotMatch")
			})
			t.Run("unknown-key", func(t *testing.T) {
				t.Parallel()
				srv := leakServer(t, ecstest.Options{})
				r := runLeak(t, bin, "LTAI5tNobodyKnowsMe0001", srv.URL(), format, "plan")
				r.checkNoLeak(t)
				r.expect(t, "InvalidAccessKeyId.NotFound")
			})
			t.Run("refused", func(t *testing.T) {
				t.Parallel()
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := ln.Addr().String()
				ln.Close()
				// Every attempt is refused; the retries back off for many seconds, so the run is
				// interrupted after a few of them, which also reports the last transport error.
				r := runLeakUntil(t, bin, leakKeyID, "http://"+addr, format, "NetworkError", 3, "plan")
				r.checkNoLeak(t)
				r.expect(t, "connection refused", "http://"+addr)
			})
			t.Run("token-on-the-wire", func(t *testing.T) {
				t.Parallel()
				// A proxy in front of the emulator shows that the token really was sent, signed,
				// so the checks above are not vacuous for it.
				srv := leakServer(t, ecstest.Options{})
				target, err := url.Parse(srv.URL())
				if err != nil {
					t.Fatal(err)
				}
				var mu sync.Mutex
				var tokens, signed int
				proxy := httputil.NewSingleHostReverseProxy(target)
				front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					mu.Lock()
					if req.Header.Get("x-acs-security-token") == leakToken {
						tokens++
					}
					if strings.Contains(req.Header.Get("Authorization"), "x-acs-security-token") {
						signed++
					}
					mu.Unlock()
					proxy.ServeHTTP(w, req)
				}))
				t.Cleanup(front.Close)
				r := runLeak(t, bin, leakKeyID, front.URL, format, "plan")
				r.checkNoLeak(t)
				if r.code != 0 {
					t.Errorf("plan through the proxy exited %d:\n%s", r.code, r.stderr)
				}
				mu.Lock()
				defer mu.Unlock()
				if tokens == 0 || signed != tokens {
					t.Errorf("%d requests carried the token, %d signed it; want all signed, at least one", tokens, signed)
				}
			})
		})
	}
}
