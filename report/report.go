// Package report is the job's JSON report (schema v1), its atomic writer and the human summary.
// Field names are a contract with the users who parse the report: add fields, never rename them.
package report

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"time"
)

// SchemaVersion is the version of the JSON report this package writes.
const SchemaVersion = 1

// Outcome is what became of one selected image.
type Outcome string

// The outcomes. Every selected image ends with exactly one.
const (
	Deleted      Outcome = "deleted"       // apply: the real delete succeeded
	WouldDelete  Outcome = "would_delete"  // plan: the DryRun passed
	Blocked      Outcome = "blocked"       // a business refusal, with its code
	Failed       Outcome = "failed"        // anything else, after retries
	Skipped      Outcome = "skipped"       // protected or still referenced, or an explicit id that is missing or not ours
	NotAttempted Outcome = "not_attempted" // never reached: interrupted, aborted or its region stopped
	// Deprecated (apply, staged retention): the image was set Deprecated and tagged with the time;
	// a later run deletes it once the grace period is over.
	Deprecated Outcome = "deprecated"
	// WouldDeprecate (plan, staged retention): its DryRun ModifyImageAttribute passed.
	WouldDeprecate Outcome = "would_deprecate"
	// Restored (restore): an image the job deprecated was set back to Available and its tag removed.
	Restored Outcome = "restored"
	// Kept is a snapshot's outcome only: another image or a disk still uses it, so it stays.
	Kept Outcome = "kept"
)

// CodeInGracePeriod is the code of a skipped image that staged retention deprecated and that is
// not yet eligible for deletion: its EligibleAt (and its message) says when it will be.
const CodeInGracePeriod = "InGracePeriod"

// What an image whose status changed, but whose tag call did not follow, needs next: the run or
// the process stopped first. The runner and recover say the same.
const (
	UntaggedNext    = "the next apply tags it, and its grace period starts then"
	TagLeftHarmless = "(harmless: an apply that selects it again deprecates it anew and replaces the tag; remove it by hand if you like)"
)

// Run statuses.
const (
	StatusCompleted   = "completed"
	StatusInterrupted = "interrupted"
	StatusAborted     = "aborted"
	// StatusPartial is a run that completed except for one or more regions that could not be
	// processed (their RegionTotal.Error says why). Finish gives it, not its callers.
	StatusPartial = "partial"
)

// Report is the whole JSON report.
type Report struct {
	SchemaVersion int                     `json:"schema_version"`
	Command       string                  `json:"command"`
	Status        string                  `json:"status"`
	StartedAt     time.Time               `json:"started_at"`
	FinishedAt    time.Time               `json:"finished_at"`
	Policy        PolicyRef               `json:"policy"`
	Summary       Summary                 `json:"summary"`
	ByCode        map[string]int          `json:"by_code"`
	Regions       map[string]*RegionTotal `json:"regions"`
	Images        []Entry                 `json:"images"`
	// Fault names a fault that stopped the whole run, such as a service that did not honour
	// DryRun or a guard that aborted apply; empty when there was none.
	Fault string `json:"fault,omitempty"`
	// RetryFrom names the earlier report whose failed and not_attempted images this run was
	// limited to (--retry-from); empty for a full run.
	RetryFrom string `json:"retry_from,omitempty"`
	// ConfirmationSeconds is how long apply waited at the confirmation prompt: left out of the
	// run's elapsed time and rates, which measure the job, not the person.
	ConfirmationSeconds float64 `json:"confirmation_seconds,omitempty"`
	// Plan names the reviewed plan this apply carried out (--plan); empty otherwise.
	Plan string `json:"plan,omitempty"`
	// Warnings are findings that did not change any outcome, such as a guard plan would trip.
	Warnings []string `json:"warnings,omitempty"`

	snapSeen map[string]bool // "region/snapshot_id" already counted: shared snapshots count once
}

// PolicyRef identifies the policy a run followed.
type PolicyRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Summary counts outcomes. The outcome counts always sum to Selected.
type Summary struct {
	Selected     int `json:"selected"`
	Deleted      int `json:"deleted"`
	WouldDelete  int `json:"would_delete"`
	Blocked      int `json:"blocked"`
	Failed       int `json:"failed"`
	Skipped      int `json:"skipped"`
	NotAttempted int `json:"not_attempted"`
	// Deprecated and WouldDeprecate count staged retention's first step (absent when 0).
	Deprecated     int `json:"deprecated,omitempty"`
	WouldDeprecate int `json:"would_deprecate,omitempty"`
	// Restored counts restore's images set back to Available (absent when 0).
	Restored int `json:"restored,omitempty"`
	// ImageGiB is the total size of the images deleted, or in plan of those that would be.
	ImageGiB int `json:"image_gib"`
	// SnapshotGiB is the total size of the snapshots deleted, or in plan of those that would be,
	// each snapshot counted once.
	SnapshotGiB int `json:"snapshot_gib"`
	// Snapshots counts the outcomes of the snapshots of deleted images (delete_snapshots).
	Snapshots SnapshotSummary `json:"snapshots"`
}

