package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// killShape is a short apply: one page of 40 images, DryRun and real deletes four at a time.
var killShape = applyShape{images: 40, listLatency: 5 * time.Millisecond, deleteLatency: 3 * time.Millisecond}

const killSeedEnv = "ECS_KILL_SEED" // overrides the seed of the kill points

// TestSIGKILLLeavesAJournal kills apply with SIGKILL at 20 random points (seeded; the seed is
// logged, ECS_KILL_SEED replays it): after the k-th DeleteImage answer, k drawn over the deletes
// of an uninterrupted apply counted first (half of them over its real deletes), each run against
// its own emulator. After each
// kill:
//   - the journal (the report's name plus .journal) is there and parses: every complete line, with
//     a kind, a region and an image_id; a torn last line is tolerated, and logged;
//   - every real DeleteImage the emulator received has a sent line;
//   - recover turns it into a report (status interrupted) that agrees with the emulator exactly:
//     an image is reported deleted if and only if it is gone, and every selected image is listed
//     (or none, when the kill came before the selection reached the journal, and nothing was sent);
//   - apply --retry-from that report deletes the rest.
//
// A run that finished before the kill leaves no journal and a completed report.
func TestSIGKILLLeavesAJournal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	bin := commandPath(t)
	seed := rand.Uint64()
	if s := os.Getenv(killSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", killSeedEnv, s, err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x6b696c6c))

	// An uninterrupted apply first: a clean end leaves no journal, and it counts the deletes
	// (dry and real) that the kill points are drawn over. The points are events, not times: a
	// kill lands after the emulator has answered the k-th DeleteImage, however busy the machine.
	r := startApply(t, bin, killShape, nil)
	r.waitFirstRequest(t)
	if code := r.wait(t); code != exitOK {
		t.Fatalf("uninterrupted apply: exit %d\n%s", code, r.stderrText())
	}
	if _, err := os.Stat(r.report + report.JournalSuffix); !os.IsNotExist(err) {
		t.Errorf("a clean end left its journal: %v", err)
	}
	deletes := deleteAnswers(r.srv)
	t.Logf("kill points: %s=%d, after the k-th of %d DeleteImage answers, half of them within the real deletes", killSeedEnv, seed, deletes)

	var killed, torn, withDeletes, inFlight int
	for i := range 20 {
		// Never past the last delete: a kill after it would race the run's end.
		k := rng.IntN(deletes)
		if i%2 == 1 {
			k = deletes/2 + rng.IntN(deletes-deletes/2)
		}
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			r := startApply(t, bin, killShape, nil)
			r.waitFirstRequest(t)
			r.waitFor(t, fmt.Sprintf("DeleteImage answer %d", k), func() bool { return deleteAnswers(r.srv) >= k })
			_ = r.cmd.Process.Signal(syscall.SIGKILL)
			code := r.wait(t)
			defer func() {
				if t.Failed() {
					t.Logf("killed after DeleteImage answer %d\n%s", k, r.stderrText())
				}
			}()
			journal := r.report + report.JournalSuffix
			_, noJournal := os.Stat(journal)
			if !r.diedBySignal() || os.IsNotExist(noJournal) {
				// The run ended before the kill, or the kill came as it exited, its report
				// written and its journal removed.
				if !r.diedBySignal() && code != exitOK {
					t.Fatalf("exit %d, want 0 or death by SIGKILL", code)
				}
				if _, err := os.Stat(journal); !os.IsNotExist(err) {
					t.Errorf("the run ended cleanly and left its journal: %v", err)
				}
				r.checkAgainstEmulator(t, r.readReport(t), false)
				return
			}
			killed++
			rec, wasTorn := checkJournalLines(t, journal)
			if wasTorn {
				torn++
				t.Logf("the journal's last line was torn by the kill (tolerated)")
			}
			sent := rec.SentImages()[signalRegion]
			for _, c := range r.srv.Calls() {
				if c.Action == "DeleteImage" && !c.DryRun && !slices.Contains(sent, c.ImageID) {
					t.Errorf("the emulator received DeleteImage %s, which has no sent line", c.ImageID)
				}
			}

			rep := recoverReport(t, bin, r, journal)
			if rep.Status != report.StatusInterrupted {
				t.Errorf("recovered status %q, want interrupted", rep.Status)
			}
			gone := 0
			outcomes := map[string]report.Outcome{}
			for _, e := range rep.Images {
				outcomes[e.ImageID] = e.Outcome
				if e.Code == report.CodeInterruptedInFlight || e.Message == "the process was killed after a real DeleteImage was sent; the image is gone" {
					inFlight++
				}
			}
			for _, id := range r.ids {
				_, exists := r.srv.Image(signalRegion, id)
				got, listed := outcomes[id]
				switch {
				case !exists && got != report.Deleted:
					t.Errorf("the emulator deleted %s, the recovered report says %q", id, got)
				case exists && got == report.Deleted:
					t.Errorf("%s is recovered as deleted but still exists", id)
				case !listed && len(rep.Images) > 0:
					t.Errorf("%s is selected but not in the recovered report", id)
				}
				if !exists {
					gone++
				}
			}
			if len(rep.Images) == 0 && len(sent) > 0 {
				t.Errorf("the recovered report lists no image, but %d deletes were sent", len(sent))
			}
			if rep.Summary.Deleted != gone || rep.Summary.Selected != len(rep.Images) {
				t.Errorf("recovered summary %+v: %d gone, %d entries", rep.Summary, gone, len(rep.Images))
			}
			if gone > 0 {
				withDeletes++
			}
			if len(rep.Images) == len(r.ids) {
				retryFromRecovered(t, bin, r)
			}
		})
	}
	t.Logf("%d of 20 runs killed before they ended (the others had finished), %d after some deletes; %d torn last lines; %d images with a sent line and no outcome settled by recover's lookup",
		killed, withDeletes, torn, inFlight)
	if killed < 10 {
		t.Errorf("only %d of 20 kills landed before the run ended", killed)
	}
}

