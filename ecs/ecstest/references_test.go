package ecstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
)

// refState is two regions: cn-hangzhou with 120 launch templates, one of them with 120
// versions, and 120 scaling configurations; cn-shanghai with one of each.
func refState() *State {
	hz := &Region{Images: []Image{{ID: "m-tpl", Name: "tpl", CreationTime: t0}}}
	for i := 1; i <= 120; i++ {
		hz.LaunchTemplates = append(hz.LaunchTemplates, LaunchTemplate{
			ID: fmt.Sprintf("lt-hz%03d", i), Name: fmt.Sprintf("tpl-%03d", i),
			Versions: []LaunchTemplateVersion{{ImageID: fmt.Sprintf("m-img%03d", i)}},
		})
		hz.ScalingConfigurations = append(hz.ScalingConfigurations, ScalingConfiguration{
			ID: fmt.Sprintf("asc-hz%03d", i), ScalingGroupID: fmt.Sprintf("asg-hz%d", i%3), ImageID: fmt.Sprintf("m-img%03d", i),
		})
	}
	many := LaunchTemplate{ID: "lt-many", Name: "many", DefaultVersion: 7}
	for i := 1; i <= 120; i++ {
		many.Versions = append(many.Versions, LaunchTemplateVersion{ImageID: fmt.Sprintf("m-v%03d", i)})
	}
	many.Versions[41].ImageID = "m-tpl" // version 42: neither the default nor the latest
	hz.LaunchTemplates = append(hz.LaunchTemplates, many)
	sh := &Region{
		LaunchTemplates:       []LaunchTemplate{{ID: "lt-sh", Name: "sh", Versions: []LaunchTemplateVersion{{Number: 3, ImageID: "m-sh"}}, DefaultVersion: 3}},
		ScalingConfigurations: []ScalingConfiguration{{ID: "asc-sh", ImageID: "m-sh", LifecycleState: "Inactive"}},
	}
	return &State{Regions: map[string]*Region{"cn-hangzhou": hz, "cn-shanghai": sh}}
}

