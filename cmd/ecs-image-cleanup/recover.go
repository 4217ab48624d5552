package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// cmdRecover turns the journal of a killed run into its report:
//
//	recover --journal FILE --policy P [--report OUT] [--endpoint URL] ...
//
// The images whose real delete was sent are looked up by id (credentials needed then); the
// report's status is interrupted, and --retry-from takes it.
func cmdRecover(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("recover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		journalPath, policyPath, reportPath, endpoint, logLevel, logFormat, format, summary string
		timeout                                                                             time.Duration
	)
	fs.StringVar(&journalPath, "journal", "", "the journal a killed plan or apply left (required)")
	fs.StringVar(&policyPath, "policy", "", "the policy the run followed (required)")
	fs.StringVar(&reportPath, "report", "", "write the JSON report to this file (default: stdout)")
	fs.StringVar(&endpoint, "endpoint", "", "ECS endpoint URL for every region (http:// only for loopback hosts)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&logFormat, "log-format", "", "json or console (default: console on a terminal, json otherwise)")
	fs.DurationVar(&timeout, "request-timeout", 30*time.Second, "timeout of one API request")
	fs.StringVar(&format, "format", report.FormatText, "summary format: text, markdown or json")
	fs.StringVar(&summary, "summary", "", "write the summary to this file (default: stderr)")
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ecs-image-cleanup recover: "+format+"\n", a...)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitUsage
		}
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
	}
	log, err := newLogger(logLevel, logFormat, stderr)
	if err != nil {
		return fail("%v", err)
	}
	defer func() { _ = log.Sync() }()
	f, err := os.Open(journalPath)
	if err != nil {
		return fail("%v", err)
	}
	rec, err := report.ReadJournal(f)
	_ = f.Close()
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
	if sent := rec.SentImages(); len(sent) > 0 {
		cred, err := credentials.NewCredential(nil)
		if err == nil {
			_, err = cred.GetCredential()
		}
		if err != nil {
			return fail("no usable credentials to look up the images whose delete was sent: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, a profile, a RAM role or OIDC (%s)", scrubCredentialError(err))
		}
		client, err := ecs.New(ecs.Config{Credential: cred, Endpoint: endpoint, Timeout: timeout, MaxIdleConns: pol.Concurrency})
		if err != nil {
			return fail("%v", err)
		}
		defer client.Close()
		lk = runner.LookUp(ctx, runner.Config{Policy: pol, API: client, Logger: log}, sent)
	}
	rep := rec.Recover(lk, journalPath, time.Now())
	if reportPath == "" {
		err = report.Write(stdout, rep)
	} else {
		err = report.WriteFile(reportPath, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup recover: %v\n", err)
		return exitFailed
	}
	if summary == "" {
		err = report.WriteSummary(stderr, rep, format)
	} else {
		var buf bytes.Buffer
		if err = report.WriteSummary(&buf, rep, format); err == nil {
			err = os.WriteFile(summary, buf.Bytes(), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup recover: summary: %v\n", err)
	}
	fmt.Fprintf(stderr, "ecs-image-cleanup recover: the report is written; remove %s before the next run with the same report path\n", journalPath)
	return exitOK
}
