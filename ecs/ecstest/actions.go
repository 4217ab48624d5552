package ecstest

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

func missing(name string) *apiError {
	return errf(400, "MissingParameter", "The input parameter \"%s\" that is mandatory for processing this request is not supplied.", name)
}

func intParam(p params, name string, def, lo, hi int, code string) (int, *apiError) {
	v, ok := p[name]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errf(400, code, "The specified parameter \"%s\" is not valid.", name)
	}
	return n, nil
}

func boolParam(p params, name string) (bool, *apiError) {
	switch v := p[name]; {
	case v == "" || strings.EqualFold(v, "false"):
		return false, nil
	case strings.EqualFold(v, "true"):
		return true, nil
	}
	return false, errf(400, "InvalidParameter", "The specified parameter \"%s\" is not valid.", name)
}

// region returns the region named by RegionId; the caller holds s.mu.
func (s *Server) region(p params) (*regionState, *apiError) {
	id, ok := p["RegionId"]
	if !ok || id == "" {
		return nil, missing("RegionId")
	}
	rs := s.regions[id]
	if rs == nil {
		return nil, errf(404, "InvalidRegionId.NotFound", "The specified RegionId does not exist.")
	}
	return rs, nil
}

// ---- DescribeImages ----

type tagJSON struct {
	TagKey   string
	TagValue string
}

type diskMappingJSON struct {
	SnapshotId string
	Size       string
	Device     string
	Type       string
	Format     string
}

type imageJSON struct {
	ImageId            string
	ImageName          string
	ImageFamily        string
	ImageVersion       string
	Description        string
	CreationTime       string
	Status             string
	Progress           string
	Usage              string
	IsCopied           bool
	IsSelfShared       string
	ImageOwnerAlias    string
	ImageOwnerId       *int64 `json:",omitempty"`
	Size               int
	IsPublic           bool
	IsSubscribed       bool
	OSType             string
	OSName             string
	Platform           string
	Architecture       string
	ResourceGroupId    string
	Tags               struct{ Tag []tagJSON }
	DiskDeviceMappings struct {
		DiskDeviceMapping []diskMappingJSON
	}
}

type describeImagesResp struct {
	RequestId  string
	RegionId   string
	TotalCount int
	PageNumber int
	PageSize   int
	Images     struct{ Image []imageJSON }
}

type tagFilter struct {
	key, value string
	hasValue   bool
}

const filterTimeLayout = "2006-01-02T15:04Z"

