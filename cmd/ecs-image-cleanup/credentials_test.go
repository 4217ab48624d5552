package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/credentials-go/credentials/providers"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
)

// Distinctive values for the credential chain's edges; like leakSecret they end in characters
// that make every escaped form differ, so leakForms finds them however they are printed.
const (
	credKeyID     = "LTAI5tCredChainKey0001"
	credSecret    = "Pr0f1leS3cret-DO-NOT-LEAK-c0ffee/+="
	credURIToken  = "Ur1T0ken-DO-NOT-LEAK-d00d1e/+=&"
	credOIDCToken = "O1dcT0ken-DO-NOT-LEAK-ba5eba11/+="
)

// credEnv clears every credential variable, points HOME at an empty directory and turns the
// ECS RAM role off, so that nothing reaches past 127.0.0.1 and nothing of the developer's
// own configuration is read. It returns HOME.
func credEnv(t *testing.T) string {
	t.Helper()
	for _, k := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
		"ALIBABA_CLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
		"ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_OIDC_TOKEN", "ALIBABA_CLOUD_STS_REGION",
		"ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED", "ALIBABA_CLOUD_CONFIG_FILE", "ALIBABA_CLOUD_PROFILE",
		"ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "ALIBABA_CLOUD_CREDENTIALS_FILE", "ALIBABA_CLOUD_CREDENTIALS_URI",
		"ALIBABA_CLOUD_ECS_METADATA", "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY"} {
		t.Setenv(k, "")
	}
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	home := t.TempDir()
	t.Setenv("HOME", home)
	return home
}

// writeFile writes a file, making its directory.
func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// credPlan runs plan in-process with the environment credEnv and the case set up, against
// endpoint ("" for the service's own, which a credential failure never reaches). The report
// and every other file the run writes into its directory are collected.
func credPlan(t *testing.T, endpoint string) leakRun {
	t.Helper()
	dir := t.TempDir()
	pol := writeFile(t, filepath.Join(dir, "policy.yaml"), "version: 1\nconcurrency: 4\nregions:\n  - region: cn-hangzhou\n    select:\n      older_than: 30d\n")
	rep := filepath.Join(dir, "report.json")
	args := []string{"plan", "--policy", pol, "--report", rep, "--summary", filepath.Join(dir, "summary.txt"),
		"--log-level", "debug", "--log-format", "json", "--request-timeout", "2s"}
	if endpoint != "" {
		args = append(args, "--endpoint", endpoint)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	r := leakRun{stdout: stdout.String(), stderr: stderr.String(), code: code}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "policy.yaml" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		r.report += string(data)
	}
	return r
}

// checkNone fails if any form of any of the values appears in stdout, stderr or a file the
// run wrote.
func (r leakRun) checkNone(t *testing.T, values ...string) {
	t.Helper()
	for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "written files": r.report} {
		for _, s := range values {
			for _, f := range leakForms(s) {
				if strings.Contains(out, f) {
					t.Errorf("%s contain %q:\n%s", name, f, out)
				}
			}
		}
	}
}

// checkNoKeyID fails if the full access key id is printed anywhere.
func (r leakRun) checkNoKeyID(t *testing.T) {
	t.Helper()
	if strings.Contains(r.stdout+r.stderr+r.report, credKeyID) {
		t.Errorf("the full access key id is printed:\n%s", r.stderr)
	}
}

