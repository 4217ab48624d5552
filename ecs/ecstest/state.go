package ecstest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// State is the initial content of an emulated account: one entry per region.
type State struct {
	Regions map[string]*Region `yaml:"regions"`
}

// Region holds the resources of one region.
type Region struct {
	Images    []Image    `yaml:"images"`
	Instances []Instance `yaml:"instances"`
	// Snapshots referenced by images' Snapshots are created implicitly if
	// not listed here.
	Snapshots []Snapshot `yaml:"snapshots"`
	// LaunchTemplates and ScalingConfigurations may name images; the service deletes a named
	// image all the same.
	LaunchTemplates       []LaunchTemplate       `yaml:"launch_templates,omitempty"`
	ScalingConfigurations []ScalingConfiguration `yaml:"scaling_configurations,omitempty"`
}

// Image is a custom, system, shared or marketplace image.
type Image struct {
	ID           string            `yaml:"id"`
	Name         string            `yaml:"name"`
	Family       string            `yaml:"family,omitempty"`
	CreationTime time.Time         `yaml:"creation_time"`
	Status       string            `yaml:"status,omitempty"`      // default Available
	OwnerAlias   string            `yaml:"owner_alias,omitempty"` // self (default), system, others, marketplace
	OwnerID      string            `yaml:"owner_id,omitempty"`    // numeric account id
	Tags         map[string]string `yaml:"tags,omitempty"`
	SizeGiB      int               `yaml:"size_gib,omitempty"` // default 20
	// Snapshots lists snapshot ids in DiskDeviceMappings order (system disk first).
	Snapshots   []string `yaml:"snapshots,omitempty"`
	SharedWith  []string `yaml:"shared_with,omitempty"`   // account ids the image is shared with
	SharedToAll bool     `yaml:"shared_to_all,omitempty"` // share group "all"
	IsPublic    bool     `yaml:"is_public,omitempty"`     // community image: DeleteImage answers ImageIsPublic
	Copying     bool     `yaml:"copying,omitempty"`
	Importing   bool     `yaml:"importing,omitempty"`
	Exporting   bool     `yaml:"exporting,omitempty"`
}

// Instance is an ECS instance; only its image matters to the emulator.
type Instance struct {
	ID      string `yaml:"id"`
	ImageID string `yaml:"image_id"`
	Status  string `yaml:"status,omitempty"` // default Running
}

// Snapshot is a disk snapshot.
type Snapshot struct {
	ID      string `yaml:"id"`
	SizeGiB int    `yaml:"size_gib,omitempty"`
	// UsedByDisks makes DeleteSnapshot answer SnapshotCreatedDisk unless Force=true.
	UsedByDisks bool `yaml:"used_by_disks,omitempty"`
	// Shared (with other accounts) makes DeleteSnapshot answer 403
	// InvalidOperation.DeleteSharedSnapshotUnsupported.
	Shared bool `yaml:"shared,omitempty"`
	// CreatingSnapshot (its disk is taking a snapshot now) makes DeleteSnapshot answer 400
	// IncorrectDiskStatus.CreatingSnapshot; Conflict (another operation holds it) 403
	// Operation.Conflict; RelatedNotFinished (a snapshot it relates to is not finished) 403
	// InvalidOperation.RelatedSnapshotNotFinished. These pass: see BusyFor.
	CreatingSnapshot   bool `yaml:"creating_snapshot,omitempty"`
	Conflict           bool `yaml:"conflict,omitempty"`
	RelatedNotFinished bool `yaml:"related_not_finished,omitempty"`
	// BusyFor is how many DeleteSnapshot requests the passing refusals above answer before
	// they clear; 0 means they never clear.
	BusyFor int `yaml:"busy_for,omitempty"`
}

// DefaultOwnerID is the account id reported for self-owned images without OwnerID.
const DefaultOwnerID = "1234567890123456"

var validStatus = map[string]bool{
	"Creating": true, "Waiting": true, "Available": true,
	"UnAvailable": true, "CreateFailed": true, "Deprecated": true,
}

var validOwnerAlias = map[string]bool{"self": true, "system": true, "others": true, "marketplace": true}

// LoadState reads a YAML state file. Unknown keys are errors.
func LoadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseState(data)
}

