// Command ecs-image-cleanup deletes Alibaba Cloud ECS custom images as a YAML policy says.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes; see the README.
const (
	exitOK          = 0
	exitUsage       = 1 // usage, policy or credential error before any delete
	exitFailed      = 2 // an image or snapshot failed, a region could not be processed, an error kept images from being attempted, or a fault stopped the run
	exitAborted     = 3 // a guard aborted the run before any real delete
	exitInterrupted = 130
	exitTerminated  = 143
)

const usage = `usage: ecs-image-cleanup <command> [flags]

commands:
  validate  check a policy file offline
  plan      list, select and DryRun-delete the selected images; deletes nothing
  apply     plan, then delete the images whose DryRun passed
  restore   set the images apply deprecated (deprecate_first) back to Available
  recover   turn the journal of a killed plan, apply or restore into its report
  demo      run plan and apply against the bundled emulator, no cloud account needed
  version   print the version, VCS revision and Go version
  help      help COMMAND: that command's flags and examples
`

// run is main without the process: tests call it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "validate":
		return cmdValidate(args[1:], stdout, stderr, time.Now())
	case "plan", "apply", "restore":
		return cmdJob(ctx, args[0], args[1:], stdout, stderr)
	case "recover":
		return cmdRecover(ctx, args[1:], stdout, stderr)
	case "demo":
		return cmdDemo(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, version())
		return exitOK
	case "help":
		if len(args) > 1 && commandHelp[args[1]].usage != "" {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		if len(args) > 1 {
			fmt.Fprintf(stderr, "ecs-image-cleanup help: unknown command %q\n\n%s", args[1], usage)
			return exitUsage
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	case "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "ecs-image-cleanup: unknown command %q", args[0])
	if s := suggest(args[0]); s != "" {
		fmt.Fprintf(stderr, ": did you mean %q?", s)
	}
	fmt.Fprintf(stderr, "\n\n%s", usage)
	return exitUsage
}
