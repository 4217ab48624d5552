package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aliyun/credentials-go/credentials"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/internal/files"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/internal/ossout"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// jobFlags are the flags plan and apply share.
type jobFlags struct {
	policy      string
	report      string
	endpoint    string
	essEndpoint string
	logLevel    string
	logFormat   string
	yes         bool
	maxRate     float64
	timeout     time.Duration
	retryFrom   string
	format      string
	blockers    bool
	summary     string
	plan        string
	maxPlanAge  time.Duration
	journal     string
	ossEndpoint string
	ossRegion   string
	imageIDs    []string      // restore: only these ids; nil: every image the job deprecated
	since       time.Duration // restore: only images deprecated within this of now; 0: any
}

func parseJobFlags(command string, args []string, stdout, stderr io.Writer) (*jobFlags, error) {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	setUsage(fs, command)
	f := &jobFlags{}
	fs.StringVar(&f.policy, "policy", "", "policy file (required)")
	fs.StringVar(&f.report, "report", "", "write the JSON report to this file (default: stdout)")
	fs.StringVar(&f.endpoint, "endpoint", "", "ECS endpoint URL for every region, e.g. https://ecs.example.com (http:// only for loopback hosts)")
	fs.StringVar(&f.essEndpoint, "ess-endpoint", "", "Auto Scaling (ESS) endpoint URL for every region (default: --endpoint when given, else the service's own)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "", "json or console (default: console on a terminal, json otherwise)")
	fs.Float64Var(&f.maxRate, "max-rate", 0, "requests per second per region and action never exceeded, at least 0.1 (default: no ceiling; the job slows down on throttling by itself)")
	f.timeout = 30 * time.Second
	fs.Var((*durationFlag)(&f.timeout), "request-timeout", "timeout of one API request, above 0 and at most 10m (default 30s)")
	if command != runner.Restore {
		fs.StringVar(&f.retryFrom, "retry-from", "", "limit the run to the images an earlier report left failed or not_attempted")
	}
	fs.StringVar(&f.format, "format", report.FormatText, "summary format: text, markdown (an audit to paste into a ticket) or json")
	fs.StringVar(&f.summary, "summary", "", "write the summary to this file (default: stderr)")
	fs.StringVar(&f.journal, "journal", "", "keep the journal, the record that survives a SIGKILL, in this file (default: the --report file's name plus .journal)")
	fs.StringVar(&f.ossEndpoint, "oss-endpoint", "", "OSS endpoint URL for oss://BUCKET/KEY outputs (default: the OSS SDK's for --oss-region)")
	fs.StringVar(&f.ossRegion, "oss-region", "", "region of the oss:// outputs' bucket (default: the policy's first region)")
	if command != runner.Restore {
		fs.BoolVar(&f.blockers, "blockers", command == runner.Plan,
			"look up what holds each blocked image (the instances using it, the accounts it is shared with); default on for plan, off for apply")
	}
	if command == runner.Restore {
		fs.BoolVar(&f.yes, "yes", false, "restore without asking (required when stdin is not a terminal)")
		fs.Func("image-ids", "restore only these images, `IDS` comma-separated; each must be one the job deprecated", func(s string) error {
			for id := range strings.SplitSeq(s, ",") {
				if id = strings.TrimSpace(id); id != "" {
					f.imageIDs = append(f.imageIDs, id)
				}
			}
			if len(f.imageIDs) == 0 {
				return errors.New("no image id")
			}
			return nil
		})
		fs.Func("since", "restore only images deprecated within `DURATION` of now, in the policy's units (min, h, d, w)", func(s string) error {
			d, err := policy.ParseDuration(s)
			if err != nil {
				return err
			}
			if d <= 0 {
				return errors.New("want a duration above 0")
			}
			f.since = d
			return nil
		})
	}
	if command == runner.Apply {
		fs.BoolVar(&f.yes, "yes", false, "delete (and deprecate) without asking (required when stdin is not a terminal)")
		fs.StringVar(&f.plan, "plan", "", "carry out this reviewed plan (a report written by plan): only its would_delete images, each checked again; the policy defaults to the plan's and must be unchanged")
		f.maxPlanAge, _ = policy.ParseDuration(defaultMaxPlanAge)
		fs.Func("max-plan-age", "refuse a --plan older than this, in the policy's units (default "+defaultMaxPlanAge+")", func(s string) error {
			d, err := policy.ParseDuration(s)
			if err != nil {
				return err
			}
			f.maxPlanAge = d
			return nil
		})
	}
	if wantsHelp(args) {
		// Asked for: the help goes to stdout, and it is not an error.
		printHelp(stdout, fs, command)
		return nil, flag.ErrHelp
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.policy == "" && f.plan == "" {
		return nil, errors.New("--policy is required")
	}
	if f.plan != "" && f.retryFrom != "" {
		return nil, errors.New("--plan and --retry-from: give one (a plan already names the images to delete)")
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["max-rate"] && !(f.maxRate >= minMaxRate && !math.IsInf(f.maxRate, 0)) {
		return nil, fmt.Errorf("--max-rate %v: want a number of requests per second from %v up (leave it out for no ceiling)", f.maxRate, minMaxRate)
	}
	if f.timeout <= 0 || f.timeout > maxRequestTimeout {
		return nil, fmt.Errorf("--request-timeout %v: want a duration above 0 and at most %v", f.timeout, maxRequestTimeout)
	}
	if !slices.Contains(report.Formats, f.format) {
		return nil, fmt.Errorf("--format %q: use %s", f.format, strings.Join(report.Formats, ", "))
	}
	return f, nil
}

// progressInterval is how often a run without a terminal logs its progress.
const progressInterval = 10 * time.Second

// Bounds of the numeric flags: a rate below minMaxRate would leave the job waiting for hours
// between two requests, and a request timeout beyond maxRequestTimeout is a hang, not patience.
const (
	minMaxRate        = 0.1
	maxRequestTimeout = 10 * time.Minute
)

// maxReportFile bounds a report read back with --retry-from: a 100,000-image report is about
// 30 MB.
const maxReportFile = 256 << 20

// durationFlag is a time.Duration flag whose error for a bare number suggests the unit.
type durationFlag time.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }

func (d *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return fmt.Errorf("%q has no unit: did you mean %ss?", s, s)
		}
		return fmt.Errorf("%q is not a duration such as 30s, 2m or 1m30s", s)
	}
	*d = durationFlag(v)
	return nil
}

