package ecs

import (
	"strings"
	"testing"
)

// TestEveryRefusalHasARemediation: each code Classify calls blocked has a one-line remedy that
// names a way forward, and nothing else has one but the busy codes (retried, and a remedy when
// the snapshot stayed busy the whole run).
func TestEveryRefusalHasARemediation(t *testing.T) {
	for code := range blockedCodes {
		r := Remediation(code)
		if r == "" {
			t.Errorf("%s: no remediation", code)
		}
		if strings.ContainsAny(r, "\n|") {
			t.Errorf("%s: remediation must be one line without pipes (it goes into tables): %q", code, r)
		}
	}
	for code := range remediations {
		if !blockedCodes[code] && !busyCodes[code] {
			t.Errorf("%s has a remediation but is not a refusal", code)
		}
	}
	for code, call := range map[string]string{
		"ImageUsingByInstance": "force", "OperationDenied.ImageCopying": "CancelCopyImage",
		"ImageIsExporting": "DescribeTasks", "ImageUseShared": "ModifyImageSharePermission",
		"ImageIsPublic": "ModifyImageSharePermission", "SnapshotCreatedDisk": "Force",
	} {
		if !strings.Contains(Remediation(code), call) {
			t.Errorf("%s: remediation %q does not name %s, as the service does", code, Remediation(code), call)
		}
	}
	if Remediation("Throttling") != "" {
		t.Error("a retryable code has a remediation")
	}
}
