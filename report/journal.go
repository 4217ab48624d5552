package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// JournalSuffix is added to a --report path to name its journal.
const JournalSuffix = ".journal"

// Journal line kinds.
const (
	KindStart           = "start"            // the first line: the run's command, policy and start
	KindSelected        = "selected"         // an image the run selected, with its outcome if it came with one
	KindSent            = "sent"             // a real DeleteImage, DeleteSnapshot, ModifyImageAttribute, TagResources or UntagResources is about to be sent
	KindOutcome         = "outcome"          // an image's outcome, as decided; a later one overrules
	KindSnapshotOutcome = "snapshot_outcome" // a snapshot's outcome
)

// JournalLine is one line of a journal (JSON Lines). Every line names region and image_id (empty
// for the start line and for snapshot lines, which name snapshot_id); the other fields are those
// of Entry that a report needs.
type JournalLine struct {
	Kind    string    `json:"kind"`
	Time    time.Time `json:"time"`
	Region  string    `json:"region"`
	ImageID string    `json:"image_id"`
	Action  string    `json:"action,omitempty"` // sent: DeleteImage, DeleteSnapshot, ModifyImageAttribute, TagResources or UntagResources
	// Status (sent ModifyImageAttribute lines) is the status sent: Deprecated or Available.
	Status     string  `json:"status,omitempty"`
	SnapshotID string  `json:"snapshot_id,omitempty"`
	Name       string  `json:"name,omitempty"`
	Outcome    Outcome `json:"outcome,omitempty"`
	Code       string  `json:"code,omitempty"`
	Message    string  `json:"message,omitempty"`
	RequestID  string  `json:"request_id,omitempty"`
	Attempts   int     `json:"attempts,omitempty"`
	SizeGiB    int     `json:"size_gib,omitempty"`
	// Snapshots (selected lines) are the image's snapshots that the run deletes after it: the
	// image is in a region with delete_snapshots.
	Snapshots []SnapshotEntry `json:"snapshots,omitempty"`
	// UsedBy and Remediation (snapshot outcome lines) are those of SnapshotEntry.
	UsedBy      []string `json:"used_by,omitempty"`
	Remediation string   `json:"remediation,omitempty"`

	// Start line only.
	Command   string     `json:"command,omitempty"`
	Policy    *PolicyRef `json:"policy,omitempty"`
	StartedAt time.Time  `json:"started_at,omitzero"`
}

// JournalFlushInterval bounds how long a line waits before it is written and synced to disk.
const JournalFlushInterval = time.Second

// Journal records a run as it goes, so that a process killed outright (SIGKILL, the OOM killer)
// leaves a record that recover turns into a report. Its guarantee: a "sent" line reaches the
// operating system (a write) before Sent returns, so before the request it announces is sent,
// and survives the process's death; every line is written and fsynced within
// JournalFlushInterval, at every Flush and at Close, and so survives a machine crash from then
// on. The other lines wait in memory until the next write: a SIGKILL may lose up to the last
// interval of them, which recover makes good by looking the sent images up.
//
// Its methods are safe for concurrent use. After Close, or after a write failed, they do
// nothing; Err and Close return the first failure.
type Journal struct {
	mu     sync.Mutex
	f      *os.File
	buf    bytes.Buffer // lines not yet written
	dirty  bool         // written but not yet synced
	err    error
	closed bool
	now    func() time.Time
	enc    *json.Encoder

	stop chan struct{}
	done chan struct{}
}

// CheckJournalPath says whether a journal can be created at path: its directory exists and is a
// directory, and nothing is there yet. An existing file is an earlier run's journal, which is
// never overwritten.
func CheckJournalPath(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("journal %s is a directory", path)
	case err == nil:
		return &ExistingJournalError{Path: path}
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("journal: %w", err)
	}
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("journal %s: its directory: %w", path, err)
	}
	if !di.IsDir() {
		return fmt.Errorf("journal %s: %s is not a directory", path, dir)
	}
	return nil
}

// ExistingJournalError is an earlier run's journal found where a new run would write its own:
// that run was killed before it could write its report.
type ExistingJournalError struct{ Path string }

func (e *ExistingJournalError) Error() string {
	return fmt.Sprintf("journal %s exists: an earlier run was killed before it wrote its report", e.Path)
}