// tty says whether the process talks to a person; tests replace it.
var tty = struct {
	stdin          io.Reader
	stdinTerminal  func() bool
	stderrTerminal func() bool
}{
	stdin:          os.Stdin,
	stdinTerminal:  func() bool { return isTerminal(os.Stdin) },
	stderrTerminal: func() bool { return isTerminal(os.Stderr) },
}

// colorOn says whether output to a terminal may use ANSI colors: only a terminal gets them, and
// never when NO_COLOR is set to anything (https://no-color.org). The report package only
// follows the answer.
func colorOn(terminal bool) bool {
	return terminal && os.Getenv("NO_COLOR") == ""
}

// isTerminal asks the terminal driver, not the file mode: /dev/null is a character device and
// no person types at it.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// osExit ends the process on a second signal; tests replace it.
var osExit = os.Exit

// cmdJob runs plan or apply.
func cmdJob(ctx context.Context, command string, args []string, stdout, stderr io.Writer) int {
	f, err := parseJobFlags(command, args, stdout, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "ecs-image-cleanup %s: %v\n", command, err)
		return exitUsage
	}
	var status *statusLine
	logOut := stderr
	if tty.stderrTerminal() {
		status = &statusLine{w: stderr}
		logOut = status
	}
	log, err := newLogger(f.logLevel, f.logFormat, logOut)
	if err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup %s: %v\n", command, err)
		return exitUsage
	}
	defer func() { _ = log.Sync() }()

	var plan *reviewedPlan
	if f.plan != "" {
		if plan, err = loadPlan(f.plan, f.maxPlanAge, time.Now()); err != nil {
			fmt.Fprintf(stderr, "ecs-image-cleanup %s: --plan: %v (nothing was sent)\n", command, err)
			return exitUsage
		}
		if f.policy == "" {
			f.policy = plan.policyPath
		}
	}
	pol, data, err := loadPolicy(f.policy)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	var only, onlyKnown map[string]bool
	onlyFrom := ""
	if plan != nil {
		if err := plan.checkPolicy(f.policy, data); err != nil {
			fmt.Fprintf(stderr, "ecs-image-cleanup %s: --plan: %v (nothing was sent)\n", command, err)
			return exitUsage
		}
		only, onlyKnown, onlyFrom = plan.only, plan.known, "the plan "+f.plan
	}
	if f.retryFrom != "" {
		if only, onlyKnown, err = retrySet(f.retryFrom); err != nil {
			fmt.Fprintf(stderr, "ecs-image-cleanup %s: --retry-from: %v\n", command, err)
			return exitUsage
		}
		onlyFrom = "the report " + f.retryFrom
	}
	if command == runner.Apply && !f.yes && !tty.stdinTerminal() {
		fmt.Fprintln(stderr, "ecs-image-cleanup apply: stdin is not a terminal: pass --yes to delete (and deprecate) without confirmation (nothing was changed)")
		return exitUsage
	}
	if command == runner.Restore && !f.yes && !tty.stdinTerminal() {
		fmt.Fprintln(stderr, "ecs-image-cleanup restore: stdin is not a terminal: pass --yes to restore without confirmation (nothing was changed)")
		return exitUsage
	}
	started := time.Now()
	f.report, f.summary, f.journal = expandOutput(f.report, command, started), expandOutput(f.summary, command, started), expandOutput(f.journal, command, started)
	var (
		cred    credentials.Credential
		outOpts []files.Option
	)
	if files.IsRemote(f.report) || files.IsRemote(f.summary) || files.IsRemote(f.journal) {
		// An output in OSS is signed with the same credentials, so they are needed first.
		if cred, err = loadCredential(log); err != nil {
			fmt.Fprintf(stderr, "ecs-image-cleanup %s: no usable credentials: %v\n", command, err)
			return exitUsage
		}
		region := f.ossRegion
		if region == "" {
			region = pol.Regions[0].ID
		}
		store, err := ossout.New(ossout.Config{Credential: cred, Region: region, Endpoint: f.ossEndpoint, Timeout: f.timeout})
		if err != nil {
			fmt.Fprintf(stderr, "ecs-image-cleanup %s: %v (nothing was sent)\n", command, err)
			return exitUsage
		}
		outOpts = append(outOpts, files.WithRemote(ossout.Scheme, store))
	}
	reportOut, summaryOut, err := checkOutputs(f, stdout, outOpts...)
	if err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup %s: %v (nothing was sent)\n", command, err)
		return exitUsage
	}
	defer reportOut.Close()
	defer summaryOut.Close()
	if cred == nil {
		if cred, err = loadCredential(log); err != nil {
			fmt.Fprintf(stderr, "ecs-image-cleanup %s: no usable credentials: %v\n", command, err)
			return exitUsage
		}
	}
	client, err := ecs.New(ecs.Config{Credential: cred, Endpoint: f.endpoint, ESSEndpoint: f.essEndpoint, Timeout: f.timeout, MaxIdleConns: pol.Concurrency})
	if err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup %s: %v\n", command, err)
		return exitUsage
	}
	journalPath := f.journal
	if journalPath == "" && f.report != "" && f.report != files.Stdout {
		journalPath = f.report + report.JournalSuffix
	}
	if journalPath != "" && (reportOut.SameAsPath(journalPath) || summaryOut.SameAsPath(journalPath)) {
		fmt.Fprintf(stderr, "ecs-image-cleanup %s: --journal %s is an output of the run: give the journal a file of its own (nothing was sent)\n", command, journalPath)
		return exitUsage
	}
	var (
		jnl *report.Journal
		jt  *files.JournalTarget
	)
	if journalPath == "" {
		switch command {
		case runner.Apply:
			fmt.Fprintf(stderr, "ecs-image-cleanup apply: no journal: a SIGKILL would lose the record of what was deleted (give --report FILE or --journal FILE)\n")
		case runner.Restore:
			fmt.Fprintf(stderr, "ecs-image-cleanup restore: no journal: a SIGKILL would lose the record of what was restored (give --report FILE or --journal FILE)\n")
		}
	} else if jnl, jt, err = openJournal(journalPath, command, f.policy, data, outOpts...); err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup %s: %v\n", command, err)
		return exitUsage
	}
	return execute(ctx, job{
		command: command, policyPath: f.policy, policy: pol, policyBytes: data, api: client,
		reportPath: f.report, reportOut: reportOut, yes: f.yes, maxRate: f.maxRate, log: log, only: only, onlyKnown: onlyKnown, onlyFrom: onlyFrom,
		retryFrom: f.retryFrom, plan: f.plan,
		format: f.format, summaryPath: f.summary, summaryOut: summaryOut, blockers: f.blockers, journal: jnl, journalPath: journalPath, journalTarget: jt,
		status: status, color: colorOn(tty.stderrTerminal()), restoreIDs: f.imageIDs, restoreSince: f.since,
	}, stdout, stderr)
}

