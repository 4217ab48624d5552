package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// helpFlags returns, per command, the flags its --help lists.
func helpFlags(t *testing.T) map[string][]string {
	t.Helper()
	flagLine := regexp.MustCompile(`(?m)^  --([a-z][a-z0-9-]*)`)
	out := map[string][]string{}
	for command := range commandHelp {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{command, "--help"}, &stdout, &stderr); code != exitOK {
			t.Fatalf("%s --help: exit %d\n%s", command, code, stderr.String())
		}
		for _, m := range flagLine.FindAllStringSubmatch(stdout.String(), -1) {
			out[command] = append(out[command], m[1])
		}
	}
	return out
}

// emulatorFlags are the flags of cmd/ecs-emulator, which the docs name too, read from its source.
func emulatorFlags(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("../ecs-emulator/main.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`fs\.\w+\("([a-z][a-z0-9-]*)"`).FindAllStringSubmatch(string(src), -1) {
		names = append(names, m[1])
	}
	return names
}

// TestDocsMatchHelp keeps the README and docs/ in step with the commands: every command they
// name after ecs-image-cleanup exists, every --flag they name is one a command (or the
// emulator) has, and every flag of every command is documented in docs/usage.md.
func TestDocsMatchHelp(t *testing.T) {
	perCommand := helpFlags(t)
	known := map[string]bool{}
	for _, flags := range perCommand {
		for _, f := range flags {
			known[f] = true
		}
	}
	for _, f := range emulatorFlags(t) {
		known[f] = true
	}
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	files := append([]string{"../../README.md"}, docs...)
	flagRef := regexp.MustCompile("(?:^|[\\s`(\\[|])--([a-z][a-z0-9-]*)")
	commandRef := regexp.MustCompile("ecs-image-cleanup ([a-z][a-z-]*)")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, m := range flagRef.FindAllStringSubmatch(text, -1) {
			if !known[m[1]] {
				t.Errorf("%s names --%s, which no command has", filepath.Base(file), m[1])
			}
		}
		for _, m := range commandRef.FindAllStringSubmatch(text, -1) {
			if commandHelp[m[1]].usage == "" && !slices.Contains(commands, m[1]) {
				t.Errorf("%s names the command %q, which does not exist", filepath.Base(file), m[1])
			}
		}
	}
	usage, err := os.ReadFile("../../docs/usage.md")
	if err != nil {
		t.Fatal(err)
	}
	for command, flags := range perCommand {
		for _, f := range flags {
			if !strings.Contains(string(usage), "--"+f) {
				t.Errorf("%s --%s is not in docs/usage.md", command, f)
			}
		}
	}
}
