package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCompareSemver(t *testing.T) {
	// Ordered lowest first; "" and invalid versions sort before every valid one.
	ordered := []string{"", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11",
		"1.0.0-rc.1", "1.0.0", "v1.0.1", "1.2", "1.2.1", "go1.21.0", "1.21.1", "1.100.0", "2.0.0"}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := compareSemver(a, b); got != want {
				t.Errorf("compareSemver(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
	for _, bad := range []string{"01.2.3", "1.2.3-01", "1.2-pre", "1.2.3+", "x"} {
		if compareSemver(bad, "") != 0 || compareSemver(bad, "0.0.1") != -1 {
			t.Errorf("%q is not treated as invalid", bad)
		}
	}
	if compareSemver("0.0.0-20190125091013-d26f9f9a57f3", "0.0.0-20210520170846-37e1c6afe023") != -1 {
		t.Error("pseudo-versions out of order")
	}
}

func TestBuild(t *testing.T) {
	src := t.TempDir()
	osvDir := filepath.Join(src, "data", "osv")
	if err := os.MkdirAll(osvDir, 0o755); err != nil {
		t.Fatal(err)
	}
	entries := map[string]string{
		"GO-2024-0001": `{"id":"GO-2024-0001","modified":"0001-01-01T00:00:00Z","affected":[
			{"package":{"name":"example.com/a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"},{"introduced":"1.3.0"},{"fixed":"1.3.4"}]}]},
			{"package":{"name":"stdlib"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.21.9"}]}]}]}`,
		"GO-2024-0002": `{"id":"GO-2024-0002","modified":"0001-01-01T00:00:00Z","affected":[
			{"package":{"name":"example.com/a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.1.0"},{"introduced":"1.5.0"}]}]}]}`,
	}
	for id, body := range entries {
		if err := os.WriteFile(filepath.Join(osvDir, id+".json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "db")
	n, err := build(src, out, "v0.0.0-20261105234957-e22db6528018")
	if err != nil || n != 2 {
		t.Fatalf("build: %d, %v", n, err)
	}
	var modules []moduleMeta
	readJSON(t, filepath.Join(out, "index", "modules.json"), &modules)
	if len(modules) != 2 || modules[0].Path != "example.com/a" || modules[1].Path != "stdlib" {
		t.Fatalf("modules %+v", modules)
	}
	a := modules[0].Vulns
	if len(a) != 2 || a[0].ID != "GO-2024-0001" || a[0].Fixed != "1.3.4" || a[1].ID != "GO-2024-0002" || a[1].Fixed != "" {
		t.Errorf("example.com/a vulns %+v", a)
	}
	var db struct{ Modified time.Time }
	readJSON(t, filepath.Join(out, "index", "db.json"), &db)
	if want := time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC); !db.Modified.Equal(want) {
		t.Errorf("db modified %v, want %v", db.Modified, want)
	}
	for id, body := range entries {
		got, err := os.ReadFile(filepath.Join(out, "ID", id+".json"))
		if err != nil || string(got) != body {
			t.Errorf("ID/%s.json: %v, %q", id, err, got)
		}
	}
	if _, err := build(src, out, ""); err == nil {
		t.Error("build into a non-empty directory succeeded")
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
