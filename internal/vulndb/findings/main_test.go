package main

import (
	"bytes"
	"strings"
	"testing"
)

// stream is a govulncheck -format json stream as v1.9.0 writes it: config, progress, osv entries
// and findings at module, package and symbol level, several for one vulnerability.
const stream = `{"config":{"protocol_version":"v1.0.0","scanner_name":"govulncheck","scanner_version":"v1.9.0","go_version":"go1.26.8","scan_level":"symbol","scan_mode":"source"}}
{"progress":{"message":"Scanning your code and 120 packages across 14 dependent modules for known vulnerabilities..."}}
{"osv":{"id":"GO-2026-0001","summary":"Quadratic parsing in net/http"}}
{"osv":{"id":"GO-2026-0002","summary":"Panic in golang.org/x/net/html"}}
{"osv":{"id":"GO-2026-0003","summary":"Leak in golang.org/x/text"}}
{"finding":{"osv":"GO-2026-0001","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8"}]}}
{"finding":{"osv":"GO-2026-0001","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"net/http"}]}}
{"finding":{"osv":"GO-2026-0001","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"net/http","function":"ReadRequest"},{"module":"example.com/m","package":"example.com/m","function":"main"}]}}
{"finding":{"osv":"GO-2026-0003","fixed_version":"v0.44.0","trace":[{"module":"golang.org/x/text","version":"v0.43.0","package":"golang.org/x/text/language"}]}}
`

const calledModule = `{"finding":{"osv":"GO-2026-0002","fixed_version":"v0.63.0","trace":[{"module":"golang.org/x/net","version":"v0.62.0","package":"golang.org/x/net/html","function":"Parse"}]}}
{"finding":{"osv":"GO-2026-0002","fixed_version":"v0.63.0","trace":[{"module":"golang.org/x/net","version":"v0.62.0","package":"golang.org/x/net/html","function":"Render","receiver":"*Node"}]}}
`

func TestStandardLibraryReportedNotFailed(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(strings.NewReader(stream), &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	want := "standard library: GO-2026-0001 (Quadratic parsing in net/http): calls net/http.ReadRequest; fixed in go1.26.9, this build uses go1.26.8: raise go.mod's go line and the Dockerfile's Go image\n" +
		"note: GO-2026-0003 (Leak in golang.org/x/text): golang.org/x/text@v0.43.0: imports golang.org/x/text/language, but never calls its vulnerable code\n" +
		"govulncheck: 0 module finding(s) the code calls, 1 in the standard library, 1 imported but not called\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestCalledModuleFails(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(strings.NewReader(stream+calledModule), &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	if want := "module: GO-2026-0002 (Panic in golang.org/x/net/html): golang.org/x/net@v0.62.0: calls golang.org/x/net/html.Node.Render, golang.org/x/net/html.Parse; fixed in golang.org/x/net@v0.63.0\n"; !strings.Contains(out.String(), want) {
		t.Errorf("got\n%s\nwant a line\n%s", out.String(), want)
	}
}

func TestNoFindings(t *testing.T) {
	var out, errOut bytes.Buffer
	cfg := `{"config":{"go_version":"go1.26.8"}}` + "\n"
	if code := run(strings.NewReader(cfg), &out, &errOut); code != 0 || out.String() != "govulncheck: 0 module finding(s) the code calls, 0 in the standard library, 0 imported but not called\n" {
		t.Errorf("exit %d, %q", code, out.String())
	}
}

func TestMalformed(t *testing.T) {
	for _, in := range []string{`{"finding":`, `{"finding":{"osv":"GO-1"}}`, "not json"} {
		var out, errOut bytes.Buffer
		if code := run(strings.NewReader(in), &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q", in, code, errOut.String())
		}
	}
}
