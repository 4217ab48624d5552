package ecstest

import (
	"slices"
	"strconv"
	"strings"
)

// The calls of staged retention: ModifyImageAttribute (Status Deprecated or Available), the tag
// calls for ResourceType image, and DescribeImageFromFamily, which skips Deprecated images.

// CodeDeprecateShared is the emulator's answer (403) to ModifyImageAttribute Status=Deprecated of
// a shared image. The API reference says a shared image must be unshared before it can be
// Deprecated, but its error table names no code for it; the emulator answers the code the service
// gives DeleteImage for the same condition, ImageUseShared, so that a job handles the refusal as
// the one business refusal it is.
const CodeDeprecateShared = "ImageUseShared"

// CodeSameStatus is the emulator's answer (403) to ModifyImageAttribute of the Status the image
// already has, when Options.SameStatus is "error". The API reference says nothing of such a
// request; the code is the emulator's guess, in the style of the service's image refusals.
const CodeSameStatus = "IncorrectImageStatus"

var errSameStatus = errf(403, CodeSameStatus, "The current status of the image does not support this operation.")

var errDeprecateShared = errf(403, CodeDeprecateShared, "The specified image has been shared to others and cannot be deprecated. You can use the ModifyImageSharePermission API to unshare it.")

// ---- ModifyImageAttribute ----