// failsWith checks a credential failure: exit 1, the message start, each of wants in the
// message, and no secret anywhere.
func (r leakRun) failsWith(t *testing.T, wants ...string) {
	t.Helper()
	if r.code != exitUsage {
		t.Errorf("exit %d, want %d\nstderr:\n%s", r.code, exitUsage, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "ecs-image-cleanup plan: no usable credentials: ") {
		t.Errorf("stderr does not start with the credential message:\n%s", r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr does not mention %q:\n%s", w, r.stderr)
		}
	}
	r.checkNone(t, credSecret, credURIToken, credOIDCToken)
	r.checkNoKeyID(t)
}

func profileJSON(current string, profiles ...string) string {
	return fmt.Sprintf(`{"current":%q,"profiles":[%s],"meta_path":""}`, current, strings.Join(profiles, ","))
}

func akProfile(name string) string {
	return fmt.Sprintf(`{"name":%q,"mode":"AK","access_key_id":%q,"access_key_secret":%q,"region_id":"cn-hangzhou"}`, name, credKeyID, credSecret)
}

// TestCredentialConfigFile: a broken ~/.aliyun/config.json or ALIBABA_CLOUD_CONFIG_FILE is
// explained by path, line and field, never by its content.
func TestCredentialConfigFile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		env     map[string]string
		wants   []string
	}{
		{"one-line-malformed", strings.Replace(profileJSON("default", akProfile("default")), `"cn-hangzhou"}`, `"cn-hangzhou",}`, 1),
			nil, []string{"profile: ", "not valid JSON at line 1, column "}},
		{"malformed-line-4", "{\n  \"current\": \"default\",\n  \"profiles\": [\n    {\"name\": \"default\" \"access_key_secret\": \"" + credSecret + "\"}\n  ]\n}\n",
			nil, []string{"not valid JSON at line 4, column 24"}},
		{"truncated", profileJSON("default", akProfile("default"))[:120], nil, []string{"not valid JSON at line 1"}},
		{"wrong-type", "{\"current\":\"default\",\"profiles\":[\n" + strings.Replace(akProfile("default"), `"region_id"`, `"expired_seconds":"`+credSecret+`","region_id"`, 1) + "]}",
			nil, []string{"field profiles.0.expired_seconds at line 2 is a JSON string, want int"}},
		{"no-profiles", `{"current":"default","profiles":[]}`, nil, []string{"has no profiles"}},
		{"missing-secret", profileJSON("default", fmt.Sprintf(`{"name":"default","mode":"AK","access_key_id":%q}`, credKeyID)),
			nil, []string{`profile default in `, "mode AK: field access_key_secret missing"}},
		{"sts-missing-token", profileJSON("ops", fmt.Sprintf(`{"name":"ops","mode":"StsToken","access_key_id":%q,"access_key_secret":%q}`, credKeyID, credSecret)),
			nil, []string{"profile ops in ", "mode StsToken: field sts_token missing"}},
		{"unknown-mode", profileJSON("default", strings.Replace(akProfile("default"), `"mode":"AK"`, `"mode":"Magic"`, 1)),
			nil, []string{`field mode: unknown mode "Magic" (use AK, ChainableRamRoleArn,`}},
		{"secret-in-mode", profileJSON("default", strings.Replace(akProfile("default"), `"mode":"AK"`, `"mode":"`+credSecret+`"`, 1)),
			nil, []string{"field mode: unknown mode (not a mode name)"}},
		{"mode-missing", profileJSON("default", strings.Replace(akProfile("default"), `"mode":"AK",`, ``, 1)),
			nil, []string{"field mode missing"}},
		{"current-missing", profileJSON("prod", akProfile("default"), akProfile("staging")),
			nil, []string{`has no profile "prod", which its field current names (it has "default", "staging")`}},
		{"current-empty", profileJSON("", akProfile("default")),
			nil, []string{"field current is empty and ALIBABA_CLOUD_PROFILE is not set"}},
		{"named-profile-missing", profileJSON("default", akProfile("default")),
			map[string]string{"ALIBABA_CLOUD_PROFILE": "nightly"}, []string{`has no profile "nightly", which ALIBABA_CLOUD_PROFILE names`}},
		{"source-profile-loop", profileJSON("a",
			`{"name":"a","mode":"ChainableRamRoleArn","source_profile":"b","ram_role_arn":"acs:ram::1:role/x"}`,
			`{"name":"b","mode":"ChainableRamRoleArn","source_profile":"a","ram_role_arn":"acs:ram::1:role/y"}`),
			nil, []string{`profile a in `, `source_profile "b": source_profile "a": source_profile loops back to profile "a"`}},
		{"oidc-token-file-missing", profileJSON("k8s",
			`{"name":"k8s","mode":"OIDC","oidc_provider_arn":"acs:ram::1:oidc-provider/p","ram_role_arn":"acs:ram::1:role/r","oidc_token_file":"/nonexistent/token"}`),
			nil, []string{"mode OIDC: field oidc_token_file /nonexistent/token: no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := credEnv(t)
			path := writeFile(t, filepath.Join(home, ".aliyun", "config.json"), tc.content)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			credPlan(t, "").failsWith(t, append(tc.wants, path)...)
		})
	}
	t.Run("config-file-variable", func(t *testing.T) {
		home := credEnv(t)
		path := filepath.Join(home, "elsewhere.json")
		t.Setenv("ALIBABA_CLOUD_CONFIG_FILE", path)
		credPlan(t, "").failsWith(t, "profile: "+path+": no such file")
		writeFile(t, path, `{"current":"default","profiles":[{"name":"default","mode":"AK","access_key_secret":"`+credSecret+`"`)
		credPlan(t, "").failsWith(t, "profile: "+path+": not valid JSON at line 1")
	})
}

