// Package policy is the YAML policy that says which ECS custom images may be deleted: its types,
// its strict decoding and validation, and the pure selection functions that turn a region's image
// listing into one verdict per image. It makes no cloud calls; the runner lists and deletes.
//
// Safety comes first: an image is selected only if it is owned by the account, is in a deletable
// status, is named by an explicit id or matches every condition of a selector, and matches no
// protect rule. Everything about a file is checked when it is loaded, so that a policy that loads
// means one thing.
package policy

import (
	"errors"
	"fmt"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/internal/files"
)

// Bounds on the file itself. A policy is a short, human-written file; anything bigger is a
// mistake or an attack, and these bounds keep decoding well under a second and a few MiB.
const (
	// MaxFileSize is the largest policy file Load and Parse accept.
	MaxFileSize = 1 << 20
	// MaxNodes bounds the YAML nodes a policy may hold once aliases are expanded. It is high
	// enough for a one-off list of tens of thousands of image ids, and low enough that a
	// "billion laughs" file of nested aliases is refused before anything decodes it.
	MaxNodes = 100_000
	// maxSeparators bounds the bytes that delimit YAML nodes (see separators), checked before
	// the YAML library builds its tree. The library spends about 250 bytes per node, so a dense
	// 1 MiB file ("a,a,a,...") would take over 100 MiB before MaxNodes could be counted.
	maxSeparators = 250_000
)

// Defaults and ranges of the top-level settings.
const (
	DefaultConcurrency = 8   // concurrency when the file leaves it out
	MaxConcurrency     = 256 // more would only meet the service's rate limits
)

// SelectableStatuses are the statuses a selector matches when it names none, and the only
// statuses an image may have to be selected at all. Creating and Waiting images are never
// selectable: deleting an image that is still being made races the service.
var SelectableStatuses = []string{ecs.StatusAvailable, ecs.StatusUnAvailable, ecs.StatusCreateFailed, ecs.StatusDeprecated}

// Policy is a loaded and validated policy file. Load and Parse return it only when the file has
// no problem at all.
type Policy struct {
	// File is the name the policy was loaded under, for messages.
	File string
	// Version is the schema version; always 1.
	Version int
	// Concurrency is how many API calls may be in flight, all regions together.
	Concurrency int
	// Regions are the region entries in file order; region ids are unique.
	Regions []*Region
	// Protect holds the rules that protect images in every region.
	Protect Protect
	// Limits are the guards that abort apply before any real delete.
	Limits Limits
	// Warnings are things in the file worth a look that do not make it wrong, in file order:
	// a region id that is not in KnownRegions, with the nearest known one.
	Warnings []*Error
	// DeprecateFirst is the policy-wide deprecate_first, which a region's own overrides; 0 when
	// the file does not say. Region.DeprecateFirst holds the one that applies.
	DeprecateFirst time.Duration
}

// DeprecatedAtTag is the tag the job puts on an image it deprecates: its value is the time it
// did (RFC 3339, UTC), from which the grace period runs. Restore undoes only images with it.
const DeprecatedAtTag = "ecs-image-cleanup/deprecated-at"

// Region is one region entry: what it selects and how its images are deleted.
type Region struct {
	// ID is the region id, e.g. cn-hangzhou.
	ID string
	// Index is the entry's position in the file's regions list, for naming rules.
	Index int
	// Line and Column place the entry's region value in the file (1-based), for messages
	// about the region that only the service can judge, such as one the account does not have.
	Line, Column int
	// ImageIDs are the images the entry names explicitly, in file order. They are selected
	// whatever the selector says, but are still subject to ownership, status and protection.
	ImageIDs []string
	// Select is the entry's selector, or nil when the entry only names ids.
	Select *Selector
	// Force asks DeleteImage to delete an image even if instances use it. It is true only when
	// the file says force: true in so many words.
	Force bool
	// DeleteSnapshots asks for the snapshots of every image this region really deletes to be
	// deleted after it, unless another image or a disk still uses them. Like Force, only the
	// literal true turns it on.
	DeleteSnapshots bool
	// DeprecateFirst, when above 0, makes the region's retention staged: apply deprecates a
	// selected image first (ModifyImageAttribute Status=Deprecated, tagged DeprecatedAtTag) and
	// deletes only an image that has stayed Deprecated, and selected, this long. The region's
	// deprecate_first, else the policy-wide one; 0 deletes at once.
	DeprecateFirst time.Duration
	// Protect holds the rules that protect images in this region only.
	Protect Protect

	global *Protect // the policy-wide rules, checked after the region's own
}