// SnapshotSummary counts snapshot outcomes, each snapshot once even when two deleted images
// shared it. The outcome counts always sum to Total.
type SnapshotSummary struct {
	Total        int `json:"total"`
	Deleted      int `json:"deleted"`
	WouldDelete  int `json:"would_delete"`
	Kept         int `json:"kept"`
	Failed       int `json:"failed"`
	Skipped      int `json:"skipped"`
	NotAttempted int `json:"not_attempted"`
}

// RegionTotal is one region's share of the counts.
type RegionTotal struct {
	Summary Summary        `json:"summary"`
	ByCode  map[string]int `json:"by_code"`
	// Error says why the region could not be processed, such as a listing that failed; its
	// other regions went on. Empty when it could.
	Error string `json:"error,omitempty"`
	// ErrorCode is the service's code (or ours) behind Error, such as InvalidAccessKeyId.NotFound.
	ErrorCode string `json:"error_code,omitempty"`
}

// Entry is one selected image's outcome.
type Entry struct {
	Region    string  `json:"region"`
	ImageID   string  `json:"image_id"`
	Name      string  `json:"name"`
	Outcome   Outcome `json:"outcome"`
	Code      string  `json:"code"`
	Message   string  `json:"message"`
	RequestID string  `json:"request_id"`
	Attempts  int     `json:"attempts"`
	// SizeGiB is the image's size as DescribeImages gave it; 0 when the image was not found.
	SizeGiB int `json:"size_gib"`
	// Blockers explains a blocked image: what holds it and what to do about it. Set for blocked
	// entries only.
	Blockers *Blockers `json:"blockers,omitempty"`
	// Snapshots are the image's snapshots and what became of each, for an image deleted (or
	// that plan would delete) in a region with delete_snapshots.
	Snapshots []SnapshotEntry `json:"snapshots,omitempty"`
	// ReferencedBy names what still launches from an image kept for that reason: launch
	// template versions as "TEMPLATE_ID:VERSION" and Auto Scaling scaling configurations by id.
	ReferencedBy []string `json:"referenced_by,omitempty"`
	// LastInFamily marks a deletion (in plan, one to come) that leaves the image's family without
	// an Available image: instances launched by family then fail. Warnings says so too.
	LastInFamily bool `json:"last_in_family,omitempty"`
	// CreatedAt and Family are the image's, as DescribeImages gave them; unset when the image
	// was not found.
	CreatedAt *time.Time `json:"created_at,omitempty"`
	Family    string     `json:"family,omitempty"`
	// SelectedBy says what in the policy selected the image: "image_ids" (an explicit id, which
	// wins) or "select".
	SelectedBy string `json:"selected_by,omitempty"`
	// ProtectedBy names the rule that kept a skipped image: a protect rule with its value
	// (`protect.names[0] "golden-*"`, `regions[0].protect.tags.keep`), `protect.referenced`, or
	// keep_latest with the image's rank in its group.
	ProtectedBy string `json:"protected_by,omitempty"`
	// EligibleAt (staged retention) is when an image deprecated (deprecated, would_deprecate) or
	// in its grace period (skipped, CodeInGracePeriod) becomes eligible for deletion: its
	// deprecated-at tag time plus the region's deprecate_first. Unset for other outcomes, and in
	// a report that recover built from a journal, whose message still says it.
	EligibleAt *time.Time `json:"eligible_at,omitempty"`
}

// Blockers is what keeps a blocked image, as far as the job looked it up.
type Blockers struct {
	// Instances are the instances created from the image (ImageUsingByInstance), every page of
	// DescribeInstances.
	Instances []string `json:"instances,omitempty"`
	// SharedWith are the accounts the image is shared with (ImageUseShared).
	SharedWith []string `json:"shared_with,omitempty"`
	// PublishedToAll reports an image shared with the group "all" (ImageUseShared).
	PublishedToAll bool `json:"published_to_all,omitempty"`
	// Remediation is what a person does about the code, in one line.
	Remediation string `json:"remediation"`
	// LookupError says why the lookup of instances or accounts failed or was not made; empty when
	// it succeeded or the code needs none.
	LookupError string `json:"lookup_error,omitempty"`
}