// openJournal creates the run's journal, before the first request. An earlier run's journal is
// never overwritten: that run was killed, and its journal is the only record of what it deleted.
// A journal in OSS is kept in a local spool file and put in its object when it is created and
// at the end of every phase (see mirroredJournal).
func openJournal(path, command, policyPath string, policyBytes []byte, opts ...files.Option) (*report.Journal, *files.JournalTarget, error) {
	jt, err := files.CheckJournal(path, opts...)
	var remoteExisting *files.ExistingError
	if errors.As(err, &remoteExisting) {
		return nil, nil, fmt.Errorf("%v: download it, turn it into that run's report with `ecs-image-cleanup recover --journal FILE --policy %s --report FILE`, then delete the object (nothing was sent)",
			err, policyPath)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%v (nothing was sent)", err)
	}
	sum := sha256.Sum256(policyBytes)
	j, err := report.CreateJournal(jt.Local, command, report.PolicyRef{Path: policyPath, SHA256: hex.EncodeToString(sum[:])}, time.Now())
	var existing *report.ExistingJournalError
	if errors.As(err, &existing) {
		return nil, nil, fmt.Errorf("%v: turn it into that run's report with `ecs-image-cleanup recover --journal %s --policy %s --report FILE`, then remove it (nothing was sent)",
			err, path, policyPath)
	}
	if err != nil {
		jt.Discard()
		return nil, nil, err
	}
	if err := jt.Publish(); err != nil {
		_ = j.Close()
		jt.Discard()
		return nil, nil, fmt.Errorf("%v (nothing was sent)", err)
	}
	return j, jt, nil
}

