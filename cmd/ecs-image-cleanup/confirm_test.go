package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
)

// withTerminal makes run believe a person sits at the terminal and types answer.
func withTerminal(t *testing.T, answer string) {
	saved := tty
	t.Cleanup(func() { tty = saved })
	tty.stdin = strings.NewReader(answer)
	tty.stdinTerminal = func() bool { return true }
	tty.stderrTerminal = func() bool { return false }
}

func confirmSetup(t *testing.T) (*ecstest.Server, []string) {
	st, err := ecstest.LoadState("../../examples/emulator-state.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rebase(st, time.Now())
	srv := ecstest.NewServer(st, ecstest.Options{})
	t.Cleanup(srv.Close)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", ecstest.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ecstest.AccessKeySecret)
	t.Setenv("HOME", t.TempDir())
	return srv, []string{"apply", "--policy", "../../examples/demo.yaml", "--endpoint", srv.URL(),
		"--report", filepath.Join(t.TempDir(), "r.json"), "--log-level", "error"}
}

func realDeletes(srv *ecstest.Server) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Action == "DeleteImage" && !c.DryRun {
			n++
		}
	}
	return n
}

func TestApplyAsksOnATerminal(t *testing.T) {
	for _, tc := range []struct {
		answer  string
		code    int
		deletes int
	}{
		{"no\n", exitUsage, 0},
		{"\n", exitUsage, 0},
		{"y\n", exitUsage, 0}, // only the whole word counts
		{"yes\n", exitOK, 6},
	} {
		t.Run(strings.TrimSpace(tc.answer), func(t *testing.T) {
			withTerminal(t, tc.answer)
			srv, args := confirmSetup(t)
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr.String())
			}
			prompt, _, _ := strings.Cut(stderr.String(), "Delete 6 images and deprecate 1 image?")
			if !strings.Contains(stderr.String(), "Delete 6 images and deprecate 1 image?") || !strings.Contains(prompt, "cn-hangzhou: would delete 3 images") ||
				!strings.Contains(prompt, "cn-shanghai: would delete 2 images") || !strings.Contains(prompt, "cn-beijing: would delete 1 image\n") {
				t.Errorf("the question does not show the images per region:\n%s", stderr.String())
			}
			// Every image whose DryRun passed, with its name, age, size and family, and no other.
			for _, line := range []string{
				`m-hzci0001 +ci-build-0001 +\d+d +40  -`, `m-hzci0002 +ci-build-0002 +\d+d +20  -`, `m-hzci0003 +ci-build-0003 +\d+d +20  ci-build`,
				`m-shci0001 +ci-build-sh-0001 +\d+d +20  -`, `m-shci0003 +ci-build-sh-0003 +\d+d +20  -`,
				`m-bjci0002 +ci-nightly-0002 +\d+d +20  -`, // Deprecated 26 days ago: its grace period is over
			} {
				if !regexp.MustCompile(`(?m)^  ` + line + `$`).MatchString(prompt) {
					t.Errorf("the question does not list %q:\n%s", line, prompt)
				}
			}
			if strings.Contains(prompt, "m-hzcikeep01") || strings.Contains(prompt, "m-hzciused01") || strings.Contains(prompt, "\x1b") {
				t.Errorf("the question lists a kept or blocked image, or colors without a terminal:\n%s", prompt)
			}
			if got := realDeletes(srv); got != tc.deletes {
				t.Errorf("%d real deletes, want %d", got, tc.deletes)
			}
		})
	}
}

func TestApplyWithoutTerminalNeedsYes(t *testing.T) {
	saved := tty
	t.Cleanup(func() { tty = saved })
	tty.stdinTerminal = func() bool { return false }
	tty.stderrTerminal = func() bool { return false }
	srv, args := confirmSetup(t)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if len(srv.Calls()) != 0 {
		t.Errorf("%d calls were made before refusing", len(srv.Calls()))
	}
}