// CreateJournal creates the journal at path, which must not exist, writes its start line and
// syncs it, and starts its flusher. Close stops the flusher.
func CreateJournal(path, command string, policy PolicyRef, started time.Time) (*Journal, error) {
	if err := CheckJournalPath(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, &ExistingJournalError{Path: path}
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{f: f, now: time.Now, stop: make(chan struct{}), done: make(chan struct{})}
	j.enc = json.NewEncoder(&j.buf)
	j.add(JournalLine{Kind: KindStart, Command: command, Policy: &policy, StartedAt: started.UTC()})
	if err := j.Flush(); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	// The new file's name must survive a crash too.
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	go j.flusher()
	return j, nil
}

func (j *Journal) flusher() {
	defer close(j.done)
	t := time.NewTicker(JournalFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = j.Flush()
		case <-j.stop:
			return
		}
	}
}

// add appends a line to the buffer; the caller holds j.mu, or is alone.
func (j *Journal) add(l JournalLine) {
	if j.closed || j.err != nil {
		return
	}
	l.Time = j.now().UTC()
	if err := j.enc.Encode(&l); err != nil {
		j.err = fmt.Errorf("journal: %w", err)
	}
}

// write hands the buffered lines to the operating system; the caller holds j.mu.
func (j *Journal) write() {
	if j.err != nil || j.buf.Len() == 0 {
		return
	}
	if _, err := j.f.Write(j.buf.Bytes()); err != nil {
		j.err = fmt.Errorf("journal: %w", err)
	}
	j.buf.Reset()
	j.dirty = true
}

// Selected records a selected image: region, id, name, size, its snapshots when the run deletes
// them, and its outcome when it came with one (protected, not found...).
func (j *Journal) Selected(e Entry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	l := entryLine(KindSelected, e)
	l.Snapshots = e.Snapshots
	j.add(l)
}

// Sent records that a real request that changes id is about to be sent (DeleteImage, or for
// staged retention TagResources or UntagResources of an image; DeleteSnapshot of a snapshot),
// and writes it, with every line before it, to the operating system before it returns.
func (j *Journal) Sent(action, region, id string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	l := JournalLine{Kind: KindSent, Action: action, Region: region}
	if action == "DeleteSnapshot" {
		l.SnapshotID = id
	} else {
		l.ImageID = id
	}
	j.add(l)
	j.write()
}

// SentStatus records, as Sent does, that a real ModifyImageAttribute setting an image's status
// (Deprecated, or Available for restore) is about to be sent.
func (j *Journal) SentStatus(region, id, status string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.add(JournalLine{Kind: KindSent, Action: ActionModifyImageAttribute, Region: region, ImageID: id, Status: status})
	j.write()
}

// Outcome records an image's outcome as it is decided.
func (j *Journal) Outcome(e Entry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.add(entryLine(KindOutcome, e))
}

// SnapshotOutcome records a snapshot's outcome as it is decided.
func (j *Journal) SnapshotOutcome(region string, e SnapshotEntry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.add(JournalLine{Kind: KindSnapshotOutcome, Region: region, SnapshotID: e.SnapshotID, Outcome: e.Outcome,
		Code: e.Code, Message: e.Message, RequestID: e.RequestID, Attempts: e.Attempts, SizeGiB: e.SizeGiB,
		UsedBy: e.UsedBy, Remediation: e.Remediation})
}

func entryLine(kind string, e Entry) JournalLine {
	return JournalLine{Kind: kind, Region: e.Region, ImageID: e.ImageID, Name: e.Name, Outcome: e.Outcome, Code: e.Code,
		Message: e.Message, RequestID: e.RequestID, Attempts: e.Attempts, SizeGiB: e.SizeGiB}
}

// Flush writes the buffered lines and syncs the file to disk.
func (j *Journal) Flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.flushLocked()
}

func (j *Journal) flushLocked() error {
	if j.closed {
		return j.err
	}
	j.write()
	if j.err == nil && j.dirty {
		if err := j.f.Sync(); err != nil {
			j.err = fmt.Errorf("journal: %w", err)
		}
		j.dirty = false
	}
	return j.err
}