// ParseState decodes a YAML state document strictly (unknown keys are errors)
// and validates it.
func ParseState(data []byte) (*State, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var st State
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("ecstest: parse state: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	return &st, nil
}

// Validate checks that ids are present and unique (snapshot ids across all
// regions), that statuses and owner aliases are known values, and that launch
// template versions and defaults are consistent.
func (st *State) Validate() error {
	if st == nil {
		return nil
	}
	var errs []error
	snaps := map[string]string{}
	for rname, r := range st.Regions {
		if rname == "" {
			errs = append(errs, errors.New("empty region name"))
		}
		if r == nil {
			continue
		}
		imgs := map[string]bool{}
		for i, im := range r.Images {
			switch {
			case im.ID == "":
				errs = append(errs, fmt.Errorf("region %s: image #%d: empty id", rname, i))
			case imgs[im.ID]:
				errs = append(errs, fmt.Errorf("region %s: duplicate image id %s", rname, im.ID))
			}
			imgs[im.ID] = true
			if im.Status != "" && !validStatus[im.Status] {
				errs = append(errs, fmt.Errorf("region %s: image %s: unknown status %q", rname, im.ID, im.Status))
			}
			if im.OwnerAlias != "" && !validOwnerAlias[im.OwnerAlias] {
				errs = append(errs, fmt.Errorf("region %s: image %s: unknown owner_alias %q", rname, im.ID, im.OwnerAlias))
			}
		}
		insts := map[string]bool{}
		for i, in := range r.Instances {
			if in.ID == "" {
				errs = append(errs, fmt.Errorf("region %s: instance #%d: empty id", rname, i))
			} else if insts[in.ID] {
				errs = append(errs, fmt.Errorf("region %s: duplicate instance id %s", rname, in.ID))
			}
			insts[in.ID] = true
		}
		for i, sn := range r.Snapshots {
			if sn.ID == "" {
				errs = append(errs, fmt.Errorf("region %s: snapshot #%d: empty id", rname, i))
			} else if other, dup := snaps[sn.ID]; dup {
				errs = append(errs, fmt.Errorf("region %s: snapshot id %s already listed in region %s", rname, sn.ID, other))
			}
			snaps[sn.ID] = rname
		}
		errs = append(errs, validateRefs(rname, r)...)
	}
	if len(errs) > 0 {
		return fmt.Errorf("ecstest: invalid state: %w", errors.Join(errs...))
	}
	return nil
}

// Clone returns a deep copy of st.
func (st *State) Clone() *State {
	out := &State{Regions: map[string]*Region{}}
	if st == nil {
		return out
	}
	for name, r := range st.Regions {
		nr := &Region{}
		if r != nil {
			nr.Images = make([]Image, len(r.Images))
			for i, im := range r.Images {
				nr.Images[i] = im.clone()
			}
			nr.Instances = append([]Instance(nil), r.Instances...)
			nr.Snapshots = append([]Snapshot(nil), r.Snapshots...)
			nr.LaunchTemplates, nr.ScalingConfigurations = cloneRefs(r)
		}
		out.Regions[name] = nr
	}
	return out
}

func (im Image) clone() Image {
	if im.Tags != nil {
		t := make(map[string]string, len(im.Tags))
		for k, v := range im.Tags {
			t[k] = v
		}
		im.Tags = t
	}
	im.Snapshots = append([]string(nil), im.Snapshots...)
	im.SharedWith = append([]string(nil), im.SharedWith...)
	return im
}

// GenerateImages returns n self-owned Available images for large tests, all
// created at created, with ids "m-<prefix><index>" (index 1..n zero-padded to
// the width of n), names "<prefix>-<index>" and one snapshot
// "s-<prefix><index>" each. prefix is lower-cased and must be [a-z0-9]*.
func GenerateImages(n int, prefix string, created time.Time) []Image {
	prefix = strings.ToLower(prefix)
	width := len(strconv.Itoa(n))
	out := make([]Image, n)
	for i := range out {
		idx := fmt.Sprintf("%0*d", width, i+1)
		out[i] = Image{
			ID:           "m-" + prefix + idx,
			Name:         prefix + "-" + idx,
			CreationTime: created,
			Status:       "Available",
			OwnerAlias:   "self",
			SizeGiB:      20,
			Snapshots:    []string{"s-" + prefix + idx},
		}
	}
	return out
}