// TestCredentialINIFile: the library's other profile file, ~/.alibabacloud/credentials,
// whose parser quotes the offending line.
func TestCredentialINIFile(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		wants         []string
	}{
		{"no-delimiter", "[default]\ntype = access_key\n" + strings.TrimRight(credSecret, "/+=") + "\n", []string{"not a valid INI file at line 3"}},
		{"missing-secret", "[default]\ntype = access_key\naccess_key_id = " + credKeyID + "\n", []string{"profile default in ", "type access_key: key access_key_secret missing"}},
		{"unknown-type", "[default]\ntype = magic\naccess_key_secret = " + credSecret + "\n", []string{`key type: unknown type "magic"`}},
		{"no-section", "[other]\ntype = access_key\n", []string{"no section [default]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := credEnv(t)
			path := writeFile(t, filepath.Join(home, ".alibabacloud", "credentials"), tc.content)
			credPlan(t, "").failsWith(t, append(tc.wants, path)...)
		})
	}
}

// TestCredentialURI: ALIBABA_CLOUD_CREDENTIALS_URI carries a token in its query; failures name
// the URI's scheme, host and path only, and never the answer's body.
func TestCredentialURI(t *testing.T) {
	// Each answer echoes the token and a secret, as a careless credentials server might.
	echo := fmt.Sprintf(`{"error":"bad token %s","AccessKeySecret":%q}`, credURIToken, credSecret)
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"http-500", 500, echo, "answered HTTP 500"},
		{"http-403", 403, echo, "answered HTTP 403"},
		{"garbage", 200, "<html>" + credURIToken + " " + credSecret + "</html>", "answered HTTP 200 with a body that is not a JSON credential"},
		{"no-secret", 200, fmt.Sprintf(`{"AccessKeyId":%q,"SecurityToken":%q,"Expiration":"2099-01-01T00:00:00Z"}`, credKeyID, credURIToken), "answered without AccessKeySecret"},
		{"bad-expiration", 200, fmt.Sprintf(`{"AccessKeyId":%q,"AccessKeySecret":%q,"SecurityToken":%q,"Expiration":%q}`, credKeyID, credSecret, credURIToken, credSecret), "answered an Expiration that is not a time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			credEnv(t)
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.URL.Query().Get("token")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			t.Setenv("ALIBABA_CLOUD_CREDENTIALS_URI", srv.URL+"/v1/creds?token="+url.QueryEscape(credURIToken))
			credPlan(t, "").failsWith(t, "credentials uri: "+srv.URL+"/v1/creds "+tc.want)
			if got != credURIToken {
				t.Errorf("the server saw token %q; the test is vacuous", got)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		credEnv(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		t.Setenv("ALIBABA_CLOUD_CREDENTIALS_URI", "http://u:"+url.QueryEscape(credSecret)+"@"+addr+"/c?token="+url.QueryEscape(credURIToken))
		credPlan(t, "").failsWith(t, "credentials uri: http://"+addr+"/c refused the connection")
	})
	t.Run("not-a-url", func(t *testing.T) {
		credEnv(t)
		t.Setenv("ALIBABA_CLOUD_CREDENTIALS_URI", "ftp://127.0.0.1/c?token="+url.QueryEscape(credURIToken))
		credPlan(t, "").failsWith(t, "credentials uri: ALIBABA_CLOUD_CREDENTIALS_URI is not an http:// or https:// URL")
	})
}