func parseFilterTime(v string) (time.Time, bool) {
	if t, err := time.Parse(filterTimeLayout, v); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// indexed parses "<prefix><n>.<field>" keys, n in 1..max.
func indexed(p params, prefix string, max int) (map[int]map[string]string, *apiError) {
	out := map[int]map[string]string{}
	for k, v := range p {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		ns, field, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(ns)
		if !ok || err != nil || n < 1 || n > max || (field != "Key" && field != "Value") {
			return nil, errf(400, "InvalidParameter", "The specified parameter \"%s\" is not valid.", k)
		}
		if out[n] == nil {
			out[n] = map[string]string{}
		}
		out[n][field] = v
	}
	return out, nil
}

func (s *Server) describeImages(p params, c *Call, _ *faultDraw) (any, *apiError, bool) {
	pageNumber, pageSize, e := paging(p, 100)
	if e != nil {
		return nil, e, false
	}
	statuses := map[string]bool{"Available": true}
	if v := p["Status"]; v != "" {
		statuses = map[string]bool{}
		for _, st := range strings.Split(v, ",") {
			st = strings.TrimSpace(st)
			if !validStatus[st] {
				return nil, errf(400, "InvalidStatus.ValueNotSupported", "The specified parameter \"Status\" is not valid."), false
			}
			statuses[st] = true
		}
	}
	owner := p["ImageOwnerAlias"]
	if owner != "" && !validOwnerAlias[owner] {
		return nil, errf(400, "InvalidImageOwnerAlias.ValueNotSupported", "The specified parameter \"ImageOwnerAlias\" is not valid."), false
	}
	usage := p["Usage"]
	if usage != "" && usage != "instance" && usage != "none" {
		return nil, errf(400, "InvalidUsage.ValueNotSupported", "The specified parameter \"Usage\" is not valid."), false
	}
	var isPublic *bool
	if v, ok := p["IsPublic"]; ok && v != "" {
		b, e := boolParam(p, "IsPublic")
		if e != nil {
			return nil, e, false
		}
		isPublic = &b
	}
	var ids map[string]bool
	if v := p["ImageId"]; v != "" {
		ids = map[string]bool{}
		for _, id := range strings.Split(v, ",") {
			ids[strings.TrimSpace(id)] = true
		}
	}
	tagsIdx, e := indexed(p, "Tag.", 20)
	if e != nil {
		return nil, e, false
	}
	var tags []tagFilter
	for n, kv := range tagsIdx {
		k, ok := kv["Key"]
		if !ok || k == "" {
			return nil, missing("Tag." + strconv.Itoa(n) + ".Key"), false
		}
		v, hasV := kv["Value"]
		tags = append(tags, tagFilter{key: k, value: v, hasValue: hasV})
	}
	filters, e := indexed(p, "Filter.", 1<<10)
	if e != nil {
		return nil, e, false
	}
	var start, end time.Time
	for _, kv := range filters {
		t, ok := parseFilterTime(kv["Value"])
		if !ok {
			return nil, errf(400, "InvalidParameter.Filter", "The specified filter value %q is not valid, use yyyy-MM-ddTHH:mmZ.", kv["Value"]), false
		}
		switch kv["Key"] {
		case "CreationStartTime":
			start = t
		case "CreationEndTime":
			end = t
		default:
			return nil, errf(400, "InvalidParameter.Filter", "The specified filter key %q is not valid.", kv["Key"]), false
		}
	}
	name, family, snap := p["ImageName"], p["ImageFamily"], p["SnapshotId"]

	s.mu.Lock()
	defer s.mu.Unlock()
	rs, e := s.region(p)
	if e != nil {
		return nil, e, false
	}
	tagCap := s.opts.TagQueryCap
	if tagCap == 0 {
		tagCap = DefaultTagQueryCap
	}
	resp := &describeImagesResp{RequestId: c.RequestID, RegionId: rs.name, PageNumber: pageNumber, PageSize: pageSize}
	resp.Images.Image = []imageJSON{}
	first := (pageNumber - 1) * pageSize
	images := rs.sortedImages
	if ids != nil {
		images = func() []*Image { return rs.imagesIn(ids) }
	}
	for _, im := range images() {
		// Without ImageOwnerAlias the service lists system, self, shared (others) and community
		// images, never marketplace ones: those only with ImageOwnerAlias=marketplace.
		if !statuses[im.Status] || ids != nil && !ids[im.ID] || owner != "" && im.OwnerAlias != owner ||
			owner == "" && im.OwnerAlias == "marketplace" ||
			name != "" && !strings.Contains(im.Name, name) || family != "" && im.Family != family ||
			isPublic != nil && im.IsPublic != *isPublic ||
			!start.IsZero() && im.CreationTime.Before(start) || !end.IsZero() && im.CreationTime.After(end) {
			continue
		}
		used := rs.instByImage[im.ID] > 0
		if usage == "instance" && !used || usage == "none" && used {
			continue
		}
		if snap != "" && !slices.Contains(im.Snapshots, snap) {
			continue
		}
		if !tagsMatch(im.Tags, tags) {
			continue
		}
		capped := len(tags) > 0 && tagCap > 0 && resp.TotalCount >= tagCap
		if capped && s.opts.TagQueryTotal != "all" {
			break
		}
		if !capped && resp.TotalCount >= first && resp.TotalCount < first+pageSize {
			resp.Images.Image = append(resp.Images.Image, s.imageJSON(rs, im, used))
		}
		resp.TotalCount++
	}
	return resp, nil, false
}

// DefaultTagQueryCap is the most images a tag-filtered DescribeImages finds, as the API
// reference says.
const DefaultTagQueryCap = 1000

func tagsMatch(have map[string]string, want []tagFilter) bool {
	for _, t := range want {
		v, ok := have[t.key]
		if !ok || t.hasValue && v != t.value {
			return false
		}
	}
	return true
}

func (s *Server) imageJSON(rs *regionState, im *Image, used bool) imageJSON {
	j := imageJSON{
		ImageId:         im.ID,
		ImageName:       im.Name,
		ImageFamily:     im.Family,
		CreationTime:    im.CreationTime.UTC().Format(dateLayout),
		Status:          im.Status,
		Progress:        "100%",
		Usage:           "none",
		IsSelfShared:    "False",
		ImageOwnerAlias: im.OwnerAlias,
		Size:            im.SizeGiB,
		IsPublic:        im.IsPublic,
		OSType:          "linux",
		OSName:          "Alibaba Cloud Linux 3",
		Platform:        "Aliyun",
		Architecture:    "x86_64",
	}
	if im.Status == "Creating" || im.Status == "Waiting" {
		j.Progress = "50%"
	}
	if used {
		j.Usage = "instance"
	}
	if len(im.SharedWith) > 0 || im.SharedToAll {
		j.IsSelfShared = "True"
	}
	if id, err := strconv.ParseInt(im.OwnerID, 10, 64); err == nil {
		j.ImageOwnerId = &id
	}
	j.Tags.Tag = make([]tagJSON, 0, len(im.Tags))
	for k, v := range im.Tags {
		j.Tags.Tag = append(j.Tags.Tag, tagJSON{TagKey: k, TagValue: v})
	}
	sortTags(j.Tags.Tag)
	j.DiskDeviceMappings.DiskDeviceMapping = make([]diskMappingJSON, 0, len(im.Snapshots))
	for i, sid := range im.Snapshots {
		m := diskMappingJSON{SnapshotId: sid, Device: "/dev/xvd" + string(rune('a'+i%26)), Type: "data", Format: ""}
		if i == 0 {
			m.Type = "system"
		}
		size := 0
		if sn := s.snapshots[sid]; sn != nil {
			size = sn.SizeGiB
		}
		if size == 0 {
			size = im.SizeGiB
		}
		m.Size = strconv.Itoa(size)
		j.DiskDeviceMappings.DiskDeviceMapping = append(j.DiskDeviceMappings.DiskDeviceMapping, m)
	}
	return j
}

func sortTags(t []tagJSON) {
	for i := 1; i < len(t); i++ {
		for j := i; j > 0 && t[j].TagKey < t[j-1].TagKey; j-- {
			t[j], t[j-1] = t[j-1], t[j]
		}
	}
}

// ---- DeleteImage ----

type requestIDResp struct{ RequestId string }

var (
	errDryRun     = errf(400, "DryRunOperation", "Request validation has been passed with DryRun flag set.")
	errNoImage    = errf(404, "InvalidImageId.NotFound", "The specified ImageId does not exist.")
	errCopying    = errf(403, "OperationDenied.ImageCopying", "The image is being copied. Please use the CancelCopyImage API.")
	errImporting  = errf(403, "ImageIsImporting", "The specified Image is importing.")
	errExporting  = errf(403, "ImageIsExporting", "The specified image is currently being exported. You can use the DescribeTasks API to check the status of related tasks and cancel them if needed.")
	errPublic     = errf(403, "ImageIsPublic", "You can not delete public image, please modify it to private.")
	errCreating   = errf(403, "ImageIsCreating", "The specified image is being created.")
	errShared     = errf(403, "ImageUseShared", "The specified image has been shared to others. You can use the DescribeImageSharePermission API to query the users who have been shared.")
	errUsedByInst = errf(403, "ImageUsingByInstance", "The specified image has been used to create instances. You can use the DescribeInstances API to query these instances, or you can use the force parameter to proceed.")
)

func (s *Server) deleteImage(p params, c *Call, d *faultDraw) (any, *apiError, bool) {
	if p["ImageId"] == "" {
		return nil, missing("ImageId"), false
	}
	force, e := boolParam(p, "Force")
	if e != nil {
		return nil, e, false
	}
	dry, e := boolParam(p, "DryRun")
	if e != nil {
		return nil, e, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, e := s.region(p)
	if e != nil {
		return nil, e, false
	}
	im := rs.images[p["ImageId"]]
	if im == nil || im.OwnerAlias != "self" {
		if s.opts.MissingImage != "ignore" {
			return nil, errNoImage, false
		}
		if dry && !s.opts.IgnoreDryRun {
			return nil, errDryRun, false
		}
		return &requestIDResp{RequestId: c.RequestID}, nil, false
	}
	switch {
	case im.Copying:
		return nil, errCopying, false
	case im.Importing:
		return nil, errImporting, false
	case im.Exporting:
		return nil, errExporting, false
	case im.IsPublic:
		return nil, errPublic, false
	case im.Status == "Creating" || im.Status == "Waiting":
		return nil, errCreating, false
	case len(im.SharedWith) > 0 || im.SharedToAll:
		return nil, errShared, false
	case rs.instByImage[im.ID] > 0 && !force:
		return nil, errUsedByInst, false
	}
	if dry && !s.opts.IgnoreDryRun {
		return nil, errDryRun, false
	}
	if d.unapplied < d.f.UnappliedDeleteRatio {
		return &requestIDResp{RequestId: c.RequestID}, nil, false
	}
	delete(rs.images, im.ID)
	rs.sorted = nil
	for _, sid := range im.Snapshots {
		if sn := s.snapshots[sid]; sn != nil {
			sn.refs--
		}
	}
	return afterDelete(c, d)
}

// afterDelete answers a real delete that took effect, with the faults that hide the effect: a
// dropped connection, a 500, or no answer at all.
func afterDelete(c *Call, d *faultDraw) (any, *apiError, bool) {
	c.Effect = true
	switch {
	case d.drop < d.f.DropAfterDeleteRatio:
		return &requestIDResp{RequestId: c.RequestID}, nil, true
	case d.after < d.f.ErrorAfterDeleteRatio:
		return nil, errf(500, "InternalError", "The request processing has failed due to some unknown error, exception or failure."), false
	case d.afterKind < d.f.StallAfterDeleteRatio:
		d.stall = true
	}
	return &requestIDResp{RequestId: c.RequestID}, nil, false
}

// ---- DescribeInstances ----

type instanceJSON struct {
	InstanceId   string
	InstanceName string
	ImageId      string
	Status       string
	RegionId     string
}

type describeInstancesResp struct {
	RequestId  string
	TotalCount int
	NextToken  string
	Instances  struct{ Instance []instanceJSON }
}

func (s *Server) describeInstances(p params, c *Call, _ *faultDraw) (any, *apiError, bool) {
	max, e := intParam(p, "MaxResults", 10, 1, 100, "InvalidParameter.MaxResults")
	if e != nil {
		return nil, e, false
	}
	offset := 0
	if tok := p["NextToken"]; tok != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(tok, "nt"), 16, 64)
		if !strings.HasPrefix(tok, "nt") || err != nil || n < 0 || n > 1<<40 {
			return nil, errf(400, "InvalidParameter.NextToken", "The specified parameter \"NextToken\" is not valid."), false
		}
		offset = int(n)
	}
	imageID := p["ImageId"]
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, e := s.region(p)
	if e != nil {
		return nil, e, false
	}
	resp := &describeInstancesResp{RequestId: c.RequestID}
	resp.Instances.Instance = []instanceJSON{}
	for _, in := range rs.instances {
		if imageID != "" && in.ImageID != imageID {
			continue
		}
		if resp.TotalCount >= offset && resp.TotalCount < offset+max {
			resp.Instances.Instance = append(resp.Instances.Instance, instanceJSON{
				InstanceId: in.ID, InstanceName: in.ID, ImageId: in.ImageID, Status: in.Status, RegionId: rs.name,
			})
		}
		resp.TotalCount++
	}
	if offset+max < resp.TotalCount {
		resp.NextToken = "nt" + strconv.FormatInt(int64(offset+max), 16)
	}
	return resp, nil, false
}