// Err returns the first failure to write or sync, if any: from then on the journal records
// nothing.
func (j *Journal) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// Close flushes, stops the flusher and closes the file. It leaves the file in place: removing it
// is the caller's decision, once the report is written.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return j.err
	}
	_ = j.flushLocked()
	j.closed = true
	if err := j.f.Close(); err != nil && j.err == nil {
		j.err = fmt.Errorf("journal: %w", err)
	}
	j.mu.Unlock()
	close(j.stop)
	<-j.done
	return j.err
}

// JournalRecord is what a journal says about a run.
type JournalRecord struct {
	Command   string
	Policy    PolicyRef
	StartedAt time.Time
	// Lines counts the complete lines read; Torn says the last line was cut short by the kill
	// (it is left out).
	Lines int
	Torn  bool

	images map[string]*journalImage // "region/image_id"
	order  []string
	snaps  map[string]*SnapshotEntry // "region/snapshot_id": outcome lines
	sent   map[string]bool           // "region/snapshot_id": DeleteSnapshot sent
}

type journalImage struct {
	entry Entry
	sent  bool // a real DeleteImage was sent
	// Staged retention: the status of the last real ModifyImageAttribute sent ("" for none), and
	// whether a real TagResources or UntagResources was sent.
	status     string
	tag, untag bool
}

// changeSent reports whether a real change of staged retention was sent for the image.
func (img *journalImage) changeSent() bool { return img.status != "" || img.tag || img.untag }

// The actions a sent line names.
const (
	ActionDeleteImage          = "DeleteImage"
	ActionDeleteSnapshot       = "DeleteSnapshot"
	ActionModifyImageAttribute = "ModifyImageAttribute"
	ActionTagResources         = "TagResources"
	ActionUntagResources       = "UntagResources"
)

// ReadJournal parses a journal. Every complete line must parse; a last line without its newline
// that does not parse is the write a kill cut short: it is left out, and Torn says so.
func ReadJournal(rd io.Reader) (*JournalRecord, error) {
	rec := &JournalRecord{images: map[string]*journalImage{}, snaps: map[string]*SnapshotEntry{}, sent: map[string]bool{}}
	br := bufio.NewReader(rd)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if len(line) == 0 {
			break
		}
		complete := line[len(line)-1] == '\n'
		var l JournalLine
		if jerr := json.Unmarshal(line, &l); jerr != nil {
			if !complete {
				rec.Torn = true
				break
			}
			return nil, fmt.Errorf("journal line %d: %v", n, jerr)
		}
		if err := rec.add(n, l); err != nil {
			return nil, err
		}
		rec.Lines++
		if !complete {
			break
		}
	}
	if rec.Lines == 0 || rec.Command == "" {
		return nil, errors.New("not a journal: no start line")
	}
	return rec, nil
}

func (rec *JournalRecord) add(n int, l JournalLine) error {
	if n == 1 && l.Kind != KindStart {
		return fmt.Errorf("journal line 1: kind %q, want %q", l.Kind, KindStart)
	}
	key := l.Region + "/" + l.ImageID
	img := rec.images[key]
	if img == nil && (l.Kind == KindSelected || l.Kind == KindOutcome || (l.Kind == KindSent && l.ImageID != "")) {
		img = &journalImage{entry: Entry{Region: l.Region, ImageID: l.ImageID}}
		rec.images[key] = img
		rec.order = append(rec.order, key)
	}
	switch l.Kind {
	case KindStart:
		if n != 1 || l.Policy == nil {
			return fmt.Errorf("journal line %d: a start line that is not the first or names no policy", n)
		}
		rec.Command, rec.Policy, rec.StartedAt = l.Command, *l.Policy, l.StartedAt
	case KindSelected:
		img.entry.Name, img.entry.SizeGiB, img.entry.Snapshots = l.Name, l.SizeGiB, l.Snapshots
		if l.Outcome != "" {
			img.entry.Outcome, img.entry.Code, img.entry.Message = l.Outcome, l.Code, l.Message
		}
	case KindOutcome:
		e := &img.entry
		e.Outcome, e.Code, e.Message, e.RequestID, e.Attempts = l.Outcome, l.Code, l.Message, l.RequestID, l.Attempts
	case KindSent:
		switch l.Action {
		case ActionDeleteSnapshot:
			rec.sent[l.Region+"/"+l.SnapshotID] = true
		case ActionDeleteImage:
			img.sent = true
		case ActionModifyImageAttribute:
			if l.Status == "" {
				return fmt.Errorf("journal line %d: a sent ModifyImageAttribute names no status", n)
			}
			img.status = l.Status
		case ActionTagResources:
			img.tag = true
		case ActionUntagResources:
			img.untag = true
		default:
			return fmt.Errorf("journal line %d: sent of unknown action %q", n, l.Action)
		}
	case KindSnapshotOutcome:
		rec.snaps[l.Region+"/"+l.SnapshotID] = &SnapshotEntry{SnapshotID: l.SnapshotID, SizeGiB: l.SizeGiB, Outcome: l.Outcome,
			Code: l.Code, Message: l.Message, RequestID: l.RequestID, Attempts: l.Attempts, UsedBy: l.UsedBy, Remediation: l.Remediation}
	default:
		return fmt.Errorf("journal line %d: unknown kind %q", n, l.Kind)
	}
	return nil
}