// TestCredentialOIDC: the OIDC settings are checked before any call to STS, so these cases
// make no network call at all.
func TestCredentialOIDC(t *testing.T) {
	const (
		role = "acs:ram::1234567890123456:role/image-cleanup"
		prov = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c0ffee"
	)
	for _, tc := range []struct {
		name  string
		env   map[string]string // TOKEN_FILE "file" is replaced by a file holding the token
		wants []string
	}{
		{"role-arn-unreadable", map[string]string{"ALIBABA_CLOUD_ROLE_ARN": credOIDCToken, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": prov, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "file"},
			[]string{"oidc: ALIBABA_CLOUD_ROLE_ARN is not a RAM role ARN (acs:ram::ACCOUNT_ID:role/NAME)"}},
		{"provider-arn-nowhere", map[string]string{"ALIBABA_CLOUD_ROLE_ARN": role, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": "https://127.0.0.1:1/" + credOIDCToken, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "file"},
			[]string{"oidc: ALIBABA_CLOUD_OIDC_PROVIDER_ARN is not an OIDC provider ARN"}},
		{"provider-missing", map[string]string{"ALIBABA_CLOUD_ROLE_ARN": role, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "file"},
			[]string{"oidc: ALIBABA_CLOUD_OIDC_PROVIDER_ARN not set"}},
		{"token-file-missing", map[string]string{"ALIBABA_CLOUD_ROLE_ARN": role, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": prov, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "/nonexistent/token"},
			[]string{"oidc: ALIBABA_CLOUD_OIDC_TOKEN_FILE /nonexistent/token: no such file"}},
		{"token-file-is-a-directory", map[string]string{"ALIBABA_CLOUD_ROLE_ARN": role, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": prov, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "dir"},
			[]string{"oidc: ALIBABA_CLOUD_OIDC_TOKEN_FILE ", ": is a directory"}},
		{"token-file-empty", map[string]string{"ALIBABA_CLOUD_ROLE_ARN": role, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": prov, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "empty"},
			[]string{"oidc: ALIBABA_CLOUD_OIDC_TOKEN_FILE ", ": the file is empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := credEnv(t)
			for k, v := range tc.env {
				switch v {
				case "file":
					v = writeFile(t, filepath.Join(home, "token"), credOIDCToken+"\n")
				case "dir":
					v = t.TempDir()
				case "empty":
					v = writeFile(t, filepath.Join(home, "token"), "\n")
				}
				t.Setenv(k, v)
			}
			credPlan(t, "").failsWith(t, tc.wants...)
		})
	}
}

// TestCredentialEnvAndNone: half-set environment variables and no credential at all.
func TestCredentialEnvAndNone(t *testing.T) {
	t.Run("secret-without-id", func(t *testing.T) {
		credEnv(t)
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", credSecret)
		credPlan(t, "").failsWith(t, "env: ALIBABA_CLOUD_ACCESS_KEY_ID is not set but ALIBABA_CLOUD_ACCESS_KEY_SECRET is")
	})
	t.Run("id-without-secret", func(t *testing.T) {
		credEnv(t)
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", credKeyID)
		credPlan(t, "").failsWith(t, "env: ALIBABA_CLOUD_ACCESS_KEY_ID is set but ALIBABA_CLOUD_ACCESS_KEY_SECRET is not")
	})
	t.Run("none", func(t *testing.T) {
		credEnv(t)
		r := credPlan(t, "")
		r.failsWith(t, "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, a profile, a RAM role, OIDC or ALIBABA_CLOUD_CREDENTIALS_URI")
	})
	t.Run("the-first-broken-source-stops-the-chain", func(t *testing.T) {
		home := credEnv(t)
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", credKeyID)
		writeFile(t, filepath.Join(home, ".aliyun", "config.json"), `{"profiles":[{"access_key_secret":"`+credSecret+`"`)
		r := credPlan(t, "")
		r.failsWith(t, "env: ALIBABA_CLOUD_ACCESS_KEY_ID is set but", "are not tried")
		if strings.Contains(r.stderr, "profile: ") {
			t.Errorf("a source after the broken one was tried:\n%s", r.stderr)
		}
	})
}

// credLine is the info line that says which credential is used.
type credLine struct {
	Level, Msg, Credential, File, Mode, URI string
	AccessKeyID                             string `json:"access_key_id"`
}

// usedCredential finds the "using credentials" line of a run's JSON log.
func usedCredential(t *testing.T, r leakRun) credLine {
	t.Helper()
	for _, l := range strings.Split(r.stderr, "\n") {
		var cl credLine
		if json.Unmarshal([]byte(l), &cl) == nil && cl.Msg == "using credentials" {
			return cl
		}
	}
	t.Fatalf("no \"using credentials\" line (exit %d):\n%s", r.code, r.stderr)
	return credLine{}
}

// TestCredentialUsed: a run that finds its credential logs its kind at info, with the key id
// masked, and never a secret or token; the request is signed with it (the emulator checks).
func TestCredentialUsed(t *testing.T) {
	srv := leakServer(t, ecstest.Options{Credentials: map[string]string{credKeyID: credSecret}})
	masked := credKeyID[:4] + "****"
	t.Run("env", func(t *testing.T) {
		credEnv(t)
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", credKeyID)
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", credSecret)
		r := credPlan(t, srv.URL())
		if l := usedCredential(t, r); l.Level != "info" || l.Credential != "env" || l.AccessKeyID != masked {
			t.Errorf("logged %+v", l)
		}
		r.checkNone(t, credSecret)
		r.checkNoKeyID(t)
		if r.code != exitOK {
			t.Errorf("exit %d:\n%s", r.code, r.stderr)
		}
	})
	t.Run("profile", func(t *testing.T) {
		home := credEnv(t)
		path := writeFile(t, filepath.Join(home, ".aliyun", "config.json"), profileJSON("prod", akProfile("default"), akProfile("prod")))
		r := credPlan(t, srv.URL())
		if l := usedCredential(t, r); l.Credential != "profile prod" || l.File != path || l.Mode != "AK" || l.AccessKeyID != masked {
			t.Errorf("logged %+v", l)
		}
		r.checkNone(t, credSecret)
		r.checkNoKeyID(t)
		if r.code != exitOK {
			t.Errorf("exit %d:\n%s", r.code, r.stderr)
		}
	})
	t.Run("ini-profile", func(t *testing.T) {
		home := credEnv(t)
		writeFile(t, filepath.Join(home, ".alibabacloud", "credentials"), "[default]\ntype = access_key\naccess_key_id = "+credKeyID+"\naccess_key_secret = "+credSecret+"\n")
		r := credPlan(t, srv.URL())
		if l := usedCredential(t, r); l.Credential != "profile default" || l.AccessKeyID != masked {
			t.Errorf("logged %+v", l)
		}
		r.checkNone(t, credSecret)
		if r.code != exitOK {
			t.Errorf("exit %d:\n%s", r.code, r.stderr)
		}
	})
	t.Run("a-broken-profile-stops-the-chain", func(t *testing.T) {
		home := credEnv(t)
		writeFile(t, filepath.Join(home, ".aliyun", "config.json"), `{"profiles":[{"access_key_secret":"`+credSecret+`"`)
		var calls int
		creds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			if r.URL.Query().Get("token") != credURIToken {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			fmt.Fprintf(w, `{"AccessKeyId":%q,"AccessKeySecret":%q,"SecurityToken":%q,"Expiration":%q}`,
				credKeyID, credSecret, credURIToken, time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z"))
		}))
		defer creds.Close()
		t.Setenv("ALIBABA_CLOUD_CREDENTIALS_URI", creds.URL+"/creds?token="+url.QueryEscape(credURIToken))
		// A configured source that is broken is not skipped for the next one, which could be
		// another identity: the run stops before any request.
		before := len(srv.Calls())
		r := credPlan(t, srv.URL())
		if !strings.Contains(r.stderr, "no usable credentials: profile: ") || !strings.Contains(r.stderr, "not valid JSON at line 1") ||
			!strings.Contains(r.stderr, "are not tried") {
			t.Errorf("the broken profile is not named as what stopped the run:\n%s", r.stderr)
		}
		r.checkNone(t, credSecret, credURIToken)
		if r.code != exitUsage || calls != 0 || len(srv.Calls()) != before {
			t.Errorf("exit %d after %d calls to the credentials URI and %d to ECS, want 1 after none:\n%s", r.code, calls, len(srv.Calls())-before, r.stderr)
		}
	})
}

// failingProvider fails as the library's providers do: its error quotes what it read.
type failingProvider struct{ err error }

func (p failingProvider) GetCredentials() (*providers.Credentials, error) { return nil, p.err }
func (p failingProvider) GetProviderName() string                         { return "failing" }

// TestCredentialRefreshInOwnWords: a credential that fails later, when it is refreshed during
// the run, fails in our words too; the library's text (a config file's content, an answer's
// body, a URI with its query) never reaches the SDK's error and so the report.
func TestCredentialRefreshInOwnWords(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"sts-refused", fmt.Errorf(`get session token failed: {"RequestId":"x","Code":"AuthenticationFail.OIDCToken.Invalid","Message":"token %s"}`, credOIDCToken),
			"oidc: AssumeRoleWithOIDC at sts.aliyuncs.com was refused: AuthenticationFail.OIDCToken.Invalid"},
		{"unreachable", &url.Error{Op: "Post", URL: "https://sts.aliyuncs.com/?token=" + credURIToken, Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}},
			"oidc: AssumeRoleWithOIDC at sts.aliyuncs.com did not answer in time"},
		{"metadata-status", fmt.Errorf("refresh Ecs sts token err, httpStatus: 404, message = %s", credSecret),
			"oidc: AssumeRoleWithOIDC at sts.aliyuncs.com was answered with HTTP 404"},
		{"anything-else", fmt.Errorf("unmarshal aliyun cli config from 'x' failed: %s", credSecret),
			"oidc: AssumeRoleWithOIDC at sts.aliyuncs.com gave no usable credential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			credEnv(t)
			p := &ownWordsProvider{inner: failingProvider{tc.err}, kind: "oidc",
				explain: func(err error) string { return "AssumeRoleWithOIDC at " + stsEndpoint() + " " + describeRemote(err) }}
			_, err := p.GetCredentials()
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
			leakRun{stderr: err.Error()}.checkNone(t, credSecret, credURIToken, credOIDCToken)
		})
	}
}