// mirroredJournal puts the journal in its remote object at the end of every phase, after the
// local flush: a pod that is killed leaves the record as it stood at the last phase's end.
type mirroredJournal struct {
	*report.Journal
	target *files.JournalTarget
}

func (m mirroredJournal) Flush() error {
	if err := m.Journal.Flush(); err != nil {
		return err
	}
	return m.target.Publish()
}

// checkOutputs checks --report and --summary before anything is sent: each must be writable
// (stdout, a regular file in an existing writable directory, a character device or a FIFO with a
// reader), neither may be the policy or the --retry-from report, and they may not be one file.
// The report defaults to stdout and the summary to stderr (a nil Output).
func checkOutputs(f *jobFlags, stdout io.Writer, opts ...files.Option) (reportOut, summaryOut *files.Output, err error) {
	reportPath := f.report
	if reportPath == "" {
		reportPath = files.Stdout
	}
	if reportOut, err = files.Check("--report", reportPath, stdout, opts...); err != nil {
		return nil, nil, err
	}
	outs := []*files.Output{reportOut}
	flags := []string{"--report"}
	if f.summary != "" {
		if summaryOut, err = files.Check("--summary", f.summary, stdout, opts...); err != nil {
			reportOut.Close()
			return nil, nil, err
		}
		outs, flags = append(outs, summaryOut), append(flags, "--summary")
		if reportOut.Same(summaryOut) {
			reportOut.Close()
			summaryOut.Close()
			return nil, nil, fmt.Errorf("--report %s and --summary %s are the same file: one would overwrite the other", reportOut.Name, summaryOut.Name)
		}
	}
	inputs := [][2]string{{"--policy", f.policy}, {"--retry-from", f.retryFrom}}
	for i, o := range outs {
		for _, in := range inputs {
			if in[1] != "" && o.SameAsFile(in[1]) {
				reportOut.Close()
				summaryOut.Close()
				return nil, nil, fmt.Errorf("%s %s is the %s file %s: it would be overwritten", flags[i], o.Name, in[0], in[1])
			}
		}
	}
	return reportOut, summaryOut, nil
}

