package main

import (
	"errors"
	"flag"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
)

// scriptCmds are the commands testscript files get on top of the built-in ones.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"emulator": cmdEmulator,
	"status":   cmdStatus,
}

// cmdEmulator starts the ECS emulator in the test process from a state file, with its creation
// times moved as the demo moves them, and points the script at it:
//
//	emulator [-ignore-dry-run] [-internal-error-ratio R] [-latency D] [-deny KEY=CODE]... [-var NAME] STATE
//
// sets $ENDPOINT (or $NAME) and the credential variables the emulator accepts. -deny refuses an
// action ("DescribeScalingConfigurations", or "cn-hangzhou/DeleteImage") with a code.
func cmdEmulator(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! emulator")
	}
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	ignoreDryRun := fs.Bool("ignore-dry-run", false, "answer DryRun requests as real ones")
	internal := fs.Float64("internal-error-ratio", 0, "share of DeleteImage answered 500 InternalError")
	latency := fs.Duration("latency", 0, "latency of every call")
	name := fs.String("var", "ENDPOINT", "the variable that gets the emulator's URL")
	deny := map[string]string{}
	fs.Func("deny", "KEY=CODE: refuse an action", func(v string) error {
		k, code, ok := strings.Cut(v, "=")
		if !ok {
			return errors.New("want KEY=CODE")
		}
		deny[k] = code
		return nil
	})
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		ts.Fatalf("usage: emulator [flags] STATE")
	}
	st, err := ecstest.LoadState(ts.MkAbs(fs.Arg(0)))
	ts.Check(err)
	rebase(st, time.Now())
	srv := ecstest.NewServer(st, ecstest.Options{
		IgnoreDryRun: *ignoreDryRun,
		Deny:         deny,
		Faults: map[string]ecstest.Faults{
			"*":           {Latency: *latency},
			"DeleteImage": {Latency: *latency, InternalErrorRatio: *internal},
		},
	})
	ts.Defer(srv.Close)
	ts.Setenv(*name, srv.URL())
	ts.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", ecstest.AccessKeyID)
	ts.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ecstest.AccessKeySecret)
}

// cmdStatus runs a command and checks its exact exit code:
//
//	status CODE command args...
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status CODE command args...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}