// Selector is a region's conditions; an image is selected when it matches all of them.
type Selector struct {
	// Name is a path.Match glob on the image name; empty matches any name.
	Name string
	// Tags must all be present on the image with exactly these values.
	Tags map[string]string
	// OlderThan is the minimum age of a selected image; 0 means any age.
	OlderThan time.Duration
	// Statuses are the statuses a selected image may have; never Creating or Waiting.
	Statuses []string
	// KeepLatest, when above 0, keeps the KeepLatest newest images of each group (see GroupBy)
	// out of the selection; 0 means no retention.
	KeepLatest int
	// GroupBy is how KeepLatest groups images: GroupByFamily or GroupByNamePrefix; set exactly
	// when KeepLatest is.
	GroupBy string
}

// Protect is a set of protect rules. An image that matches any one of them is never deleted,
// however it was selected.
type Protect struct {
	// ImageIDs are protected image ids.
	ImageIDs []string
	// Tags protect an image that carries any one of these key and value pairs.
	Tags map[string]string
	// Names are path.Match globs; an image whose name matches any one is protected.
	Names []string
	// Referenced says whether images that a launch template version or an Auto Scaling
	// scaling configuration names are kept; nil when the block does not say. See
	// Region.ProtectReferenced.
	Referenced *bool

	field string // "protect" or "regions[i].protect", to name the rule that matched
}

// Limits are the guards apply checks before any real delete. Zero means no limit.
type Limits struct {
	// MaxDeletions caps the images deleted in one run, all regions together.
	MaxDeletions int
	// MaxDeletionPercent caps, per region, the deleted images as a percentage of all of the
	// region's own custom images.
	MaxDeletionPercent int
}

// ProtectReferenced reports whether the region's images that launch template versions or
// Auto Scaling scaling configurations still name are kept rather than deleted: the region's
// protect.referenced if it says, else the policy-wide one, else true. Only an explicit false
// turns the check off.
func (r *Region) ProtectReferenced() bool {
	if v := r.Protect.Referenced; v != nil {
		return *v
	}
	if r.global != nil && r.global.Referenced != nil {
		return *r.global.Referenced
	}
	return true
}

// Region returns the entry for a region id, or nil when the policy has none.
func (p *Policy) Region(id string) *Region {
	for _, r := range p.Regions {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Load reads and validates a policy file. A file that cannot be read, is not a regular file
// (a FIFO, a device: never waited on) or is over MaxFileSize yields a plain error naming it; a
// file with problems yields an *Errors holding every one of them.
func Load(path string) (*Policy, error) {
	data, err := files.ReadInput(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse validates a policy held in memory; name is used in messages as the file name. It returns
// an *Errors holding every problem, sorted by position, when there is any.
func Parse(name string, data []byte) (p *Policy, err error) {
	// The YAML library has panicked on hostile input before (CVE-2022-28948). A policy that makes
	// it panic is a bad policy, not a reason to crash the job.
	defer func() {
		if r := recover(); r != nil {
			p = nil
			err = &Errors{List: []*Error{{File: name, Msg: fmt.Sprintf("cannot decode policy: %v", r)}}}
		}
	}()
	d := &decoder{file: name}
	p = d.parse(data)
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, &Errors{List: d.errs}
	}
	if p == nil {
		return nil, errors.New("policy: internal error: no policy and no error")
	}
	return p, nil
}
