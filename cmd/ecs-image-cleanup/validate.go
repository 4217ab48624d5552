package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
)

// cmdValidate checks a policy file without touching the cloud, so that CI can gate a policy
// change before any job runs it. now is the time the age bounds are described at.
func cmdValidate(args []string, stdout, stderr io.Writer, now time.Time) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	setUsage(fs, "validate")
	file := fs.String("policy", "", "the policy `FILE` to check")
	if wantsHelp(args) {
		printHelp(stdout, fs, "validate")
		return exitOK
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, fs, "validate")
			return exitOK
		}
		return exitUsage // the flag package has printed the error and the usage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ecs-image-cleanup validate: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	if *file == "" {
		fmt.Fprintln(stderr, "ecs-image-cleanup validate: --policy is required")
		fs.Usage()
		return exitUsage
	}
	p, err := policy.Load(*file)
	if err != nil {
		var perrs *policy.Errors
		if errors.As(err, &perrs) {
			fmt.Fprintln(stderr, err)
			fmt.Fprintf(stderr, "%s: %s\n", *file, countNoun(len(perrs.List), "problem"))
		} else {
			fmt.Fprintf(stderr, "ecs-image-cleanup validate: %v\n", err)
		}
		return exitUsage
	}
	// Warnings go to stderr and leave the exit code 0: the policy is valid, and a region opened
	// after this release must not fail CI.
	for _, w := range p.Warnings {
		fmt.Fprintf(stderr, "warning: %v\n", w)
	}
	fmt.Fprintln(stdout, validateSummary(p))
	for _, r := range p.Regions {
		fmt.Fprintln(stdout, r.Describe(now))
	}
	return exitOK
}

// validateSummary is the one line that says what a valid policy covers, so that a reviewer sees at a
// glance whether a change widened it.
func validateSummary(p *policy.Policy) string {
	var ids, selectors int
	var regions []string
	for _, r := range p.Regions {
		regions = append(regions, r.ID)
		ids += len(r.ImageIDs)
		if r.Select != nil {
			selectors++
		}
	}
	parts := []string{
		fmt.Sprintf("%s (%s)", countNoun(len(p.Regions), "region"), strings.Join(regions, ", ")),
		countNoun(ids, "explicit image id"),
		countNoun(selectors, "selector"),
		fmt.Sprintf("concurrency %d", p.Concurrency),
	}
	if n := p.Limits.MaxDeletions; n > 0 {
		parts = append(parts, fmt.Sprintf("max_deletions %d", n))
	}
	if n := p.Limits.MaxDeletionPercent; n > 0 {
		parts = append(parts, fmt.Sprintf("max_deletion_percent %d", n))
	}
	for _, r := range p.Regions {
		if r.Force {
			parts = append(parts, "force in "+r.ID)
		}
		if r.DeleteSnapshots {
			parts = append(parts, "delete_snapshots in "+r.ID)
		}
	}
	for _, r := range p.Regions {
		if !r.ProtectReferenced() {
			parts = append(parts, "referenced images not protected in "+r.ID)
		}
	}
	return fmt.Sprintf("%s: ok: %s", p.File, strings.Join(parts, ", "))
}

// countNoun writes a count with its noun.
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
