package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfileMatchesBuild keeps the Dockerfile honest where no Docker engine runs: its
// builder's Go version is go.mod's, its runtime is static and non-root, and its build command,
// run here exactly as written, gives a static binary that works.
func TestDockerfileMatchesBuild(t *testing.T) {
	root := filepath.Join("..", "..")
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	builder := regexp.MustCompile(`(?m)^FROM golang:(\S+?)(-\S+)? AS build$`).FindSubmatch(dockerfile)
	if builder == nil {
		t.Fatal("Dockerfile has no 'FROM golang:<version> AS build' stage")
	}
	if string(builder[1]) != string(goLine[1]) {
		t.Errorf("Dockerfile builds with Go %s, go.mod says go %s", builder[1], goLine[1])
	}
	text := string(dockerfile)
	for _, want := range []string{"FROM gcr.io/distroless/static", "USER nonroot", `ENTRYPOINT ["/ecs-image-cleanup"]`} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}

	build := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*)$`).FindStringSubmatch(text)
	if build == nil {
		t.Fatal("Dockerfile has no 'RUN CGO_ENABLED=0 go build' line")
	}
	if testing.Short() {
		t.Skip("-short: not building the image's binary")
	}
	out := t.TempDir()
	cmdline := strings.ReplaceAll(build[1], "/out/", out+"/")
	cmd := exec.Command("sh", "-c", cmdline)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmdline, err, b)
	}
	bin := filepath.Join(out, "ecs-image-cleanup")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the image's binary is dynamically linked")
		}
	}
	if b, err := exec.Command(bin, "--help").CombinedOutput(); err != nil || !strings.Contains(string(b), "usage: ecs-image-cleanup") {
		t.Errorf("the built binary does not run: %v\n%s", err, b)
	}
}