// essClient is the real generic openapi client, signed like every SDK client, pointed at the
// emulator: there is no ESS SDK module to hand, and the job calls ESS the same way.
func essClient(t *testing.T, s *Server, secret string) *openapi.Client {
	t.Helper()
	c, err := openapi.NewClient(&openapiutil.Config{
		AccessKeyId: tea.String(AccessKeyID), AccessKeySecret: tea.String(secret),
		RegionId: tea.String("cn-hangzhou"), Endpoint: tea.String(s.Addr()), Protocol: tea.String("http"),
		ReadTimeout: tea.Int(10000), ConnectTimeout: tea.Int(5000), NoProxy: tea.String(s.Addr()),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type scalingPage struct {
	TotalCount, PageNumber, PageSize int
	ScalingConfigurations            struct {
		ScalingConfiguration []struct {
			ScalingConfigurationId, ScalingGroupId, ImageId, LifecycleState string
		}
	}
}

// describeScaling calls ESS DescribeScalingConfigurations with action and version as parameters.
func describeScaling(c *openapi.Client, query map[string]any, action, version string) (scalingPage, error) {
	var out scalingPage
	res, err := c.CallApiWithCtx(context.Background(), &openapiutil.Params{
		Action: tea.String(action), Version: tea.String(version), Protocol: tea.String("HTTPS"), Pathname: tea.String("/"),
		Method: tea.String("POST"), AuthType: tea.String("AK"), Style: tea.String("RPC"),
		ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}, &openapiutil.OpenApiRequest{Query: openapiutil.Query(query)}, rt)
	if err != nil {
		return out, err
	}
	data, err := json.Marshal(res["body"])
	if err != nil {
		return out, err
	}
	return out, json.Unmarshal(data, &out)
}

// openapiCode returns the code and status of an openapi error.
func openapiCode(err error) (string, int) {
	var e interface {
		GetCode() *string
		GetStatusCode() *int
	}
	if errors.As(err, &e) {
		return tea.StringValue(e.GetCode()), tea.IntValue(e.GetStatusCode())
	}
	return errCode(err)
}

func TestDescribeLaunchTemplatesPaging(t *testing.T) {
	t.Parallel()
	s := NewServer(refState(), Options{})
	defer s.Close()
	c := newClient(t, s)
	seen := map[string]int{}
	for page := int32(1); page <= 4; page++ {
		resp, err := c.DescribeLaunchTemplatesWithContext(context.Background(), &ecs.DescribeLaunchTemplatesRequest{
			RegionId: tea.String("cn-hangzhou"), PageNumber: tea.Int32(page), PageSize: tea.Int32(50)}, rt)
		if err != nil {
			t.Fatal(err)
		}
		b := resp.Body
		if tea.Int32Value(b.TotalCount) != 121 || tea.Int32Value(b.PageNumber) != page || tea.Int32Value(b.PageSize) != 50 {
			t.Fatalf("page %d: TotalCount %d PageNumber %d PageSize %d", page, tea.Int32Value(b.TotalCount), tea.Int32Value(b.PageNumber), tea.Int32Value(b.PageSize))
		}
		wantLen := map[int32]int{1: 50, 2: 50, 3: 21, 4: 0}[page]
		if n := len(b.LaunchTemplateSets.LaunchTemplateSet); n != wantLen {
			t.Fatalf("page %d: %d templates, want %d", page, n, wantLen)
		}
		for _, lt := range b.LaunchTemplateSets.LaunchTemplateSet {
			seen[tea.StringValue(lt.LaunchTemplateId)]++
			if tea.StringValue(lt.LaunchTemplateId) == "lt-many" &&
				(tea.Int64Value(lt.DefaultVersionNumber) != 7 || tea.Int64Value(lt.LatestVersionNumber) != 120) {
				t.Errorf("lt-many: default %d latest %d, want 7 and 120", tea.Int64Value(lt.DefaultVersionNumber), tea.Int64Value(lt.LatestVersionNumber))
			}
		}
	}
	if len(seen) != 121 {
		t.Fatalf("%d distinct templates, want 121", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}
	// Filters by id and name, and the page size bound.
	resp, err := c.DescribeLaunchTemplatesWithContext(context.Background(), &ecs.DescribeLaunchTemplatesRequest{
		RegionId: tea.String("cn-hangzhou"), LaunchTemplateId: tea.StringSlice([]string{"lt-hz002", "lt-many"})}, rt)
	if err != nil || tea.Int32Value(resp.Body.TotalCount) != 2 {
		t.Fatalf("by id: %v %v", resp, err)
	}
	_, err = c.DescribeLaunchTemplatesWithContext(context.Background(), &ecs.DescribeLaunchTemplatesRequest{
		RegionId: tea.String("cn-hangzhou"), PageSize: tea.Int32(51)}, rt)
	wantCode(t, err, "InvalidParameter.PageSize", 400)
	_, err = c.DescribeLaunchTemplatesWithContext(context.Background(), &ecs.DescribeLaunchTemplatesRequest{}, rt)
	wantCode(t, err, "MissingParameter", 400)
}

func TestDescribeLaunchTemplateVersions(t *testing.T) {
	t.Parallel()
	s := NewServer(refState(), Options{})
	defer s.Close()
	c := newClient(t, s)
	req := func(page int32) *ecs.DescribeLaunchTemplateVersionsRequest {
		return &ecs.DescribeLaunchTemplateVersionsRequest{RegionId: tea.String("cn-hangzhou"),
			LaunchTemplateId: tea.String("lt-many"), PageNumber: tea.Int32(page), PageSize: tea.Int32(50)}
	}
	images := map[int64]string{}
	var order []int64
	for page := int32(1); page <= 3; page++ {
		resp, err := c.DescribeLaunchTemplateVersionsWithContext(context.Background(), req(page), rt)
		if err != nil {
			t.Fatal(err)
		}
		if tea.Int32Value(resp.Body.TotalCount) != 120 {
			t.Fatalf("TotalCount %d", tea.Int32Value(resp.Body.TotalCount))
		}
		for _, v := range resp.Body.LaunchTemplateVersionSets.LaunchTemplateVersionSet {
			n := tea.Int64Value(v.VersionNumber)
			order = append(order, n)
			images[n] = tea.StringValue(v.LaunchTemplateData.ImageId)
			if tea.BoolValue(v.DefaultVersion) != (n == 7) || tea.StringValue(v.LaunchTemplateId) != "lt-many" {
				t.Errorf("version %d: default %v template %s", n, tea.BoolValue(v.DefaultVersion), tea.StringValue(v.LaunchTemplateId))
			}
		}
	}
	if len(order) != 120 || order[0] != 120 || order[119] != 1 {
		t.Fatalf("%d versions, first %d last %d; want 120, newest first", len(order), order[0], order[len(order)-1])
	}
	if images[42] != "m-tpl" || images[1] != "m-v001" {
		t.Errorf("version 42 image %q, version 1 image %q", images[42], images[1])
	}
	// DefaultVersion=true gives the default alone; DetailFlag=false leaves out the data; a
	// version range and a list narrow the versions.
	r := req(1)
	r.DefaultVersion, r.DetailFlag = tea.Bool(true), tea.Bool(false)
	resp, err := c.DescribeLaunchTemplateVersionsWithContext(context.Background(), r, rt)
	if err != nil {
		t.Fatal(err)
	}
	if vs := resp.Body.LaunchTemplateVersionSets.LaunchTemplateVersionSet; len(vs) != 1 || tea.Int64Value(vs[0].VersionNumber) != 7 || vs[0].LaunchTemplateData != nil {
		t.Errorf("default only, no detail: %v", vs)
	}
	r = req(1)
	r.MinVersion, r.MaxVersion = tea.Int64(40), tea.Int64(44)
	if resp, err = c.DescribeLaunchTemplateVersionsWithContext(context.Background(), r, rt); err != nil || tea.Int32Value(resp.Body.TotalCount) != 5 {
		t.Errorf("range 40..44: %v %v", resp, err)
	}
	r = req(1)
	r.LaunchTemplateId, r.LaunchTemplateName = nil, tea.String("many")
	r.LaunchTemplateVersion = tea.Int64Slice([]int64{3, 42})
	if resp, err = c.DescribeLaunchTemplateVersionsWithContext(context.Background(), r, rt); err != nil || tea.Int32Value(resp.Body.TotalCount) != 2 {
		t.Errorf("by name, versions 3 and 42: %v %v", resp, err)
	}
	r = req(1)
	r.LaunchTemplateId = tea.String("lt-gone")
	_, err = c.DescribeLaunchTemplateVersionsWithContext(context.Background(), r, rt)
	wantCode(t, err, "InvalidLaunchTemplate.NotFound", 404)
	r = req(1)
	r.LaunchTemplateId = nil
	_, err = c.DescribeLaunchTemplateVersionsWithContext(context.Background(), r, rt)
	wantCode(t, err, "MissingParameter", 400)
	// The service deletes an image a template version names: that is why the job must look.
	if err := deleteImage(c, "cn-hangzhou", "m-tpl", false, false); err != nil {
		t.Fatalf("deleting a template's image: %v", err)
	}
}

func TestDescribeScalingConfigurations(t *testing.T) {
	t.Parallel()
	s := NewServer(refState(), Options{})
	defer s.Close()
	c := essClient(t, s, AccessKeySecret)
	seen := map[string]bool{}
	for page := 1; page <= 3; page++ {
		p, err := describeScaling(c, map[string]any{"RegionId": "cn-hangzhou", "PageNumber": page, "PageSize": 50}, "DescribeScalingConfigurations", ESSAPIVersion)
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalCount != 120 || p.PageNumber != page || p.PageSize != 50 {
			t.Fatalf("page %d: %+v", page, p)
		}
		for _, sc := range p.ScalingConfigurations.ScalingConfiguration {
			seen[sc.ScalingConfigurationId] = true
			if want := "m-img" + strings.TrimPrefix(sc.ScalingConfigurationId, "asc-hz"); sc.ImageId != want || sc.LifecycleState != "Active" {
				t.Errorf("%s: image %s state %s", sc.ScalingConfigurationId, sc.ImageId, sc.LifecycleState)
			}
		}
	}
	if len(seen) != 120 {
		t.Fatalf("%d distinct scaling configurations, want 120", len(seen))
	}
	p, err := describeScaling(c, map[string]any{"RegionId": "cn-hangzhou", "ScalingGroupId": "asg-hz1", "PageSize": 50}, "DescribeScalingConfigurations", ESSAPIVersion)
	if err != nil || p.TotalCount != 40 {
		t.Errorf("by scaling group: %+v %v", p, err)
	}
	p, err = describeScaling(c, map[string]any{"RegionId": "cn-shanghai"}, "DescribeScalingConfigurations", ESSAPIVersion)
	if err != nil || p.TotalCount != 1 || p.ScalingConfigurations.ScalingConfiguration[0].LifecycleState != "Inactive" {
		t.Errorf("cn-shanghai: %+v %v", p, err)
	}
	for _, tc := range []struct {
		name            string
		query           map[string]any
		action, version string
		status          int
		code            string
	}{
		{"page size", map[string]any{"RegionId": "cn-hangzhou", "PageSize": 51}, "DescribeScalingConfigurations", ESSAPIVersion, 400, "InvalidParameter.PageSize"},
		{"no region", map[string]any{}, "DescribeScalingConfigurations", ESSAPIVersion, 400, "MissingParameter"},
		{"unknown region", map[string]any{"RegionId": "eu-nowhere-1"}, "DescribeScalingConfigurations", ESSAPIVersion, 404, "InvalidRegionId.NotFound"},
		{"ESS action under the ECS version", map[string]any{"RegionId": "cn-hangzhou"}, "DescribeScalingConfigurations", APIVersion, 404, "InvalidAction.NotFound"},
		{"ECS action under the ESS version", map[string]any{"RegionId": "cn-hangzhou"}, "DescribeImages", ESSAPIVersion, 404, "InvalidAction.NotFound"},
		{"unknown version", map[string]any{"RegionId": "cn-hangzhou"}, "DescribeScalingConfigurations", "2022-02-22", 400, "InvalidVersion"},
	} {
		_, err := describeScaling(c, tc.query, tc.action, tc.version)
		if code, status := openapiCode(err); code != tc.code || status != tc.status {
			t.Errorf("%s: %q %d (%v), want %q %d", tc.name, code, status, err, tc.code, tc.status)
		}
	}
}

// TestReferencesSignatureAndDeny: the new actions pass the same signature check as the others,
// ESS included, and Deny refuses them per action or per region.
func TestReferencesSignatureAndDeny(t *testing.T) {
	t.Parallel()
	s := NewServer(refState(), Options{Deny: map[string]string{"cn-hangzhou/DescribeScalingConfigurations": "Forbidden.RAM"}})
	defer s.Close()
	_, err := describeScaling(essClient(t, s, "wrong-secret"), map[string]any{"RegionId": "cn-shanghai"}, "DescribeScalingConfigurations", ESSAPIVersion)
	if code, status := openapiCode(err); code != "SignatureDoesNotMatch" || status != 400 {
		t.Errorf("ESS with a wrong secret: %q %d", code, status)
	}
	q := url.Values{"RegionId": {"cn-shanghai"}}
	if st, eb, _ := doRaw(t, s, rawReq{action: "DescribeScalingConfigurations", version: ESSAPIVersion, query: q, badSig: true}); st != 400 || eb.Code != "SignatureDoesNotMatch" {
		t.Errorf("ESS with a bad signature: %d %+v", st, eb)
	}
	if st, eb, _ := doRaw(t, s, rawReq{action: "DescribeLaunchTemplates", query: q, secret: "nope", key: AccessKeyID}); st != 400 || eb.Code != "SignatureDoesNotMatch" {
		t.Errorf("DescribeLaunchTemplates with a wrong secret: %d %+v", st, eb)
	}
	if st, eb, _ := doRaw(t, s, rawReq{action: "DescribeScalingConfigurations", version: ESSAPIVersion, query: q}); st != 200 {
		t.Errorf("a valid raw ESS request: %d %+v", st, eb)
	}

	c := essClient(t, s, AccessKeySecret)
	_, err = describeScaling(c, map[string]any{"RegionId": "cn-hangzhou"}, "DescribeScalingConfigurations", ESSAPIVersion)
	if code, status := openapiCode(err); code != "Forbidden.RAM" || status != 403 {
		t.Errorf("denied in cn-hangzhou: %q %d", code, status)
	}
	if _, err := describeScaling(c, map[string]any{"RegionId": "cn-shanghai"}, "DescribeScalingConfigurations", ESSAPIVersion); err != nil {
		t.Errorf("cn-shanghai is not denied: %v", err)
	}
	ec := newClient(t, s)
	s.SetDeny("DescribeLaunchTemplateVersions", "Forbidden.RAM")
	_, err = ec.DescribeLaunchTemplateVersionsWithContext(context.Background(), &ecs.DescribeLaunchTemplateVersionsRequest{
		RegionId: tea.String("cn-shanghai"), LaunchTemplateId: tea.String("lt-sh")}, rt)
	wantCode(t, err, "Forbidden.RAM", 403)
	s.SetDeny("DescribeLaunchTemplateVersions", "")
	resp, err := ec.DescribeLaunchTemplateVersionsWithContext(context.Background(), &ecs.DescribeLaunchTemplateVersionsRequest{
		RegionId: tea.String("cn-shanghai"), LaunchTemplateId: tea.String("lt-sh")}, rt)
	if err != nil || tea.StringValue(resp.Body.LaunchTemplateVersionSets.LaunchTemplateVersionSet[0].LaunchTemplateData.ImageId) != "m-sh" {
		t.Errorf("after the denial is lifted: %v %v", resp, err)
	}
	// Faults apply to the new actions like to any other.
	s.SetFaults("DescribeScalingConfigurations", Faults{InternalErrorRatio: 1})
	_, err = describeScaling(c, map[string]any{"RegionId": "cn-shanghai"}, "DescribeScalingConfigurations", ESSAPIVersion)
	if code, status := openapiCode(err); code != "InternalError" || status != 500 {
		t.Errorf("with InternalErrorRatio 1: %q %d", code, status)
	}
}

func TestReferencesState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := `regions:
  cn-hangzhou:
    launch_templates:
      - id: lt-a
        name: web
        default_version: 2
        versions:
          - {image_id: m-1}
          - {image_id: m-2}
    scaling_configurations:
      - {id: asc-a, scaling_group_id: asg-a, image_id: m-1}
`
	p := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(p, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := LoadState(p)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(st, Options{})
	defer s.Close()
	st.Regions["cn-hangzhou"].LaunchTemplates[0].Versions[0].ImageID = "m-changed"
	got := s.State().Regions["cn-hangzhou"]
	if len(got.LaunchTemplates) != 1 || got.LaunchTemplates[0].Versions[1].ImageID != "m-1" || got.LaunchTemplates[0].Versions[1].Number != 1 ||
		len(got.ScalingConfigurations) != 1 || got.ScalingConfigurations[0].LifecycleState != "Active" {
		t.Errorf("state %+v", got)
	}
	for name, bad := range map[string]string{
		"unknown key":     strings.Replace(good, "image_id: m-1}", "imageid: m-1}", 1),
		"no default":      strings.Replace(good, "default_version: 2", "default_version: 3", 1),
		"duplicate":       strings.Replace(good, "- {image_id: m-2}", "- {number: 1, image_id: m-2}", 1),
		"no versions":     strings.Replace(good, "        versions:\n          - {image_id: m-1}\n          - {image_id: m-2}\n", "        versions: []\n", 1),
		"lifecycle":       strings.Replace(good, "asg-a, image_id: m-1}", "asg-a, image_id: m-1, lifecycle_state: Sleeping}", 1),
		"duplicate asc":   good + "      - {id: asc-a}\n",
		"empty asc id":    good + "      - {image_id: m-1}\n",
		"negative number": strings.Replace(good, "- {image_id: m-2}", "- {number: -2, image_id: m-2}", 1),
	} {
		if _, err := ParseState([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestExampleStateReferences checks the references documented at the top of
// examples/emulator-state.yaml: version 2 of lt-hzweb01, neither its default nor its latest,
// names m-hzci0002; scaling configuration asc-shworker01 names m-shci0002.
func TestExampleStateReferences(t *testing.T) {
	t.Parallel()
	st, err := LoadState(filepath.Join("..", "..", "examples", "emulator-state.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(st, Options{})
	defer s.Close()
	resp, err := newClient(t, s).DescribeLaunchTemplateVersionsWithContext(context.Background(), &ecs.DescribeLaunchTemplateVersionsRequest{
		RegionId: tea.String("cn-hangzhou"), LaunchTemplateId: tea.String("lt-hzweb01")}, rt)
	if err != nil {
		t.Fatal(err)
	}
	images := map[int64]string{}
	var def, latest int64
	for _, v := range resp.Body.LaunchTemplateVersionSets.LaunchTemplateVersionSet {
		n := tea.Int64Value(v.VersionNumber)
		images[n] = tea.StringValue(v.LaunchTemplateData.ImageId)
		latest = max(latest, n)
		if tea.BoolValue(v.DefaultVersion) {
			def = n
		}
	}
	if images[2] != "m-hzci0000" || def == 2 || latest == 2 {
		t.Errorf("lt-hzweb01: images %v, default %d, latest %d", images, def, latest)
	}
	p, err := describeScaling(essClient(t, s, AccessKeySecret), map[string]any{"RegionId": "cn-shanghai"}, "DescribeScalingConfigurations", ESSAPIVersion)
	if err != nil || p.TotalCount != 1 || p.ScalingConfigurations.ScalingConfiguration[0].ImageId != "m-shci0002" {
		t.Errorf("cn-shanghai scaling configurations %+v %v", p, err)
	}
}