// Images returns the images the journal names, in the order it first names them.
func (rec *JournalRecord) Images() []Entry {
	out := make([]Entry, 0, len(rec.order))
	for _, k := range rec.order {
		out = append(out, rec.images[k].entry)
	}
	return out
}

// SentImages returns, per region, the images whose real DeleteImage was sent.
func (rec *JournalRecord) SentImages() map[string][]string {
	return rec.imagesWhere(func(img *journalImage) bool { return img.sent })
}

// ChangedImages returns, per region, the images for which a real change of staged retention
// (ModifyImageAttribute, TagResources, UntagResources) was sent.
func (rec *JournalRecord) ChangedImages() map[string][]string {
	return rec.imagesWhere(func(img *journalImage) bool { return img.changeSent() })
}

// LookUpImages returns, per region, the images recover looks up: those whose real DeleteImage or
// real change of staged retention was sent.
func (rec *JournalRecord) LookUpImages() map[string][]string {
	return rec.imagesWhere(func(img *journalImage) bool { return img.sent || img.changeSent() })
}

func (rec *JournalRecord) imagesWhere(keep func(*journalImage) bool) map[string][]string {
	out := map[string][]string{}
	for _, k := range rec.order {
		if img := rec.images[k]; keep(img) {
			out[img.entry.Region] = append(out[img.entry.Region], img.entry.ImageID)
		}
	}
	return out
}

// Recovery codes, for what a journal alone cannot settle.
const (
	// CodeInterruptedInFlight: the process died while a real delete of the image was in flight,
	// and the image still exists.
	CodeInterruptedInFlight = "InterruptedInFlight"
	// CodeDeleteResultUnknown: a real delete was sent, and neither the journal nor a lookup could
	// say whether it took effect.
	CodeDeleteResultUnknown = "DeleteResultUnknown"
	// CodeDeleteNotConfirmed: the journal says deleted, but the image is still listed.
	CodeDeleteNotConfirmed = "DeleteNotConfirmed"
	// CodeChangeResultUnknown: a real change of staged retention (ModifyImageAttribute,
	// TagResources, UntagResources) was sent, and neither an answer, the journal nor a lookup could
	// say whether it took effect.
	CodeChangeResultUnknown = "ChangeResultUnknown"
	// CodeChangeNotConfirmed: the journal says the change was made (deprecated, restored, tagged),
	// but the lookup finds the image as it was.
	CodeChangeNotConfirmed = "ChangeNotConfirmed"
	// CodeImageGone: the image no longer exists, and this run did not delete it (the runner's
	// code of the same name).
	CodeImageGone = "ImageGone"
)

// DeprecatedAtTag is the tag staged retention puts on the images it deprecates
// (policy.DeprecatedAtTag), named in recover's messages.
const DeprecatedAtTag = "ecs-image-cleanup/deprecated-at"

// Image statuses that staged retention sets.
const (
	StatusDeprecated = "Deprecated"
	StatusAvailable  = "Available"
)

// Lookup says what a lookup found of the images whose real delete or change was sent:
// Exists[region][id] for the images still listed, and Found[region][id] what each of them is
// now; a region in Failed could not be looked up (why).
type Lookup struct {
	Exists map[string]map[string]bool
	Failed map[string]string
	Found  map[string]map[string]FoundImage
}