func loadPolicy(path string) (*policy.Policy, []byte, error) {
	data, err := files.ReadInput(path, policy.MaxFileSize)
	if err != nil {
		return nil, nil, fmt.Errorf("ecs-image-cleanup: --policy %v", err)
	}
	p, err := policy.Parse(path, data)
	if err != nil {
		return nil, nil, err
	}
	return p, data, nil
}

// job is one plan or apply, ready to run.
type job struct {
	command     string
	policyPath  string
	policy      *policy.Policy
	policyBytes []byte
	api         ecs.API
	reportPath  string
	reportOut   *files.Output // checked; nil: made from reportPath when the job runs
	yes         bool
	maxRate     float64
	log         *zap.Logger
	retry       runner.RetryConfig
	only        map[string]bool // nil: every selected image
	onlyKnown   map[string]bool // every image the source of only reported
	onlyFrom    string          // where only came from, for messages
	plan        string          // the reviewed plan carried out; "" for none
	retryFrom   string
	format      string          // summary format; "" is text
	summaryPath string          // "" writes the summary to stderr
	summaryOut  *files.Output   // checked; nil: made from summaryPath when the job runs
	blockers    bool            // look up what holds blocked images
	journal     *report.Journal // nil: none
	status      *statusLine     // the progress line on a terminal; nil: progress events in the log
	journalPath string
	// journalTarget is where the journal is kept: its file, or its OSS object and local spool.
	journalTarget *files.JournalTarget
	color         bool          // the summary and the prompt written to stderr may use ANSI colors (colorOn)
	restoreIDs    []string      // restore: --image-ids
	restoreSince  time.Duration // restore: --since
}

