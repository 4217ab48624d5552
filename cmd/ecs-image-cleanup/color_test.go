package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSummaryColor: on a terminal the text summary shows deletions red and kept images dim; any
// non-empty NO_COLOR, a stderr that is not a terminal, or a --summary file gets no escape codes.
func TestSummaryColor(t *testing.T) {
	const red, dim = "\x1b[31m", "\x1b[2m"
	for _, tc := range []struct {
		name     string
		terminal bool
		noColor  string
		toFile   bool
		colored  bool
	}{
		{"terminal", true, "", false, true},
		{"NO_COLOR", true, "1", false, false},
		{"NO_COLOR=false", true, "false", false, false}, // any non-empty value
		{"not a terminal", false, "", false, false},
		{"summary file", true, "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := tty
			t.Cleanup(func() { tty = saved })
			tty.stdinTerminal = func() bool { return tc.terminal }
			tty.stderrTerminal = func() bool { return tc.terminal }
			t.Setenv("NO_COLOR", tc.noColor)
			_, args := confirmSetup(t)
			args[0] = "plan"
			summary := filepath.Join(t.TempDir(), "summary.txt")
			if tc.toFile {
				args = append(args, "--summary", summary)
			}
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d\n%s", code, stderr.String())
			}
			out := stderr.String()
			if tc.toFile {
				data, err := os.ReadFile(summary)
				if err != nil {
					t.Fatal(err)
				}
				out = string(data)
			}
			if !strings.Contains(out, "m-hzci0001") || !strings.Contains(out, "m-hzcikeep01") {
				t.Fatalf("the summary does not list the images:\n%s", out)
			}
			if tc.colored {
				if !strings.Contains(out, "  "+red+"m-hzci0001 ") || !strings.Contains(out, "  "+dim+"m-hzcikeep01 ") {
					t.Errorf("deletions not red or kept images not dim:\n%q", out)
				}
			} else if sgr.MatchString(out) || sgr.MatchString(stderr.String()) {
				t.Errorf("color codes:\n%q", out)
			}
			// Not a terminal: no escape code of any kind, the progress line's included; a file
			// never gets one.
			if (!tc.terminal && strings.Contains(stderr.String(), "\x1b")) || (tc.toFile && strings.Contains(out, "\x1b")) {
				t.Errorf("escape codes:\n%q", out)
			}
		})
	}
}

// sgr matches an ANSI color (Select Graphic Rendition) sequence.
var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// TestPromptColor: the apply prompt lists the deletions red on a terminal, and plain under
// NO_COLOR.
func TestPromptColor(t *testing.T) {
	for _, noColor := range []string{"", "1"} {
		t.Run("NO_COLOR="+noColor, func(t *testing.T) {
			withTerminal(t, "no\n")
			tty.stderrTerminal = func() bool { return true }
			t.Setenv("NO_COLOR", noColor)
			_, args := confirmSetup(t)
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
				t.Fatalf("exit %d\n%s", code, stderr.String())
			}
			prompt, _, ok := strings.Cut(stderr.String(), "Delete 6 images and deprecate 1 image?")
			if !ok {
				t.Fatalf("no question:\n%s", stderr.String())
			}
			if red := strings.Contains(prompt, "  \x1b[31mm-hzci0001 "); red != (noColor == "") {
				t.Errorf("NO_COLOR=%q: red %v:\n%q", noColor, red, prompt)
			}
			// NO_COLOR turns color off; the progress line's cursor control (clear the line) stays.
			if noColor != "" && sgr.MatchString(stderr.String()) {
				t.Errorf("color codes under NO_COLOR:\n%q", stderr.String())
			}
		})
	}
}
