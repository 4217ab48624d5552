package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/internal/files"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// maxJournalFile bounds a journal read back by recover: a few lines an image, about 200 bytes
// each, so a million images fit.
const maxJournalFile = 1 << 30

// cmdRecover turns the journal of a killed run into its report:
//
//	recover --journal FILE --policy P [--report OUT] [--endpoint URL] ...
//
// The images whose real delete or change (staged retention's ModifyImageAttribute, TagResources,
// UntagResources) was sent are looked up by id (credentials needed then); the report's status is
// interrupted, and --retry-from takes it.
func cmdRecover(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("recover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	setUsage(fs, "recover")
	var (
		journalPath, policyPath, reportPath, endpoint, logLevel, logFormat, format, summary string
		timeout                                                                             time.Duration
	)
	fs.StringVar(&journalPath, "journal", "", "the journal a killed plan, apply or restore left (required)")
	fs.StringVar(&policyPath, "policy", "", "the policy the run followed (required)")
	fs.StringVar(&reportPath, "report", "", "write the JSON report to this file (default: stdout)")
	fs.StringVar(&endpoint, "endpoint", "", "ECS endpoint URL for every region (http:// only for loopback hosts)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&logFormat, "log-format", "", "json or console (default: console on a terminal, json otherwise)")
	timeout = 30 * time.Second
	fs.Var((*durationFlag)(&timeout), "request-timeout", "timeout of one API request, above 0 and at most 10m (default 30s)")
	fs.StringVar(&format, "format", report.FormatText, "summary format: text, markdown or json")
	fs.StringVar(&summary, "summary", "", "write the summary to this file (default: stderr)")
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ecs-image-cleanup recover: "+format+"\n", a...)
		return exitUsage
	}
	if wantsHelp(args) {
		printHelp(stdout, fs, "recover")
		return exitOK
	}
	if err := fs.Parse(args); err != nil {
		return fail("%v", err)
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected argument %q", fs.Arg(0))
	case journalPath == "":
		return fail("--journal is required")
	case policyPath == "":
		return fail("--policy is required")
	case !slices.Contains(report.Formats, format):
		return fail("--format %q: use %s", format, strings.Join(report.Formats, ", "))
	case timeout <= 0 || timeout > maxRequestTimeout:
		return fail("--request-timeout %v: want a duration above 0 and at most %v", timeout, maxRequestTimeout)
	}
	reportOut, summaryOut, err := checkOutputs(&jobFlags{report: reportPath, summary: summary, policy: policyPath, retryFrom: journalPath}, stdout)
	if err != nil {
		return fail("%v", err)
	}
	defer reportOut.Close()
	defer summaryOut.Close()
	log, err := newLogger(logLevel, logFormat, stderr)
	if err != nil {
		return fail("%v", err)
	}
	defer func() { _ = log.Sync() }()
	jdata, err := files.ReadInput(journalPath, maxJournalFile)
	if err != nil {
		return fail("--journal %v", err)
	}
	rec, err := report.ReadJournal(bytes.NewReader(jdata))
	if err != nil {
		return fail("%s: %v", journalPath, err)
	}
	pol, data, err := loadPolicy(policyPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != rec.Policy.SHA256 {
		return fail("%s is not the policy the run followed (%s, sha256 %.12s): give that one", policyPath, rec.Policy.Path, rec.Policy.SHA256)
	}
	if rec.Torn {
		fmt.Fprintf(stderr, "ecs-image-cleanup recover: the last line of %s was cut short by the kill; it is left out\n", journalPath)
	}

	var lk report.Lookup
	if sent := rec.LookUpImages(); len(sent) > 0 {
		cred, err := loadCredential(log)
		if err != nil {
			return fail("no usable credentials to look up the images whose delete or change was sent: %v", err)
		}
		client, err := ecs.New(ecs.Config{Credential: cred, Endpoint: endpoint, Timeout: timeout, MaxIdleConns: pol.Concurrency})
		if err != nil {
			return fail("%v", err)
		}
		defer client.Close()
		lk = runner.LookUp(ctx, runner.Config{Policy: pol, API: client, Logger: log}, sent)
	}
	rep := rec.Recover(lk, journalPath, time.Now())
	if err := reportOut.Write(func(w io.Writer) error { return report.Write(w, rep) }); err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup recover: %v\n", err)
		return exitFailed
	}
	if summaryOut == nil {
		err = report.WriteSummaryWith(stderr, rep, format, report.Options{Color: colorOn(tty.stderrTerminal())})
	} else {
		err = summaryOut.Write(func(w io.Writer) error { return report.WriteSummary(w, rep, format) })
	}
	if err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup recover: summary: %v\n", err)
	}
	fmt.Fprintf(stderr, "ecs-image-cleanup recover: the report is written; remove %s before the next run with the same report path\n", journalPath)
	return exitOK
}