// SnapshotEntry is one snapshot of a deleted image and what became of it.
type SnapshotEntry struct {
	SnapshotID string `json:"snapshot_id"`
	// SizeGiB is the size DescribeImages gave for the snapshot's disk.
	SizeGiB int `json:"size_gib"`
	// Outcome is deleted, would_delete (plan), kept (another image or a disk uses it: Code says
	// which), failed, skipped (it no longer existed) or not_attempted.
	Outcome Outcome `json:"outcome"`
	Code    string  `json:"code"`
	Message string  `json:"message"`
	// UsedBy names the images that still use a snapshot kept with SnapshotCreatedImage, when
	// the listing showed them.
	UsedBy []string `json:"used_by,omitempty"`
	// Remediation is what a person does about a kept snapshot, in one line.
	Remediation string `json:"remediation,omitempty"`
	RequestID   string `json:"request_id"`
	Attempts    int    `json:"attempts"`
}

// New starts a report for command ("plan" or "apply") over the policy file's bytes.
func New(command, policyPath string, policy []byte, started time.Time) *Report {
	sum := sha256.Sum256(policy)
	return &Report{
		SchemaVersion: SchemaVersion,
		Command:       command,
		Status:        StatusCompleted,
		StartedAt:     started.UTC(),
		Policy:        PolicyRef{Path: policyPath, SHA256: hex.EncodeToString(sum[:])},
		ByCode:        map[string]int{},
		Regions:       map[string]*RegionTotal{},
		Images:        []Entry{},
		snapSeen:      map[string]bool{},
	}
}

// Working is how long the run worked: from its start to its end, the confirmation prompt left out.
func (r *Report) Working() time.Duration {
	return r.FinishedAt.Sub(r.StartedAt) - time.Duration(r.ConfirmationSeconds*float64(time.Second))
}

// AddRegion makes a region appear in the report even when it selected nothing.
func (r *Report) AddRegion(region string) *RegionTotal {
	rt := r.Regions[region]
	if rt == nil {
		rt = &RegionTotal{ByCode: map[string]int{}}
		r.Regions[region] = rt
	}
	return rt
}

// Add records one image's outcome and counts it, with its size and its snapshots. A snapshot
// that an earlier entry of the region already listed is not counted again.
func (r *Report) Add(e Entry) {
	r.Images = append(r.Images, e)
	rt := r.AddRegion(e.Region)
	r.Summary.count(e.Outcome)
	rt.Summary.count(e.Outcome)
	if (e.Outcome == Blocked || e.Outcome == Failed) && e.Code != "" {
		r.ByCode[e.Code]++
		rt.ByCode[e.Code]++
	}
	if e.Outcome == Deleted || e.Outcome == WouldDelete {
		r.Summary.ImageGiB += e.SizeGiB
		rt.Summary.ImageGiB += e.SizeGiB
	}
	if r.snapSeen == nil {
		r.snapSeen = map[string]bool{}
	}
	for _, s := range e.Snapshots {
		key := e.Region + "/" + s.SnapshotID
		if r.snapSeen[key] {
			continue
		}
		r.snapSeen[key] = true
		r.Summary.countSnapshot(s)
		rt.Summary.countSnapshot(s)
	}
}

func (s *Summary) countSnapshot(e SnapshotEntry) {
	ss := &s.Snapshots
	ss.Total++
	switch e.Outcome {
	case Deleted:
		ss.Deleted++
		s.SnapshotGiB += e.SizeGiB
	case WouldDelete:
		ss.WouldDelete++
		s.SnapshotGiB += e.SizeGiB
	case Kept:
		ss.Kept++
	case Failed:
		ss.Failed++
	case Skipped:
		ss.Skipped++
	default:
		ss.NotAttempted++
	}
}

func (s *Summary) count(o Outcome) {
	s.Selected++
	switch o {
	case Deleted:
		s.Deleted++
	case WouldDelete:
		s.WouldDelete++
	case Blocked:
		s.Blocked++
	case Failed:
		s.Failed++
	case Skipped:
		s.Skipped++
	case Deprecated:
		s.Deprecated++
	case WouldDeprecate:
		s.WouldDeprecate++
	case Restored:
		s.Restored++
	default:
		s.NotAttempted++
	}
}

// Finish stamps the end of the run and orders the entries by region and image id, so that two
// runs over the same account produce comparable reports. A run that completed with a region
// that could not be processed is StatusPartial: "completed" would hide the region's failure.
func (r *Report) Finish(status string, at time.Time) {
	if status == StatusCompleted && r.regionFailed() {
		status = StatusPartial
	}
	r.Status = status
	r.FinishedAt = at.UTC()
	sort.Slice(r.Images, func(i, j int) bool {
		a, b := r.Images[i], r.Images[j]
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.ImageID < b.ImageID
	})
}

// regionFailed reports whether a region could not be processed.
func (r *Report) regionFailed() bool {
	for _, rt := range r.Regions {
		if rt.Error != "" {
			return true
		}
	}
	return false
}