// deleteAnswers counts the DeleteImage calls, dry and real, the emulator has answered.
func deleteAnswers(srv *ecstest.Server) int {
	n := 0
	for kind, c := range srv.Counts() {
		if kind.Action == "DeleteImage" {
			n += c
		}
	}
	return n
}

// checkJournalLines parses the journal line by line: every complete line is a JSON object with a
// kind, a region and an image_id; a last line without its newline may be torn. Then ReadJournal
// must agree. No credential is in it.
func checkJournalLines(t *testing.T, path string) (*report.JournalRecord, bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no journal after SIGKILL: %v", err)
	}
	for _, secret := range []string{ecstest.AccessKeyID, ecstest.AccessKeySecret} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("the journal holds a credential")
		}
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	torn := false
	for n, line := range lines {
		if len(line) == 0 {
			continue
		}
		var raw map[string]any
		err := json.Unmarshal(line, &raw)
		if !bytes.HasSuffix(line, []byte("\n")) {
			torn = err != nil
			break
		}
		if err != nil {
			t.Fatalf("journal line %d does not parse: %v: %q", n+1, err, line)
		}
		for _, k := range []string{"kind", "region", "image_id"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("journal line %d has no %q: %s", n+1, k, line)
			}
		}
	}
	rec, err := report.ReadJournal(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadJournal: %v", err)
	}
	if rec.Torn != torn {
		t.Errorf("ReadJournal says torn %v, the lines say %v", rec.Torn, torn)
	}
	return rec, torn
}

func (r *signalRun) policyPath() string {
	i := slices.Index(r.cmd.Args, "--policy")
	return r.cmd.Args[i+1]
}

func (r *signalRun) env() []string {
	return append(os.Environ(), "ALIBABA_CLOUD_ACCESS_KEY_ID="+ecstest.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+ecstest.AccessKeySecret,
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

// recoverReport runs recover on the journal, against the run's emulator, and returns its report.
func recoverReport(t *testing.T, bin string, r *signalRun, journal string) *report.Report {
	t.Helper()
	out := r.report + ".recovered"
	cmd := exec.Command(bin, "recover", "--journal", journal, "--policy", r.policyPath(), "--endpoint", r.srv.URL(),
		"--report", out, "--log-level", "warn")
	cmd.Env = r.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("recover: %v\n%s", err, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("recovered report: %v", err)
	}
	if _, err := os.Stat(journal); err != nil {
		t.Errorf("recover removed the journal: %v", err)
	}
	return &rep
}

// retryFromRecovered runs apply --retry-from the recovered report, with a journal of its own:
// it deletes every image the killed run left.
func retryFromRecovered(t *testing.T, bin string, r *signalRun) {
	t.Helper()
	cmd := exec.Command(bin, "apply", "--yes", "--policy", r.policyPath(), "--endpoint", r.srv.URL(),
		"--retry-from", r.report+".recovered", "--report", r.report+".retry", "--log-level", "warn")
	cmd.Env = r.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("apply --retry-from the recovered report: %v\n%s", err, stderr.String())
	}
	if left := r.srv.Images(signalRegion); len(left) != 0 {
		t.Errorf("%d images left after apply --retry-from the recovered report", len(left))
	}
	if _, err := os.Stat(r.report + ".retry" + report.JournalSuffix); !os.IsNotExist(err) {
		t.Errorf("the retry's clean end left its journal: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "no journal") {
			t.Errorf("apply with --report warned: %s", sc.Text())
		}
	}
}
