package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/examples"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// cmdDemo runs the real job, plan then apply, against the bundled ECS emulator: no cloud
// account is needed, and every request goes through the real SDK over real HTTP.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	setUsage(fs, "demo")
	statePath := fs.String("state", "", "emulator state `FILE` to start from (default: the built-in "+examples.EmulatorStateName+")")
	policyPath := fs.String("policy", "", "policy `FILE` to run (default: the built-in "+examples.DemoPolicyName+")")
	reportDir := fs.String("report-dir", "", "directory for plan.json and apply.json, made if missing (default: a new temporary directory)")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	format := fs.String("format", report.FormatText, "summary format: text, markdown or json")
	if wantsHelp(args) {
		printHelp(stdout, fs, "demo")
		return exitOK
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, fs, "demo")
			return exitOK
		}
		return exitUsage
	}
	if !slices.Contains(report.Formats, *format) {
		fmt.Fprintf(stderr, "ecs-image-cleanup demo: --format %q: use %s\n", *format, strings.Join(report.Formats, ", "))
		return exitUsage
	}
	log, err := newLogger(*logLevel, "", stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup demo: %v\n", err)
		return exitUsage
	}
	// Without --policy and --state the demo runs the files built into the binary, so that it
	// works from any directory; the flags still take files on disk.
	name, data, builtIn := *policyPath, examples.DemoPolicy, " (built in)"
	var pol *policy.Policy
	if name != "" {
		pol, data, err = loadPolicy(name)
		builtIn = ""
	} else {
		name = examples.DemoPolicyName
		pol, err = policy.Parse(name, data)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	var st *ecstest.State
	if *statePath != "" {
		st, err = ecstest.LoadState(*statePath)
	} else {
		st, err = ecstest.ParseState(examples.EmulatorState)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup demo: %v\n", err)
		return exitUsage
	}
	rebase(st, time.Now())
	srv := ecstest.NewServer(st, ecstest.Options{})
	defer srv.Close()
	client, err := ecs.New(ecs.Config{
		Credential:   ecs.StaticCredential(ecstest.AccessKeyID, ecstest.AccessKeySecret, ""),
		Endpoint:     srv.URL(),
		MaxIdleConns: pol.Concurrency,
	})
	if err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup demo: %v\n", err)
		return exitUsage
	}
	dir := *reportDir
	if dir == "" {
		dir, err = os.MkdirTemp("", "ecs-image-cleanup-demo-")
	} else {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup demo: --report-dir: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "ECS emulator at %s, policy %s%s\n", srv.URL(), name, builtIn)
	before := countImages(srv, pol.Regions)
	code := exitOK
	out, _ := stdout.(*os.File)
	color := out != nil && colorOn(isTerminal(out))
	for _, command := range []string{runner.Plan, runner.Apply} {
		path := filepath.Join(dir, command+".json")
		fmt.Fprintf(stdout, "\n== %s (report: %s)\n", command, path)
		code = execute(ctx, job{
			command: command, policyPath: name, policy: pol, policyBytes: data, api: client,
			reportPath: path, yes: true, log: log.With(zap.String("command", command)),
			format: *format, blockers: command == runner.Plan, color: color,
		}, stdout, stdout)
		if code != exitOK {
			break
		}
	}
	fmt.Fprintf(stdout, "\nimages in the emulator: %d before, %d after\n", before, countImages(srv, pol.Regions))
	return code
}

// rebase moves every creation time in the state, and every deprecated-at tag of staged
// retention, by the same amount, so that the newest image was created an hour ago: the demo's
// "older than" selections and grace periods then mean the same on any day.
func rebase(st *ecstest.State, now time.Time) {
	var newest time.Time
	for _, reg := range st.Regions {
		for _, img := range reg.Images {
			if img.CreationTime.After(newest) {
				newest = img.CreationTime
			}
		}
	}
	if newest.IsZero() {
		return
	}
	shift := now.Add(-time.Hour).Sub(newest)
	for _, reg := range st.Regions {
		for i := range reg.Images {
			img := &reg.Images[i]
			img.CreationTime = img.CreationTime.Add(shift)
			if at, err := time.Parse(time.RFC3339, img.Tags[policy.DeprecatedAtTag]); err == nil {
				img.Tags[policy.DeprecatedAtTag] = at.Add(shift).UTC().Format(time.RFC3339)
			}
		}
	}
}

func countImages(srv *ecstest.Server, regions []*policy.Region) int {
	n := 0
	for _, r := range regions {
		n += len(srv.Images(r.ID))
	}
	return n
}