// FoundImage is what a lookup found of an image still listed.
type FoundImage struct {
	Status string
	// DeprecatedAt is the value of its DeprecatedAtTag tag; Tagged says it has one.
	DeprecatedAt string
	Tagged       bool
}

// Recover builds the report of the killed run: status interrupted. Each image has the last
// outcome the journal gives it, and then the lookup has the last word on every image whose real
// delete was sent: gone is deleted; still listed keeps a journal outcome other than deleted, else
// is failed (InterruptedInFlight, or DeleteNotConfirmed against a journal that says deleted); an
// image whose region could not be looked up keeps its outcome if the journal has one, else is
// failed (DeleteResultUnknown). An image whose real change of staged retention was sent is
// settled as settleChange says. An image with no outcome and nothing sent is not_attempted.
// The snapshots of deleted images get their journal outcome; a DeleteSnapshot sent without one is
// failed (DeleteResultUnknown), and one never sent is not_attempted.
func (rec *JournalRecord) Recover(lk Lookup, journalPath string, at time.Time) *Report {
	rep := New(rec.Command, rec.Policy.Path, nil, rec.StartedAt)
	rep.Policy = rec.Policy
	resolved := 0
	for _, k := range rec.order {
		img := rec.images[k]
		e := img.entry
		e.Snapshots = nil
		if !img.sent && img.changeSent() && settleChange(&e, img, lk) {
			resolved++
		}
		if img.sent {
			if why, failed := lk.Failed[e.Region]; failed {
				if e.Outcome == "" {
					e.Outcome, e.Code = Failed, CodeDeleteResultUnknown
					e.Message = "the process was killed after a real DeleteImage was sent, and the lookup failed: " + why + "; check whether the image still exists"
				}
			} else {
				resolved++
				switch exists := lk.Exists[e.Region][e.ImageID]; {
				case !exists && e.Outcome != Deleted:
					e.Outcome, e.Code = Deleted, ""
					e.Message = "the process was killed after a real DeleteImage was sent; the image is gone"
				case exists && e.Outcome == Deleted:
					e.Outcome, e.Code, e.Message = Failed, CodeDeleteNotConfirmed, "DeleteImage answered success but the image is still listed"
				case exists && e.Outcome == "":
					e.Outcome, e.Code = Failed, CodeInterruptedInFlight
					e.Message = "the process was killed while a real DeleteImage was in flight; the image still exists"
				}
			}
		}
		if e.Outcome == "" {
			e.Outcome, e.Message = NotAttempted, "not attempted: the process was killed before it reached the image"
		}
		if e.Outcome == Deleted || e.Outcome == WouldDelete {
			for _, s := range img.entry.Snapshots {
				e.Snapshots = append(e.Snapshots, rec.snapshot(e.Region, s))
			}
		}
		rep.Add(e)
	}
	msg := fmt.Sprintf("recovered from the journal %s: the run was killed before it wrote its report", journalPath)
	if rec.Torn {
		msg += "; its last line was cut short by the kill and left out"
	}
	rep.Warnings = append(rep.Warnings, msg+fmt.Sprintf("; %d images whose real delete or change was sent were looked up", resolved))
	for _, region := range slices.Sorted(maps.Keys(lk.Failed)) {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: could not look up the images whose delete or change was sent: %s", region, lk.Failed[region]))
	}
	rep.Finish(StatusInterrupted, at)
	return rep
}