// execute runs a job with signal handling, writes its report and summary, and returns the exit
// code. The first SIGINT or SIGTERM stops new requests and lets those in flight finish; a second
// one writes the report as it stands and exits at once.
func execute(ctx context.Context, j job, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		sigMu  sync.Mutex
		gotSig os.Signal
	)
	cfg := runner.Config{
		Command: j.command, Policy: j.policy, PolicyPath: j.policyPath, PolicyBytes: j.policyBytes,
		API: j.api, Logger: j.log, Rate: runner.RateConfig{Max: j.maxRate}, Retry: j.retry, Only: j.only, OnlyFrom: j.onlyFrom, OnlyKnown: j.onlyKnown,
		Blockers: j.blockers, RestoreIDs: j.restoreIDs, RestoreSince: j.restoreSince,
	}
	if j.journal != nil {
		cfg.Journal = j.journal
		if j.journalTarget.IsRemote() {
			cfg.Journal = mirroredJournal{Journal: j.journal, target: j.journalTarget}
		}
	}
	if j.command == runner.Apply && !j.yes {
		cfg.Confirm = func(toChange []report.Entry) bool {
			j.status.clear()
			return askConfirmation(ctx, toChange, stderr, j.color)
		}
	}
	if j.command == runner.Restore && !j.yes {
		cfg.Confirm = func(toRestore []report.Entry) bool {
			j.status.clear()
			return askRestoreConfirmation(ctx, toRestore, stderr, j.color)
		}
	}
	var running atomic.Pointer[runner.Runner]
	if j.status != nil {
		cfg.Progress = j.status.update
	} else {
		onProgress, stop := progressEvents(j.log, progressInterval, func() runner.Progress {
			if r := running.Load(); r != nil {
				return r.Progress()
			}
			return runner.Progress{}
		})
		defer stop()
		cfg.Progress = onProgress
	}
	if j.reportOut == nil || (j.summaryOut == nil && j.summaryPath != "") {
		reportOut, summaryOut, err := checkOutputs(&jobFlags{report: j.reportPath, summary: j.summaryPath, policy: j.policyPath}, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "ecs-image-cleanup %s: %v (nothing was sent)\n", j.command, err)
			return exitUsage
		}
		defer reportOut.Close()
		defer summaryOut.Close()
		j.reportOut, j.summaryOut = reportOut, summaryOut
	}
	r := runner.New(cfg)
	running.Store(r)
	var writeMu sync.Mutex
	// writeReport writes the report and then, the record being safe, closes and removes the
	// journal; if the report cannot be written, the journal stays, and says where to go next.
	writeReport := func(rep *report.Report) error {
		writeMu.Lock()
		defer writeMu.Unlock()
		err := j.reportOut.Write(func(w io.Writer) error { return report.Write(w, rep) })
		endJournal(j, err == nil, stderr)
		return err
	}
	// writeSummary writes the summary in the chosen format; when its file cannot be written, the
	// summary goes to stderr after the error.
	writeSummary := func(rep *report.Report) error {
		if j.summaryOut == nil {
			return report.WriteSummaryWith(stderr, rep, j.format, report.Options{Color: j.color})
		}
		var buf bytes.Buffer
		if err := report.WriteSummary(&buf, rep, j.format); err != nil {
			return err
		}
		if err := j.summaryOut.Write(func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
			fmt.Fprintf(stderr, "ecs-image-cleanup %s: write summary: %v\n", j.command, err)
			_, _ = stderr.Write(buf.Bytes())
			return err
		}
		return nil
	}

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			sigMu.Lock()
			gotSig = s
			sigMu.Unlock()
			// Stop first, then say so: requests must not keep starting while the log is written,
			// nor for good if stderr blocks (a pipe nobody reads).
			cancel()
			j.log.Warn("signal received: no new request starts; waiting for the requests in flight", zap.String("signal", s.String()))
		case <-ctx.Done():
			return
		}
		// A second signal: leave at once, with the report as it stands.
		s := <-sigs
		rep := r.Report(report.StatusInterrupted)
		_ = writeReport(rep)
		_ = writeSummary(rep)
		osExit(signalExit(s))
	}()

	// The first request of the run, once a signal can stop it: a region the account does not
	// have stops the run here.
	if rl, ok := j.api.(regionLister); ok {
		if err := checkRegions(ctx, rl, j.policy); err != nil {
			sigMu.Lock()
			sig := gotSig
			sigMu.Unlock()
			if sig != nil {
				rep := r.Report(report.StatusInterrupted)
				_ = writeReport(rep)
				_ = writeSummary(rep)
				return signalExit(sig)
			}
			endJournal(j, true, stderr) // nothing else was sent
			fmt.Fprintf(stderr, "ecs-image-cleanup %s: %v (nothing else was sent)\n", j.command, err)
			return exitUsage
		}
	}
	rep, err := r.Run(ctx)
	if err != nil {
		endJournal(j, true, stderr) // nothing was sent
		fmt.Fprintf(stderr, "ecs-image-cleanup %s: %v\n", j.command, err)
		return exitUsage
	}
	sigMu.Lock()
	sig := gotSig
	sigMu.Unlock()
	if sig != nil {
		rep.Status = report.StatusInterrupted
	}
	rep.RetryFrom, rep.Plan = j.retryFrom, j.plan
	if err := writeReport(rep); err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup %s: %v\n", j.command, err)
		_ = report.WriteSummaryWith(stderr, rep, j.format, report.Options{Color: j.color})
		return exitFailed
	}
	j.status.clear()
	if err := writeSummary(rep); err != nil {
		return exitFailed
	}
	return exitCode(rep, sig)
}

