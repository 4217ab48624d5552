package ecstest

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ESSAPIVersion is the Auto Scaling (ESS) API version the emulator answers, on the same URL as
// ECS: a request's signed x-acs-version says which of the two it is for.
const ESSAPIVersion = "2014-08-28"

// LaunchTemplate is an ECS launch template with its versions. The service deletes an image
// that a version names without a word; the next launch from that version fails.
type LaunchTemplate struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// DefaultVersion is the version a launch uses when it names none; default 1.
	DefaultVersion int64                   `yaml:"default_version,omitempty"`
	Versions       []LaunchTemplateVersion `yaml:"versions"`
}

// LaunchTemplateVersion is one version of a launch template; only its image matters here.
type LaunchTemplateVersion struct {
	// Number is the version number; default its position in the list, from 1.
	Number  int64  `yaml:"number,omitempty"`
	ImageID string `yaml:"image_id,omitempty"`
}

// ScalingConfiguration is an Auto Scaling (ESS) scaling configuration: the template of the
// instances its scaling group launches on scale-out.
type ScalingConfiguration struct {
	ID             string `yaml:"id"`
	Name           string `yaml:"name,omitempty"`
	ScalingGroupID string `yaml:"scaling_group_id,omitempty"`
	ImageID        string `yaml:"image_id,omitempty"`
	LifecycleState string `yaml:"lifecycle_state,omitempty"` // Active (default) or Inactive
}

// validateRefs checks a region's launch templates and scaling configurations.
func validateRefs(rname string, r *Region) []error {
	var errs []error
	templates := map[string]bool{}
	for i, lt := range r.LaunchTemplates {
		switch {
		case lt.ID == "":
			errs = append(errs, fmt.Errorf("region %s: launch template #%d: empty id", rname, i))
		case templates[lt.ID]:
			errs = append(errs, fmt.Errorf("region %s: duplicate launch template id %s", rname, lt.ID))
		}
		templates[lt.ID] = true
		if len(lt.Versions) == 0 {
			errs = append(errs, fmt.Errorf("region %s: launch template %s: no versions", rname, lt.ID))
			continue
		}
		numbers := map[int64]bool{}
		for _, v := range normalizeVersions(lt.Versions) {
			if v.Number < 1 {
				errs = append(errs, fmt.Errorf("region %s: launch template %s: version number %d is not positive", rname, lt.ID, v.Number))
			} else if numbers[v.Number] {
				errs = append(errs, fmt.Errorf("region %s: launch template %s: duplicate version %d", rname, lt.ID, v.Number))
			}
			numbers[v.Number] = true
		}
		if def := defaultVersion(lt); !numbers[def] {
			errs = append(errs, fmt.Errorf("region %s: launch template %s: default_version %d is not one of its versions", rname, lt.ID, def))
		}
	}
	configs := map[string]bool{}
	for i, sc := range r.ScalingConfigurations {
		switch {
		case sc.ID == "":
			errs = append(errs, fmt.Errorf("region %s: scaling configuration #%d: empty id", rname, i))
		case configs[sc.ID]:
			errs = append(errs, fmt.Errorf("region %s: duplicate scaling configuration id %s", rname, sc.ID))
		}
		configs[sc.ID] = true
		if s := sc.LifecycleState; s != "" && s != "Active" && s != "Inactive" {
			errs = append(errs, fmt.Errorf("region %s: scaling configuration %s: unknown lifecycle_state %q", rname, sc.ID, s))
		}
	}
	return errs
}

// normalizeVersions returns a copy of versions with every number filled in.
func normalizeVersions(versions []LaunchTemplateVersion) []LaunchTemplateVersion {
	out := slices.Clone(versions)
	for i := range out {
		if out[i].Number == 0 {
			out[i].Number = int64(i + 1)
		}
	}
	return out
}

func defaultVersion(lt LaunchTemplate) int64 {
	if lt.DefaultVersion == 0 {
		return 1
	}
	return lt.DefaultVersion
}

// cloneRefs deep-copies a region's launch templates and scaling configurations.
func cloneRefs(r *Region) ([]LaunchTemplate, []ScalingConfiguration) {
	var lts []LaunchTemplate
	for _, lt := range r.LaunchTemplates {
		lt.Versions = slices.Clone(lt.Versions)
		lts = append(lts, lt)
	}
	return lts, slices.Clone(r.ScalingConfigurations)
}

// loadRefs gives a region its launch templates and scaling configurations, defaults filled in,
// in the order the service lists them: templates and configurations by id, versions newest first.
func (rs *regionState) loadRefs(r *Region) {
	lts, scs := cloneRefs(r)
	for i := range lts {
		lts[i].DefaultVersion = defaultVersion(lts[i])
		lts[i].Versions = normalizeVersions(lts[i].Versions)
		sort.Slice(lts[i].Versions, func(a, b int) bool { return lts[i].Versions[a].Number > lts[i].Versions[b].Number })
	}
	sort.Slice(lts, func(a, b int) bool { return lts[a].ID < lts[b].ID })
	for i := range scs {
		if scs[i].LifecycleState == "" {
			scs[i].LifecycleState = "Active"
		}
	}
	sort.Slice(scs, func(a, b int) bool { return scs[a].ID < scs[b].ID })
	rs.templates, rs.scalingConfigs = lts, scs
}