// settleChange settles an image whose real change of staged retention was sent (and no
// DeleteImage), and reports whether the lookup told. The lookup has the last word on what it can
// see, the image's status and tag; where it cannot tell, the journal's outcome stands:
//   - the status sent (Deprecated by apply, Available by restore) is the image's now: deprecated
//     or restored, the message saying whether the tag is as the run left it (a Deprecated image
//     without it is tagged by the next apply, its grace period starting then);
//   - the image as it was: a journal outcome that claims the change is failed
//     (ChangeNotConfirmed), another stands, and none is failed (InterruptedInFlight);
//   - only TagResources sent (an image Deprecated before the run): tagged is skipped
//     (InGracePeriod), untagged as above;
//   - gone: skipped (ImageGone) unless the journal has an outcome: the run deleted nothing;
//   - the region's lookup failed: the journal's outcome, else failed (ChangeResultUnknown).
func settleChange(e *Entry, img *journalImage, lk Lookup) bool {
	what := ActionTagResources
	switch {
	case img.status != "":
		what = ActionModifyImageAttribute + " Status=" + img.status
	case !img.tag:
		what = ActionUntagResources
	}
	why, failed := lk.Failed[e.Region]
	f, found := lk.Found[e.Region][e.ImageID]
	if !failed && !found && lk.Exists[e.Region][e.ImageID] {
		why, failed = "the lookup did not say what the image is now", true
	}
	if failed {
		if e.Outcome == "" {
			e.Outcome, e.Code = Failed, CodeChangeResultUnknown
			e.Message = "the process was killed after a real " + what + " was sent, and the lookup failed: " + why +
				"; check the image's status and its " + DeprecatedAtTag + " tag"
		}
		return false
	}
	if !found {
		if e.Outcome == "" {
			e.Outcome, e.Code = Skipped, CodeImageGone
			e.Message = "the image is gone: the run sent it a real " + what + " but no DeleteImage; something else deleted it"
		}
		return true
	}
	// asWas settles an image the change did not reach.
	asWas := func(claimed bool, still string) {
		switch {
		case e.Outcome == "":
			e.Outcome, e.Code = Failed, CodeInterruptedInFlight
			e.Message = "the process was killed while a real " + what + " was in flight; " + still
		case claimed:
			e.Outcome, e.Code = Failed, CodeChangeNotConfirmed
			e.Message = what + " answered success, but " + still
		}
	}
	switch {
	case img.status == StatusAvailable && f.Status == StatusAvailable:
		switch {
		case f.Tagged:
			e.Message = "set back to Available; its " + DeprecatedAtTag + " tag is still there " + TagLeftHarmless
		case e.Outcome != Restored:
			e.Message = "set back to Available and its " + DeprecatedAtTag + " tag removed before the process was killed"
		}
		e.Outcome, e.Code = Restored, ""
	case img.status == StatusDeprecated && f.Status == StatusDeprecated:
		switch {
		case !f.Tagged:
			e.Message = "deprecated, without its " + DeprecatedAtTag + " tag (the process was killed before the run tagged it, or the tag did not take): " +
				UntaggedNext
		case e.Outcome != Deprecated:
			e.Message = "deprecated and tagged " + DeprecatedAtTag + "=" + f.DeprecatedAt + " before the process was killed"
		}
		e.Outcome, e.Code = Deprecated, ""
	case img.status != "":
		asWas(e.Outcome == Deprecated || e.Outcome == Restored, "the image is still "+f.Status)
	case img.tag && f.Tagged: // TagResources only: an image that was Deprecated without our tag
		if e.Outcome != Skipped || e.Code != CodeInGracePeriod {
			e.Outcome, e.Code = Skipped, CodeInGracePeriod
			e.Message = "Deprecated without our tag: tagged " + DeprecatedAtTag + "=" + f.DeprecatedAt + " before the process was killed; its grace period runs from then"
		}
	case img.tag:
		asWas(e.Outcome == Skipped && e.Code == CodeInGracePeriod, "the image is still without its "+DeprecatedAtTag+" tag: the next apply tags it")
	default: // UntagResources alone, which no run sends: what the journal says stands
		if e.Outcome == "" {
			e.Outcome, e.Code = Failed, CodeChangeResultUnknown
			e.Message = "the process was killed after a real UntagResources was sent, with no status change recorded before it; check the image"
		}
	}
	return true
}

func (rec *JournalRecord) snapshot(region string, s SnapshotEntry) SnapshotEntry {
	key := region + "/" + s.SnapshotID
	if got := rec.snaps[key]; got != nil {
		return *got
	}
	s.Outcome, s.Code = NotAttempted, ""
	s.Message = "not attempted: the process was killed before its snapshots"
	if rec.sent[key] {
		s.Outcome, s.Code = Failed, CodeDeleteResultUnknown
		s.Message = "the process was killed after DeleteSnapshot was sent: check whether the snapshot still exists"
	}
	return s
}
