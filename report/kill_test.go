package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// killChildEnv, when set to a path, turns the test binary into the writer child of
// TestWriteFileSurvivesSIGKILL: it rewrites that path with WriteFile until it is killed,
// starting with the version that killFirstEnv names (an index into killVersions).
const (
	killChildEnv = "REPORT_KILL_CHILD"
	killFirstEnv = "REPORT_KILL_FIRST"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(killChildEnv); path != "" {
		first, _ := strconv.Atoi(os.Getenv(killFirstEnv))
		killChild(path, first)
		os.Exit(2) // killChild only returns on an error
	}
	os.Exit(m.Run())
}

// killChild writes the kill versions to path in turn, starting with versions[first], forever,
// and says "ready" on stdout once the first one is complete. It only returns if a write fails.
func killChild(path string, first int) {
	versions := killVersions()
	for i := 0; ; i++ {
		if err := WriteFile(path, versions[(first+i)%len(versions)]); err != nil {
			fmt.Fprintln(os.Stderr, "kill child:", err)
			return
		}
		if i == 0 {
			fmt.Println("ready")
		}
	}
}

// killVersions are the reports the child alternates between: a small one and a large one
// (thousands of entries, a few hundred KiB), told apart by their Command and Warnings. They are
// deterministic, so the parent can tell exactly which bytes a complete write leaves.
func killVersions() []*Report {
	start := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	small := New("plan", "policy.yaml", []byte("version: 1\n"), start)
	small.Warnings = []string{"kill version small"}
	small.Add(Entry{Region: "cn-hangzhou", ImageID: "m-small-1", Name: "ci-1", Outcome: WouldDelete, Attempts: 1})
	small.Add(Entry{Region: "cn-hangzhou", ImageID: "m-small-2", Name: "golden-2", Outcome: Skipped, Message: "protected"})
	small.Finish(StatusCompleted, start.Add(time.Second))

	large := New("apply", "policy.yaml", []byte("version: 1\n"), start)
	large.Warnings = []string{"kill version large"}
	outcomes := []Outcome{Deleted, Blocked, Failed, Skipped, NotAttempted}
	for i := range 1200 {
		e := Entry{
			Region:   []string{"cn-hangzhou", "cn-shanghai", "eu-central-1"}[i%3],
			ImageID:  fmt.Sprintf("m-%08d", i),
			Name:     fmt.Sprintf("ci-build-%08d", i),
			Outcome:  outcomes[i%len(outcomes)],
			Message:  strings.Repeat("m", i%64),
			Attempts: 1 + i%3,
		}
		if e.Outcome == Blocked || e.Outcome == Failed {
			e.Code = "Code" + fmt.Sprint(i%7)
			e.RequestID = fmt.Sprintf("REQ-%08d", i)
		}
		large.Add(e)
	}
	large.Finish(StatusCompleted, start.Add(time.Minute))
	return []*Report{small, large}
}

// TestWriteFileSurvivesSIGKILL kills a process that keeps rewriting the report (re-running this
// test binary as the writer) with SIGKILL at random moments. After every kill, and all along in
// a reader while the writer runs, the file at the report path must be one of the complete
// reports the writer writes, byte for byte: never a torn, truncated or empty file.
//
// A writer killed between CreateTemp and Rename leaves its temporary file behind
// (.report.json.tmp-*): that is expected. WriteFile does not clean up the temporary files of
// earlier, killed writers, so they pile up next to the report; the test only checks that such
// leftovers are temporary files of that pattern and never show up as the report itself.
func TestWriteFileSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("re-runs the test binary as a writer 30 times")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("cannot re-run the test binary: %v", err)
	}

	var want [][]byte
	for _, r := range killVersions() {
		var buf bytes.Buffer
		if err := Write(&buf, r); err != nil {
			t.Fatal(err)
		}
		want = append(want, buf.Bytes())
	}
	if len(want[1]) < 256<<10 {
		t.Fatalf("the large version is only %d bytes; it should take a while to write", len(want[1]))
	}
	check := func(data []byte) error {
		var got Report
		if err := json.Unmarshal(data, &got); err != nil {
			return fmt.Errorf("report does not parse (%d bytes): %v", len(data), err)
		}
		if got.Summary.Selected != len(got.Images) {
			return fmt.Errorf("summary selects %d images, the report lists %d", got.Summary.Selected, len(got.Images))
		}
		for _, w := range want {
			if bytes.Equal(data, w) {
				return nil
			}
		}
		return fmt.Errorf("report (%d bytes, %d images) is none of the versions the writer writes", len(data), len(got.Images))
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	tmpPattern := "." + filepath.Base(path) + ".tmp-*"

	// A reader checks every version of the file it sees while writers come and go.
	stop := make(chan struct{})
	readerErr := make(chan error, 1)
	var reads int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			data, err := os.ReadFile(path)
			if os.IsNotExist(err) {
				continue // before the first writer's first rename
			}
			if err == nil {
				err = check(data)
			}
			if err != nil {
				readerErr <- err
				return
			}
			reads++
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
		select {
		case err := <-readerErr:
			t.Errorf("a reader saw a bad report while the writer ran: %v", err)
		default:
		}
		t.Logf("the reader checked %d complete reads", reads)
	}()

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	const kills = 30
	seen := map[int]int{} // version index -> kills after which the file held it
	for i := range kills {
		var stderr bytes.Buffer
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), killChildEnv+"="+path, fmt.Sprintf("%s=%d", killFirstEnv, i%2))
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for the writer's first complete report, so the kill lands in its loop.
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || line != "ready\n" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("kill %d: the writer did not get ready (%q, %v): %s", i, line, err, stderr.String())
		}
		time.Sleep(time.Duration(rng.Int64N(int64(50 * time.Millisecond))))
		if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if stderr.Len() > 0 {
			t.Errorf("kill %d: the writer complained: %s", i, stderr.String())
		}

		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		if !fi.Mode().IsRegular() {
			t.Fatalf("kill %d: the report path is %v, not a regular file", i, fi.Mode())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		if err := check(data); err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		for v, w := range want {
			if bytes.Equal(data, w) {
				seen[v]++
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() == filepath.Base(path) {
				continue
			}
			if ok, _ := filepath.Match(tmpPattern, e.Name()); !ok {
				t.Errorf("kill %d: unexpected file %s next to the report", i, e.Name())
			}
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, tmpPattern))
	t.Logf("%d kills: the report held the small version after %d, the large after %d; %d temporary files left behind by killed writers",
		kills, seen[0], seen[1], len(leftovers))
}