// endJournal closes the journal and, once the report is written, removes it.
func endJournal(j job, reportWritten bool, stderr io.Writer) {
	if j.journal == nil {
		return
	}
	if err := j.journal.Close(); err != nil {
		fmt.Fprintf(stderr, "ecs-image-cleanup %s: %v: the journal may be incomplete\n", j.command, err)
	}
	if !reportWritten {
		if j.journalTarget.IsRemote() {
			if err := j.journalTarget.Publish(); err != nil {
				fmt.Fprintf(stderr, "ecs-image-cleanup %s: %v: the journal is left in %s\n", j.command, err, j.journalTarget.Local)
			} else {
				j.journalTarget.Discard()
			}
		}
		fmt.Fprintf(stderr, "ecs-image-cleanup %s: the journal %s keeps the record: `ecs-image-cleanup recover --journal %s --policy %s` turns it into the report\n",
			j.command, j.journalPath, j.journalPath, j.policyPath)
		return
	}
	remove := func() error { return os.Remove(j.journalPath) }
	if j.journalTarget != nil {
		remove = j.journalTarget.Remove
	}
	if err := remove(); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "ecs-image-cleanup %s: remove the journal: %v\n", j.command, err)
	}
}

func signalExit(s os.Signal) int {
	if s == syscall.SIGTERM {
		return exitTerminated
	}
	return exitInterrupted
}

// exitCode maps a finished run to the documented exit codes.
func exitCode(rep *report.Report, sig os.Signal) int {
	switch {
	case sig != nil:
		return signalExit(sig)
	case credentialsRefused(rep):
		return exitUsage
	case rep.Status == report.StatusAborted:
		for _, e := range rep.Images {
			if e.Code == runner.CodeNotConfirmed {
				return exitUsage
			}
		}
		return exitAborted
	case rep.Fault != "" || rep.Summary.Failed > 0 || rep.Summary.Snapshots.Failed > 0 || notAttemptedOnError(rep):
		return exitFailed
	}
	for _, rt := range rep.Regions {
		if rt.Error != "" {
			return exitFailed // a region could not be processed
		}
	}
	return exitOK
}

// credentialsRefused reports whether every region of the run failed because the service refused
// the credentials, before anything was deleted: a credential error, as the README promises, not
// a partial run.
func credentialsRefused(rep *report.Report) bool {
	if len(rep.Regions) == 0 || rep.Summary.Deleted > 0 {
		return false
	}
	for _, rt := range rep.Regions {
		if !ecs.IsCredentialCode(rt.ErrorCode) {
			return false
		}
	}
	return true
}

// notAttemptedOnError reports whether an error kept images from being attempted, such as a region
// whose launch templates or scaling configurations could not be read: nothing broke, but the run
// did not do what it was asked to.
func notAttemptedOnError(rep *report.Report) bool {
	for _, e := range rep.Images {
		if e.Outcome == report.NotAttempted && e.Code != "" {
			return true
		}
	}
	return false
}

// askConfirmation shows what apply would change, image by image as the text summary lists them:
// per region, the images it would delete, those it would deprecate and the Deprecated ones it
// would only tag (staged retention), and asks for "yes" on the terminal. A signal (ctx ends)
// answers no at once: Ctrl-C at the prompt ends the run.
func askConfirmation(ctx context.Context, toChange []report.Entry, stderr io.Writer, color bool) bool {
	fmt.Fprintln(stderr, "apply will change these images (every DeleteImage and ModifyImageAttribute DryRun passed):")
	_ = report.WriteList(stderr, toChange, report.ListOptions{Options: report.Options{Color: color}, AsOf: time.Now(),
		More: "`plan --format markdown` lists them all", Lists: []report.Listing{
			{Outcome: report.WouldDelete, Verb: "would delete"},
			{Outcome: report.WouldDeprecate, Verb: "would deprecate"},
			{Outcome: report.Skipped, Code: runner.CodeInGracePeriod, Verb: "would tag",
				Note: "Deprecated without the " + policy.DeprecatedAtTag + " tag: the grace period starts now"},
		}})
	fmt.Fprintf(stderr, "%s? Type yes to continue: ", applyQuestion(toChange))
	return readYes(ctx, stderr)
}

