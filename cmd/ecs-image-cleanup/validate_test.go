package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestValidateDescribesRegions pins validate's whole output at a fixed time: the summary first,
// then each region in file order with its cut-off, which the testscript can only match by shape.
func TestValidateDescribesRegions(t *testing.T) {
	pol := filepath.Join(t.TempDir(), "p.yaml")
	src := "version: 1\nregions:\n" +
		"  - region: cn-hangzhou\n    image_ids: [m-bp67acfmxazb4p0001, m-bp67acfmxazb4p0002]\n" +
		"    select: {name: \"ci-*\", tags: {team: ci}, older_than: 30d, keep_latest: 3, group_by: family}\n" +
		"  - region: cn-shanghai\n    select: {older_than: 90min}\n    protect: {referenced: false}\n" +
		"protect:\n  names: [\"golden-*\"]\n"
	if err := os.WriteFile(pol, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	if code := cmdValidate([]string{"--policy", pol}, &stdout, &stderr, now); code != exitOK || stderr.Len() > 0 {
		t.Fatalf("exit %d, stderr %s", code, &stderr)
	}
	want := pol + ": ok: 2 regions (cn-hangzhou, cn-shanghai), 2 explicit image ids, 2 selectors, concurrency 8, referenced images not protected in cn-shanghai\n" +
		`cn-hangzhou: own custom images named "ci-*", tagged team=ci, created before 2026-11-02 00:00 UTC (older than 30d), ` +
		`status Available, UnAvailable, CreateFailed or Deprecated; keeping the 3 newest of each family; plus 2 explicit ids; ` +
		`protected: names "golden-*"; referenced images` + "\n" +
		`cn-shanghai: own custom images created before 2026-12-01 22:30 UTC (older than 90min), ` +
		`status Available, UnAvailable, CreateFailed or Deprecated; protected: names "golden-*"; referenced images not protected` + "\n"
	if got := stdout.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