// refState copies a region's launch templates and scaling configurations for State.
func (rs *regionState) refState() ([]LaunchTemplate, []ScalingConfiguration) {
	return cloneRefs(&Region{LaunchTemplates: rs.templates, ScalingConfigurations: rs.scalingConfigs})
}

// repeated parses "<prefix><n>" keys, n in 1..max, into their values in n order.
func repeated(p params, prefix string, max int) ([]string, *apiError) {
	byN := map[int]string{}
	for k, v := range p {
		ns, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(ns)
		if err != nil || n < 1 || n > max {
			return nil, errf(400, "InvalidParameter", "The specified parameter \"%s\" is not valid.", k)
		}
		byN[n] = v
	}
	ns := make([]int, 0, len(byN))
	for n := range byN {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = byN[n]
	}
	return out, nil
}

// paging reads PageNumber and PageSize (1..maxSize, default 10).
func paging(p params, maxSize int) (number, size int, e *apiError) {
	if size, e = intParam(p, "PageSize", 10, 1, maxSize, "InvalidParameter.PageSize"); e != nil {
		return 0, 0, e
	}
	number, e = intParam(p, "PageNumber", 1, 1, 1<<30, "InvalidParameter.PageNumber")
	return number, size, e
}

// page returns the bounds of page number of size within n entries.
func page(number, size, n int) (from, to int) {
	from = min((number-1)*size, n)
	return from, min(from+size, n)
}

// ---- DescribeLaunchTemplates ----

type launchTemplateSetJSON struct {
	LaunchTemplateId     string
	LaunchTemplateName   string
	DefaultVersionNumber int64
	LatestVersionNumber  int64
	CreateTime           string
	ModifiedTime         string
	CreatedBy            string
	ResourceGroupId      string
	Tags                 struct{ Tag []tagJSON }
}

type describeLaunchTemplatesResp struct {
	RequestId          string
	TotalCount         int
	PageNumber         int
	PageSize           int
	LaunchTemplateSets struct{ LaunchTemplateSet []launchTemplateSetJSON }
}