// applyQuestion asks for what apply would change: "Delete 5 images", "Deprecate 1 image", "Delete
// 2 images, deprecate 3 images and tag 1 Deprecated image".
func applyQuestion(toChange []report.Entry) string {
	var deletes, deprecations, tags int
	for _, e := range toChange {
		switch e.Outcome {
		case report.WouldDelete:
			deletes++
		case report.WouldDeprecate:
			deprecations++
		default:
			tags++
		}
	}
	var parts []string
	if deletes > 0 {
		parts = append(parts, "delete "+countNoun(deletes, "image"))
	}
	if deprecations > 0 {
		parts = append(parts, "deprecate "+countNoun(deprecations, "image"))
	}
	if tags > 0 {
		parts = append(parts, "tag "+countNoun(tags, "Deprecated image"))
	}
	q := parts[0]
	if len(parts) > 1 {
		q = strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	}
	return strings.ToUpper(q[:1]) + q[1:]
}

// askRestoreConfirmation shows what restore would set back to Available, per region, and asks for
// "yes", as askConfirmation does.
func askRestoreConfirmation(ctx context.Context, toRestore []report.Entry, stderr io.Writer, color bool) bool {
	fmt.Fprintln(stderr, "restore will set these images back to Available and remove their "+policy.DeprecatedAtTag+" tag (their DryRun passed):")
	_ = report.WriteList(stderr, toRestore, report.ListOptions{Options: report.Options{Color: color}, AsOf: time.Now(),
		Lists: []report.Listing{{Outcome: report.Restored, Verb: "would restore"}}})
	fmt.Fprintf(stderr, "Restore %d images? Type yes to continue: ", len(toRestore))
	return readYes(ctx, stderr)
}

// readYes reads one line from the terminal and reports whether it is "yes"; a signal (ctx
// ends) answers no at once.
func readYes(ctx context.Context, stderr io.Writer) bool {
	answer := make(chan string, 1)
	in := tty.stdin
	go func() {
		// Left blocked on the terminal if a signal comes first; the process is about to end.
		line, _ := bufio.NewReader(in).ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		return strings.TrimSpace(line) == "yes"
	case <-ctx.Done():
		fmt.Fprintln(stderr)
		return false
	}
}

// newLogger builds the one logger of the process: JSON for machines, console for people.
func newLogger(level, format string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	if format == "" {
		format = "json"
		if tty.stderrTerminal() {
			format = "console"
		}
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(encCfg)
	case "console":
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	default:
		return nil, fmt.Errorf("--log-format %q: use json or console", format)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), lvl)), nil
}

// retrySet reads an earlier report and returns the images it left failed or not_attempted, as
// "region/image_id".
func retrySet(path string) (only, known map[string]bool, err error) {
	data, err := files.ReadInput(path, maxReportFile)
	if err != nil {
		return nil, nil, err
	}
	var prev report.Report
	if err := json.Unmarshal(data, &prev); err != nil {
		return nil, nil, fmt.Errorf("%s is not a report: %v", path, err)
	}
	if prev.SchemaVersion != report.SchemaVersion {
		return nil, nil, fmt.Errorf("%s has schema_version %d, want %d", path, prev.SchemaVersion, report.SchemaVersion)
	}
	switch prev.Command {
	case runner.Plan:
		return nil, nil, fmt.Errorf("%s is a plan, which deleted nothing to retry: to carry it out, apply --plan %s", path, path)
	case runner.Restore:
		return nil, nil, fmt.Errorf("%s is a report of restore: --retry-from takes an apply's report (run restore again to retry it)", path)
	}
	only, known = map[string]bool{}, map[string]bool{}
	for _, e := range prev.Images {
		known[e.Region+"/"+e.ImageID] = true
		if e.Outcome == report.Failed || e.Outcome == report.NotAttempted {
			only[e.Region+"/"+e.ImageID] = true
		}
	}
	return only, known, nil
}

// expandOutput fills in an output path's {command} (plan or apply) and {started_at} (the run's
// start, RFC 3339 basic in UTC, e.g. 20261205T234400Z), so that one path makes one file or
// object per run.
func expandOutput(path, command string, started time.Time) string {
	return strings.NewReplacer("{command}", command, "{started_at}", started.UTC().Format("20060102T150405Z")).Replace(path)
}
