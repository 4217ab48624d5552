package ecstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzRequest feeds arbitrary queries, headers and bodies to the handler.
// With sign set, the request is validly signed over whatever was fuzzed, so
// the fuzzer reaches the actions' parameter parsing too. The handler must
// never panic and must always answer a JSON object with a RequestId.
func FuzzRequest(f *testing.F) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	f.Add("RegionId=cn-hangzhou", "DescribeImages", APIVersion, "", "", "n1", "", true)
	f.Add("RegionId=cn-hangzhou&ImageId=m-old1&DryRun=true", "DeleteImage", APIVersion, "", "", "n2", "", true)
	f.Add("RegionId=cn-hangzhou&Tag.1.Key=team&Tag.1.Value=ci&Filter.1.Key=CreationStartTime&Filter.1.Value=2026-01-01T00:00Z&PageSize=5&PageNumber=2&Status=Available,Creating", "DescribeImages", APIVersion, "", "", "n3", "", true)
	f.Add("RegionId=cn-hangzhou&MaxResults=1&NextToken=nt1", "DescribeInstances", APIVersion, "", "", "n4", "", true)
	f.Add("RegionId=cn-hangzhou&ImageId=m-shared&PageSize=1", "DescribeImageSharePermission", APIVersion, "", "", "n5", "", true)
	f.Add("SnapshotId=s-disk&Force=true", "DeleteSnapshot", APIVersion, "", "", "n6", "", true)
	f.Add("RegionId=cn-hangzhou&PageSize=50&LaunchTemplateId.1=lt-a", "DescribeLaunchTemplates", APIVersion, "", "", "n7", "", true)
	f.Add("RegionId=cn-hangzhou&LaunchTemplateId=lt-a&MinVersion=1&MaxVersion=9&LaunchTemplateVersion.1=2", "DescribeLaunchTemplateVersions", APIVersion, "", "", "n8", "", true)
	f.Add("RegionId=cn-hangzhou&ScalingGroupId=asg-a&PageNumber=2", "DescribeScalingConfigurations", ESSAPIVersion, "", "", "n9", "", true)
	f.Add("a=%zz", "DescribeImages", APIVersion, "ACS3-HMAC-SHA256 Credential=x,SignedHeaders=host,Signature=00", "2026-11-28T12:00:00Z", "", "body", false)
	f.Add("", "", "", "ACS3-HMAC-SHA256 ,,,==", "garbage", "", "", false)
	f.Fuzz(func(t *testing.T, query, action, version, auth, date, nonce, body string, sign bool) {
		s, err := NewHandler(testState(), Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		r := &http.Request{
			Method: http.MethodPost,
			URL:    &url.URL{Path: "/", RawQuery: query},
			Host:   "127.0.0.1:8080",
			Header: http.Header{},
			Body:   io.NopCloser(strings.NewReader(body)),
		}
		if date == "" && sign {
			date = now.Format("2006-01-02T15:04:05Z")
		}
		sum := sha256.Sum256([]byte(body))
		hash := hex.EncodeToString(sum[:])
		h := map[string]string{
			"x-acs-action": action, "x-acs-version": version, "x-acs-date": date,
			"x-acs-signature-nonce": nonce, "x-acs-content-sha256": hash,
		}
		for k, v := range h {
			r.Header[http.CanonicalHeaderKey(k)] = []string{v}
		}
		if vals, err := url.ParseQuery(query); sign && err == nil {
			names := "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
			canon := "host:" + r.Host + "\n"
			for _, n := range strings.Split(names, ";")[1:] {
				canon += n + ":" + strings.TrimSpace(h[n]) + "\n"
			}
			creq := "POST\n/\n" + CanonicalQuery(vals) + "\n" + canon + "\n" + names + "\n" + hash
			ch := sha256.Sum256([]byte(creq))
			mac := hmac.New(sha256.New, []byte(AccessKeySecret))
			mac.Write([]byte("ACS3-HMAC-SHA256\n" + hex.EncodeToString(ch[:])))
			auth = "ACS3-HMAC-SHA256 Credential=" + AccessKeyID + ",SignedHeaders=" + names + ",Signature=" + hex.EncodeToString(mac.Sum(nil))
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("answer %d is not a JSON object: %q", w.Code, w.Body.String())
		}
		if id, _ := m["RequestId"].(string); len(id) != 36 {
			t.Fatalf("answer without RequestId: %q", w.Body.String())
		}
		if w.Code != 200 && (w.Code < 400 || w.Code > 599) {
			t.Fatalf("status %d", w.Code)
		}
		if w.Code >= 400 {
			if c, _ := m["Code"].(string); c == "" {
				t.Fatalf("error without Code: %q", w.Body.String())
			}
		}
		if calls := s.Calls(); len(calls) != 1 || calls[0].Status != w.Code {
			t.Fatalf("call log %+v", calls)
		}
	})
}
