package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A policy region the account does not have (a typo) stops plan and apply with exit 1 after one
// DescribeRegions, naming the file, the line and column, the region and the nearest known id;
// no other request is sent and no report is written.
func TestUnknownRegionRefused(t *testing.T) {
	for _, command := range []string{"plan", "apply"} {
		t.Run(command, func(t *testing.T) {
			srv, _ := confirmSetup(t)
			dir := t.TempDir()
			pol := filepath.Join(dir, "typo.yaml")
			body := "version: 1\nregions:\n  - region: cn-shanghai\n    select: {name: \"ci-*\"}\n  - region: cn-hangzou\n    select: {name: \"ci-*\"}\n"
			if err := os.WriteFile(pol, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			rep := filepath.Join(dir, "r.json")
			args := []string{command, "--policy", pol, "--report", rep}
			if command == "apply" {
				args = append(args, "--yes")
			}
			code, _, stderr := edgeRun(t, srv, args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\n%s", code, exitUsage, stderr)
			}
			want := pol + ":5:13: field regions[1].region: region cn-hangzou does not exist for this account"
			if !strings.Contains(stderr, want) || !strings.Contains(stderr, "did you mean cn-hangzhou?") || !strings.Contains(stderr, "nothing else was sent") {
				t.Errorf("stderr does not say %q, the nearest id and that nothing else was sent:\n%s", want, stderr)
			}
			calls := srv.Calls()
			if len(calls) != 1 || calls[0].Action != "DescribeRegions" {
				var actions []string
				for _, c := range calls {
					actions = append(actions, c.Action)
				}
				t.Fatalf("calls %v, want only DescribeRegions", actions)
			}
			for _, p := range []string{rep, rep + ".journal"} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s exists after the refusal", p)
				}
			}
		})
	}
}

// nearest suggests an id only when it is a likely typo.
func TestNearestRegion(t *testing.T) {
	known := []string{"cn-hangzhou", "cn-shanghai", "ap-southeast-1", "eu-central-1"}
	for in, want := range map[string]string{
		"cn-hangzou":     "cn-hangzhou",
		"cn-shangai":     "cn-shanghai",
		"ap-southeast-2": "ap-southeast-1",
		"CN-HANGZHOU":    "cn-hangzhou",
		"us-west-1":      "",
	} {
		if got := nearest(in, known); got != want {
			t.Errorf("nearest(%q) = %q, want %q", in, got, want)
		}
	}
}