// ---- DescribeImageSharePermission ----

type describeSharePermResp struct {
	RequestId   string
	RegionId    string
	ImageId     string
	TotalCount  int
	PageNumber  int
	PageSize    int
	Accounts    struct{ Account []accountJSON }
	ShareGroups struct{ ShareGroup []shareGroupJSON }
}

type accountJSON struct {
	AliyunId   string
	SharedTime string
}

type shareGroupJSON struct{ Group string }

func (s *Server) describeImageSharePermission(p params, c *Call, _ *faultDraw) (any, *apiError, bool) {
	if p["ImageId"] == "" {
		return nil, missing("ImageId"), false
	}
	pageNumber, pageSize, e := paging(p, 100)
	if e != nil {
		return nil, e, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, e := s.region(p)
	if e != nil {
		return nil, e, false
	}
	im := rs.images[p["ImageId"]]
	if im == nil || im.OwnerAlias != "self" {
		return nil, errNoImage, false
	}
	resp := &describeSharePermResp{
		RequestId: c.RequestID, RegionId: rs.name, ImageId: im.ID,
		TotalCount: len(im.SharedWith), PageNumber: pageNumber, PageSize: pageSize,
	}
	resp.Accounts.Account = []accountJSON{}
	resp.ShareGroups.ShareGroup = []shareGroupJSON{}
	shared := im.CreationTime.Add(time.Hour).UTC().Format(dateLayout)
	for i := (pageNumber - 1) * pageSize; i >= 0 && i < len(im.SharedWith) && i < pageNumber*pageSize; i++ {
		resp.Accounts.Account = append(resp.Accounts.Account, accountJSON{AliyunId: im.SharedWith[i], SharedTime: shared})
	}
	if im.SharedToAll {
		resp.ShareGroups.ShareGroup = append(resp.ShareGroups.ShareGroup, shareGroupJSON{Group: "all"})
	}
	return resp, nil, false
}

// ---- DeleteSnapshot ----

func (s *Server) deleteSnapshot(p params, c *Call, d *faultDraw) (any, *apiError, bool) {
	id := p["SnapshotId"]
	if id == "" {
		return nil, missing("SnapshotId"), false
	}
	force, e := boolParam(p, "Force")
	if e != nil {
		return nil, e, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.snapshots[id]
	if sn != nil && s.hostRegion(c) != "" && sn.region != s.hostRegion(c) {
		sn = nil // another region's snapshot: this region's endpoint does not know it
	}
	if sn == nil {
		if s.opts.MissingSnapshot == "ignore" {
			return &requestIDResp{RequestId: c.RequestID}, nil, false
		}
		return nil, errf(404, "InvalidSnapshotId.NotFound", "The specified SnapshotId does not exist."), false
	}
	if c.Region == "" {
		c.Region = sn.region
	}
	if sn.CreatingSnapshot || sn.Conflict || sn.RelatedNotFinished {
		var e *apiError
		switch {
		case sn.CreatingSnapshot:
			e = errf(400, "IncorrectDiskStatus.CreatingSnapshot", "A snapshot is being created for the disk. Please try again later.")
		case sn.Conflict:
			e = errf(403, "Operation.Conflict", "The operation may conflicts with others.")
		default:
			e = errf(403, "InvalidOperation.RelatedSnapshotNotFinished", "The related snapshot of the specified snapshot is not finished.")
		}
		if sn.BusyFor > 0 {
			if sn.busy++; sn.busy >= sn.BusyFor {
				sn.CreatingSnapshot, sn.Conflict, sn.RelatedNotFinished = false, false, false
			}
		}
		return nil, e, false
	}
	if sn.Shared {
		return nil, errf(403, "InvalidOperation.DeleteSharedSnapshotUnsupported", "Deleting a shared snapshot is not supported; unshare it first."), false
	}
	if sn.refs > 0 {
		return nil, errf(403, "SnapshotCreatedImage", "The specified snapshot has been used to create custom image, please delete the image before deleting the snapshot."), false
	}
	if sn.UsedByDisks && !force {
		return nil, errf(403, "SnapshotCreatedDisk", "The specified snapshot has been used to create disk, please use the force parameter to delete it."), false
	}
	delete(s.snapshots, id)
	return afterDelete(c, d)
}

// ---- DescribeRegions ----

type regionJSON struct {
	RegionId       string
	LocalName      string
	RegionEndpoint string
	Status         string
}

type describeRegionsResp struct {
	RequestId string
	Regions   struct{ Region []regionJSON }
}

// describeRegions lists the account's regions: those of the state and Options.Regions, sorted
// by id. It takes no RegionId; each region's endpoint is its ecs.<region>.aliyuncs.com.
func (s *Server) describeRegions(_ params, c *Call, _ *faultDraw) (any, *apiError, bool) {
	s.mu.Lock()
	ids := make([]string, 0, len(s.regions))
	for id := range s.regions {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	slices.Sort(ids)
	resp := &describeRegionsResp{RequestId: c.RequestID}
	resp.Regions.Region = make([]regionJSON, 0, len(ids))
	for _, id := range ids {
		resp.Regions.Region = append(resp.Regions.Region, regionJSON{
			RegionId: id, LocalName: id, RegionEndpoint: "ecs." + id + ".aliyuncs.com", Status: "available",
		})
	}
	return resp, nil, false
}