func (s *Server) modifyImageAttribute(p params, c *Call, d *faultDraw) (any, *apiError, bool) {
	if p["ImageId"] == "" {
		return nil, missing("ImageId"), false
	}
	dry, e := boolParam(p, "DryRun")
	if e != nil {
		return nil, e, false
	}
	status := p["Status"]
	if status != "" && status != "Deprecated" && status != "Available" {
		return nil, errf(400, "InvalidStatus.ValueNotSupported", "The specified parameter \"Status\" is not valid."), false
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
	if status != "" {
		switch {
		case im.Status == "Creating" || im.Status == "Waiting":
			return nil, errCreating, false
		case status == "Deprecated" && (len(im.SharedWith) > 0 || im.SharedToAll):
			return nil, errDeprecateShared, false
		case status == im.Status && s.opts.SameStatus == "error":
			return nil, errSameStatus, false
		}
	}
	if dry && !s.opts.IgnoreDryRun {
		return nil, errDryRun, false
	}
	if d.unapplied < d.f.UnappliedDeleteRatio {
		return &requestIDResp{RequestId: c.RequestID}, nil, false
	}
	if status != "" && im.Status != status {
		im.Status = status
	}
	return afterDelete(c, d)
}

// ---- TagResources, UntagResources, ListTagResources ----

// tagTarget reads the region, ResourceType (image only) and ResourceId.N of a tag call; the
// caller holds s.mu. Every id must be one of the region's own images.
func (s *Server) tagTarget(p params, maxIDs int, need bool) (*regionState, []*Image, *apiError) {
	switch rt := p["ResourceType"]; {
	case rt == "":
		return nil, nil, missing("ResourceType")
	case !strings.EqualFold(rt, "image"):
		return nil, nil, errf(400, "InvalidResourceType.NotSupported", "The specified ResourceType %q is not supported by the emulator.", rt)
	}
	ids, e := repeated(p, "ResourceId.", maxIDs)
	if e != nil {
		return nil, nil, e
	}
	if need && len(ids) == 0 {
		return nil, nil, missing("ResourceId.1")
	}
	rs, e := s.region(p)
	if e != nil {
		return nil, nil, e
	}
	ims := make([]*Image, 0, len(ids))
	for _, id := range ids {
		im := rs.images[id]
		if im == nil || im.OwnerAlias != "self" {
			return nil, nil, errf(404, "InvalidResourceId.NotFound", "The specified ResourceIds are not found in our records.")
		}
		ims = append(ims, im)
	}
	return rs, ims, nil
}

// maxTags is the most tags a resource may carry.
const maxTags = 20

func (s *Server) tagResources(p params, c *Call, d *faultDraw) (any, *apiError, bool) {
	tagsIdx, e := indexed(p, "Tag.", maxTags)
	if e != nil {
		return nil, e, false
	}
	if len(tagsIdx) == 0 {
		return nil, missing("Tag.1.Key"), false
	}
	tags := map[string]string{}
	for n, kv := range tagsIdx {
		k := kv["Key"]
		if k == "" {
			return nil, missing("Tag." + strconv.Itoa(n) + ".Key"), false
		}
		tags[k] = kv["Value"]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ims, e := s.tagTarget(p, 50, true)
	if e != nil {
		return nil, e, false
	}
	for _, im := range ims {
		n := len(im.Tags)
		for k := range tags {
			if _, ok := im.Tags[k]; !ok {
				n++
			}
		}
		if n > maxTags {
			return nil, errf(400, "InvalidTagCount", "The number of tags on a resource cannot exceed %d.", maxTags), false
		}
	}
	if d.unapplied < d.f.UnappliedDeleteRatio {
		return &requestIDResp{RequestId: c.RequestID}, nil, false
	}
	for _, im := range ims {
		if im.Tags == nil {
			im.Tags = map[string]string{}
		}
		for k, v := range tags {
			im.Tags[k] = v
		}
	}
	return afterDelete(c, d)
}

func (s *Server) untagResources(p params, c *Call, d *faultDraw) (any, *apiError, bool) {
	keys, e := repeated(p, "TagKey.", maxTags)
	if e != nil {
		return nil, e, false
	}
	all, e := boolParam(p, "All")
	if e != nil {
		return nil, e, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ims, e := s.tagTarget(p, 50, true)
	if e != nil {
		return nil, e, false
	}
	if d.unapplied < d.f.UnappliedDeleteRatio {
		return &requestIDResp{RequestId: c.RequestID}, nil, false
	}
	for _, im := range ims {
		if len(keys) == 0 && all {
			im.Tags = nil
		}
		for _, k := range keys {
			delete(im.Tags, k)
		}
	}
	return afterDelete(c, d)
}

type tagResourceJSON struct {
	ResourceId   string
	ResourceType string
	TagKey       string
	TagValue     string
}

type listTagResourcesResp struct {
	RequestId    string
	NextToken    string
	TagResources struct{ TagResource []tagResourceJSON }
}

// listTagPage is how many tag entries ListTagResources answers a page.
const listTagPage = 50

func (s *Server) listTagResources(p params, c *Call, _ *faultDraw) (any, *apiError, bool) {
	tagsIdx, e := indexed(p, "Tag.", maxTags)
	if e != nil {
		return nil, e, false
	}
	var want []tagFilter
	for _, kv := range tagsIdx {
		v, hasV := kv["Value"]
		want = append(want, tagFilter{key: kv["Key"], value: v, hasValue: hasV})
	}
	offset := 0
	if tok := p["NextToken"]; tok != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(tok, "tt"), 16, 64)
		if !strings.HasPrefix(tok, "tt") || err != nil || n < 0 || n > 1<<40 {
			return nil, errf(400, "InvalidParameter.NextToken", "The specified parameter \"NextToken\" is not valid."), false
		}
		offset = int(n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ims, e := s.tagTarget(p, 50, false)
	if e != nil {
		return nil, e, false
	}
	if len(ims) == 0 {
		if len(want) == 0 {
			return nil, missing("ResourceId.1"), false
		}
		for _, im := range rs.sortedImages() {
			if im.OwnerAlias == "self" {
				ims = append(ims, im)
			}
		}
	}
	var all []tagResourceJSON
	for _, im := range ims {
		if !tagsMatch(im.Tags, want) {
			continue
		}
		keys := make([]string, 0, len(im.Tags))
		for k := range im.Tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			all = append(all, tagResourceJSON{ResourceId: im.ID, ResourceType: "image", TagKey: k, TagValue: im.Tags[k]})
		}
	}
	resp := &listTagResourcesResp{RequestId: c.RequestID}
	from, to := min(offset, len(all)), min(offset+listTagPage, len(all))
	resp.TagResources.TagResource = append([]tagResourceJSON{}, all[from:to]...)
	if to < len(all) {
		resp.NextToken = "tt" + strconv.FormatInt(int64(to), 16)
	}
	return resp, nil, false
}

// ---- DescribeImageFromFamily ----

type describeImageFromFamilyResp struct {
	RequestId string
	Image     *imageJSON `json:",omitempty"`
}

// describeImageFromFamily answers the newest Available image of a family that the account can
// use: Deprecated images are skipped, which is what deprecating one is for.
func (s *Server) describeImageFromFamily(p params, c *Call, _ *faultDraw) (any, *apiError, bool) {
	family := p["ImageFamily"]
	if family == "" {
		return nil, missing("ImageFamily"), false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, e := s.region(p)
	if e != nil {
		return nil, e, false
	}
	resp := &describeImageFromFamilyResp{RequestId: c.RequestID}
	for _, im := range rs.sortedImages() { // newest first
		if im.Family == family && im.Status == "Available" && im.OwnerAlias == "self" {
			j := s.imageJSON(rs, im, rs.instByImage[im.ID] > 0)
			resp.Image = &j
			break
		}
	}
	return resp, nil, false
}