func (s *Server) describeLaunchTemplates(p params, c *Call, _ *faultDraw) (any, *apiError, bool) {
	number, size, e := paging(p, 50)
	if e != nil {
		return nil, e, false
	}
	ids, e := repeated(p, "LaunchTemplateId.", 100)
	if e != nil {
		return nil, e, false
	}
	names, e := repeated(p, "LaunchTemplateName.", 100)
	if e != nil {
		return nil, e, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, e := s.region(p)
	if e != nil {
		return nil, e, false
	}
	var match []LaunchTemplate
	for _, lt := range rs.templates {
		if (len(ids) == 0 || slices.Contains(ids, lt.ID)) && (len(names) == 0 || slices.Contains(names, lt.Name)) {
			match = append(match, lt)
		}
	}
	resp := &describeLaunchTemplatesResp{RequestId: c.RequestID, TotalCount: len(match), PageNumber: number, PageSize: size}
	resp.LaunchTemplateSets.LaunchTemplateSet = []launchTemplateSetJSON{}
	from, to := page(number, size, len(match))
	for _, lt := range match[from:to] {
		j := launchTemplateSetJSON{
			LaunchTemplateId: lt.ID, LaunchTemplateName: lt.Name, DefaultVersionNumber: lt.DefaultVersion,
			LatestVersionNumber: lt.Versions[0].Number, CreateTime: "2026-01-01T00:00:00Z", ModifiedTime: "2026-01-01T00:00:00Z",
			CreatedBy: "acs:ram::" + DefaultOwnerID + ":root",
		}
		j.Tags.Tag = []tagJSON{}
		resp.LaunchTemplateSets.LaunchTemplateSet = append(resp.LaunchTemplateSets.LaunchTemplateSet, j)
	}
	return resp, nil, false
}

// ---- DescribeLaunchTemplateVersions ----

type launchTemplateDataJSON struct {
	ImageId         string
	ImageOwnerAlias string
	InstanceType    string
	SecurityGroupId string
	VSwitchId       string
}

type launchTemplateVersionSetJSON struct {
	LaunchTemplateId   string
	LaunchTemplateName string
	VersionNumber      int64
	DefaultVersion     bool
	VersionDescription string
	CreateTime         string
	ModifiedTime       string
	CreatedBy          string
	LaunchTemplateData *launchTemplateDataJSON `json:",omitempty"`
}

type describeLaunchTemplateVersionsResp struct {
	RequestId                 string
	TotalCount                int
	PageNumber                int
	PageSize                  int
	LaunchTemplateVersionSets struct {
		LaunchTemplateVersionSet []launchTemplateVersionSetJSON
	}
}

func (s *Server) describeLaunchTemplateVersions(p params, c *Call, _ *faultDraw) (any, *apiError, bool) {
	number, size, e := paging(p, 50)
	if e != nil {
		return nil, e, false
	}
	id, name := p["LaunchTemplateId"], p["LaunchTemplateName"]
	if id == "" && name == "" {
		return nil, missing("LaunchTemplateId"), false
	}
	versions, e := repeated(p, "LaunchTemplateVersion.", 100)
	if e != nil {
		return nil, e, false
	}
	var lo, hi int64
	for _, b := range []struct {
		name string
		v    *int64
	}{{"MinVersion", &lo}, {"MaxVersion", &hi}} {
		if v := p[b.name]; v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return nil, errf(400, "InvalidParameter", "The specified parameter \"%s\" is not valid.", b.name), false
			}
			*b.v = n
		}
	}
	onlyDefault, e := boolParam(p, "DefaultVersion")
	if e != nil {
		return nil, e, false
	}
	detail := true
	if v := p["DetailFlag"]; v != "" {
		if detail, e = boolParam(p, "DetailFlag"); e != nil {
			return nil, e, false
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, e := s.region(p)
	if e != nil {
		return nil, e, false
	}
	var lt *LaunchTemplate
	for i := range rs.templates {
		if t := &rs.templates[i]; (id == "" || t.ID == id) && (name == "" || t.Name == name) {
			lt = t
			break
		}
	}
	if lt == nil {
		return nil, errf(404, "InvalidLaunchTemplate.NotFound", "The specified launch template does not exist."), false
	}
	var match []LaunchTemplateVersion
	for _, v := range lt.Versions {
		if len(versions) > 0 && !slices.Contains(versions, strconv.FormatInt(v.Number, 10)) ||
			lo > 0 && v.Number < lo || hi > 0 && v.Number > hi || onlyDefault && v.Number != lt.DefaultVersion {
			continue
		}
		match = append(match, v)
	}
	resp := &describeLaunchTemplateVersionsResp{RequestId: c.RequestID, TotalCount: len(match), PageNumber: number, PageSize: size}
	resp.LaunchTemplateVersionSets.LaunchTemplateVersionSet = []launchTemplateVersionSetJSON{}
	from, to := page(number, size, len(match))
	for _, v := range match[from:to] {
		j := launchTemplateVersionSetJSON{
			LaunchTemplateId: lt.ID, LaunchTemplateName: lt.Name, VersionNumber: v.Number,
			DefaultVersion: v.Number == lt.DefaultVersion, CreateTime: "2026-01-01T00:00:00Z", ModifiedTime: "2026-01-01T00:00:00Z",
			CreatedBy: "acs:ram::" + DefaultOwnerID + ":root",
		}
		if detail {
			j.LaunchTemplateData = &launchTemplateDataJSON{ImageId: v.ImageID, ImageOwnerAlias: "self", InstanceType: "ecs.g7.large"}
		}
		resp.LaunchTemplateVersionSets.LaunchTemplateVersionSet = append(resp.LaunchTemplateVersionSets.LaunchTemplateVersionSet, j)
	}
	return resp, nil, false
}

// ---- ESS DescribeScalingConfigurations ----

type scalingConfigurationJSON struct {
	ScalingConfigurationId   string
	ScalingConfigurationName string
	ScalingGroupId           string
	ImageId                  string
	ImageOwnerAlias          string
	InstanceType             string
	LifecycleState           string
	CreationTime             string
}

type describeScalingConfigurationsResp struct {
	RequestId             string
	TotalCount            int
	PageNumber            int
	PageSize              int
	ScalingConfigurations struct{ ScalingConfiguration []scalingConfigurationJSON }
}

func (s *Server) describeScalingConfigurations(p params, c *Call, _ *faultDraw) (any, *apiError, bool) {
	number, size, e := paging(p, 50)
	if e != nil {
		return nil, e, false
	}
	ids, e := repeated(p, "ScalingConfigurationId.", 10)
	if e != nil {
		return nil, e, false
	}
	group := p["ScalingGroupId"]
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, e := s.region(p)
	if e != nil {
		return nil, e, false
	}
	var match []ScalingConfiguration
	for _, sc := range rs.scalingConfigs {
		if (len(ids) == 0 || slices.Contains(ids, sc.ID)) && (group == "" || sc.ScalingGroupID == group) {
			match = append(match, sc)
		}
	}
	resp := &describeScalingConfigurationsResp{RequestId: c.RequestID, TotalCount: len(match), PageNumber: number, PageSize: size}
	resp.ScalingConfigurations.ScalingConfiguration = []scalingConfigurationJSON{}
	from, to := page(number, size, len(match))
	for _, sc := range match[from:to] {
		resp.ScalingConfigurations.ScalingConfiguration = append(resp.ScalingConfigurations.ScalingConfiguration, scalingConfigurationJSON{
			ScalingConfigurationId: sc.ID, ScalingConfigurationName: sc.Name, ScalingGroupId: sc.ScalingGroupID,
			ImageId: sc.ImageID, ImageOwnerAlias: "self", InstanceType: "ecs.g7.large", LifecycleState: sc.LifecycleState,
			CreationTime: "2026-01-01T00:00Z",
		})
	}
	return resp, nil, false
}
