// Command ecs-emulator serves an in-memory ECS image API, with launch templates
// and Auto Scaling scaling configurations (package ecstest), on a loopback
// address, for demos and manual runs of the cleanup job:
//
//	go run ./cmd/ecs-emulator --state examples/emulator-state.yaml [--addr 127.0.0.1:0] [--seed N] [--latency 0s]
//	go run ./cmd/ecs-emulator --generate 100000 --regions cn-hangzhou,cn-beijing --discard-calls
//
// It prints the URL and the credentials to use, then runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ecs-emulator:", err)
		stop()
		os.Exit(2)
	}
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ecs-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	statePath := fs.String("state", "", "YAML state file (empty: an empty account)")
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	seed := fs.Int64("seed", 0, "seed of the random faults")
	latency := fs.Duration("latency", 0, "latency added to every answer")
	throttle := fs.Float64("throttle-ratio", 0, "ratio of answers throttled (every action)")
	rps := fs.Float64("region-rps", 0, "per-region request rate limit (0 = unlimited)")
	missing := fs.String("missing-image", "error", `DeleteImage of a missing image: "error" (404) or "ignore" (200)`)
	generate := fs.Int("generate", 0, "instead of --state: this many deletable images (90 days old) per region of --regions")
	regions := fs.String("regions", "cn-hangzhou", "comma-separated regions for --generate")
	discard := fs.Bool("discard-calls", false, "keep no call log, only counts (for runs of very many calls)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var st *ecstest.State
	if *generate > 0 && *statePath != "" {
		return fmt.Errorf("--generate and --state exclude each other")
	}
	if *generate > 0 {
		st = &ecstest.State{Regions: map[string]*ecstest.Region{}}
		for _, name := range strings.Split(*regions, ",") {
			st.Regions[name] = &ecstest.Region{Images: ecstest.GenerateImages(*generate, "gen", time.Now().Add(-90*24*time.Hour))}
		}
	}
	if *statePath != "" {
		var err error
		if st, err = ecstest.LoadState(*statePath); err != nil {
			return err
		}
	}
	opts := ecstest.Options{Seed: *seed, RegionRPS: *rps, MissingImage: *missing, DiscardCalls: *discard}
	if *latency > 0 || *throttle > 0 {
		opts.Faults = map[string]ecstest.Faults{"*": {Latency: *latency, ThrottleRatio: *throttle}}
	}
	srv, err := ecstest.NewServerAt(*addr, st, opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "ECS emulator listening on %s\n", srv.URL())
	fmt.Fprintf(stdout, "ALIBABA_CLOUD_ACCESS_KEY_ID=%s\n", ecstest.AccessKeyID)
	fmt.Fprintf(stdout, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s\n", ecstest.AccessKeySecret)
	fmt.Fprintf(stdout, "endpoint (SDK Endpoint, Protocol http, NoProxy): %s\n", srv.Addr())
	fmt.Fprintf(stdout, "serves ECS %s and, on the same URL, Auto Scaling (ESS) %s\n", ecstest.APIVersion, ecstest.ESSAPIVersion)

	<-ctx.Done()
	calls := srv.Calls()
	fmt.Fprintf(stdout, "ECS emulator stopping after %d calls at %s\n", len(calls), time.Now().UTC().Format(time.RFC3339))
	return nil
}
