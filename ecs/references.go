package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
)

// What else names an image: ECS launch template versions and Auto Scaling (ESS) scaling
// configurations. The service deletes an image they name without a word; the next launch from
// them fails.

// ReferencePageSize is the largest page DescribeLaunchTemplates, DescribeLaunchTemplateVersions
// and DescribeScalingConfigurations serve; the job always asks for it.
const ReferencePageSize = 50

// ESSAPIVersion is the Auto Scaling API version of DescribeScalingConfigurations.
const ESSAPIVersion = "2014-08-28"

// LaunchTemplate is one launch template as DescribeLaunchTemplates lists it.
type LaunchTemplate struct {
	ID             string
	Name           string
	DefaultVersion int64
	LatestVersion  int64
}

// LaunchTemplatePage is one page of DescribeLaunchTemplates.
type LaunchTemplatePage struct {
	Templates  []LaunchTemplate
	TotalCount int
	RequestID  string
}

// LaunchTemplateVersion is one version of a launch template and the image it launches ("" when
// it names none).
type LaunchTemplateVersion struct {
	TemplateID string
	Version    int64
	Default    bool
	ImageID    string
}

// LaunchTemplateVersionPage is one page of DescribeLaunchTemplateVersions.
type LaunchTemplateVersionPage struct {
	Versions   []LaunchTemplateVersion
	TotalCount int
	RequestID  string
}

// ScalingConfiguration is one ESS scaling configuration, active or not, and the image its
// scaling group launches from it ("" when it names none).
type ScalingConfiguration struct {
	ID             string
	Name           string
	ScalingGroupID string
	ImageID        string
	LifecycleState string // Active or Inactive
}

// ScalingConfigurationPage is one page of DescribeScalingConfigurations.
type ScalingConfigurationPage struct {
	Configurations []ScalingConfiguration
	TotalCount     int
	RequestID      string
}

// invalid is an answer the job cannot read. It is never taken for "nothing there": a listing
// that tells what must not be deleted fails closed.
func invalid(requestID, format string, args ...any) *Error {
	return &Error{Class: ClassFailed, Code: CodeInvalidResponse, Message: fmt.Sprintf(format, args...), RequestID: requestID}
}

// DescribeLaunchTemplatesPage implements API.
func (c *Client) DescribeLaunchTemplatesPage(ctx context.Context, region string, pageNumber, pageSize int) (LaunchTemplatePage, error) {
	rc, release, err := c.acquire(region)
	if err != nil {
		return LaunchTemplatePage{}, err
	}
	defer release()
	resp, err := rc.DescribeLaunchTemplatesWithContext(ctx, &ecsclient.DescribeLaunchTemplatesRequest{
		RegionId:   tea.String(region),
		PageNumber: tea.Int32(int32(pageNumber)),
		PageSize:   tea.Int32(int32(pageSize)),
	}, rtOpts())
	if err != nil {
		return LaunchTemplatePage{}, c.classify(ctx, err)
	}
	if resp == nil || resp.Body == nil {
		return LaunchTemplatePage{}, invalid("", "DescribeLaunchTemplates: empty answer")
	}
	b := resp.Body
	page := LaunchTemplatePage{TotalCount: int(tea.Int32Value(b.TotalCount)), RequestID: tea.StringValue(b.RequestId)}
	if b.LaunchTemplateSets != nil {
		for _, lt := range b.LaunchTemplateSets.LaunchTemplateSet {
			if lt == nil {
				continue
			}
			if tea.StringValue(lt.LaunchTemplateId) == "" {
				return LaunchTemplatePage{}, invalid(page.RequestID, "DescribeLaunchTemplates: a launch template without an id")
			}
			page.Templates = append(page.Templates, LaunchTemplate{
				ID:             tea.StringValue(lt.LaunchTemplateId),
				Name:           tea.StringValue(lt.LaunchTemplateName),
				DefaultVersion: tea.Int64Value(lt.DefaultVersionNumber),
				LatestVersion:  tea.Int64Value(lt.LatestVersionNumber),
			})
		}
	}
	return page, nil
}

// DescribeLaunchTemplateVersionsPage implements API. It asks for every version of the template
// with its details, the image among them.
func (c *Client) DescribeLaunchTemplateVersionsPage(ctx context.Context, region, templateID string, pageNumber, pageSize int) (LaunchTemplateVersionPage, error) {
	rc, release, err := c.acquire(region)
	if err != nil {
		return LaunchTemplateVersionPage{}, err
	}
	defer release()
	resp, err := rc.DescribeLaunchTemplateVersionsWithContext(ctx, &ecsclient.DescribeLaunchTemplateVersionsRequest{
		RegionId:         tea.String(region),
		LaunchTemplateId: tea.String(templateID),
		DetailFlag:       tea.Bool(true),
		PageNumber:       tea.Int32(int32(pageNumber)),
		PageSize:         tea.Int32(int32(pageSize)),
	}, rtOpts())
	if err != nil {
		return LaunchTemplateVersionPage{}, c.classify(ctx, err)
	}
	if resp == nil || resp.Body == nil {
		return LaunchTemplateVersionPage{}, invalid("", "DescribeLaunchTemplateVersions: empty answer")
	}
	b := resp.Body
	page := LaunchTemplateVersionPage{TotalCount: int(tea.Int32Value(b.TotalCount)), RequestID: tea.StringValue(b.RequestId)}
	if b.LaunchTemplateVersionSets != nil {
		for _, v := range b.LaunchTemplateVersionSets.LaunchTemplateVersionSet {
			if v == nil {
				continue
			}
			n := tea.Int64Value(v.VersionNumber)
			if v.LaunchTemplateData == nil {
				// Asked with DetailFlag: without the data the image is unknown, not absent.
				return LaunchTemplateVersionPage{}, invalid(page.RequestID, "DescribeLaunchTemplateVersions: version %d of %s came without its data", n, templateID)
			}
			page.Versions = append(page.Versions, LaunchTemplateVersion{
				TemplateID: templateID,
				Version:    n,
				Default:    tea.BoolValue(v.DefaultVersion),
				ImageID:    tea.StringValue(v.LaunchTemplateData.ImageId),
			})
		}
	}
	return page, nil
}

// essPool is sdkPool for Auto Scaling: a region's idle generic openapi clients, pointed at its
// ESS endpoint. Like the ECS clients, one serves one call at a time.
type essPool struct {
	mu   sync.Mutex
	free []*openapi.Client
}

// essCentral are the regions whose Auto Scaling endpoint is the central ess.aliyuncs.com, as
// the ESS SDK's endpoint map has them; every other region has ess.<region>.aliyuncs.com.
var essCentral = map[string]bool{
	"cn-qingdao": true, "cn-beijing": true, "cn-hangzhou": true, "cn-shanghai": true, "cn-shenzhen": true,
	"cn-hongkong": true, "ap-southeast-1": true, "us-west-1": true, "us-east-1": true,
	"cn-shanghai-finance-1": true, "cn-shenzhen-finance-1": true, "cn-north-2-gov-1": true,
}

// essEndpointOf is the Auto Scaling endpoint of a region and its protocol.
func (c *Client) essEndpointOf(region string) (hostport, protocol string) {
	switch {
	case c.essEndpoint != "":
		return c.essEndpoint, c.essProtocol
	case c.cfg.Dial != nil && essCentral[region]:
		return "ess.aliyuncs.com", "http"
	case c.cfg.Dial != nil:
		return "ess." + region + ".aliyuncs.com", "http"
	case essCentral[region]:
		return "ess.aliyuncs.com", "https"
	}
	return "ess." + region + ".aliyuncs.com", "https"
}

// acquireESS is acquire for Auto Scaling.
func (c *Client) acquireESS(region string) (*openapi.Client, func(), error) {
	if region == "" {
		return nil, nil, &Error{Class: ClassFailed, Code: "MissingParameter", Message: "no region given"}
	}
	c.essMu.Lock()
	p := c.ess[region]
	if p == nil {
		p = &essPool{}
		c.ess[region] = p
	}
	c.essMu.Unlock()

	p.mu.Lock()
	var oc *openapi.Client
	if n := len(p.free); n > 0 {
		oc, p.free = p.free[n-1], p.free[:n-1]
	}
	p.mu.Unlock()
	if oc == nil {
		conf := c.sdkConfig(region)
		host, protocol := c.essEndpointOf(region)
		conf.Endpoint, conf.Protocol = tea.String(host), tea.String(protocol)
		if c.essEndpoint != "" {
			conf.NoProxy = tea.String(host)
		}
		var err error
		if oc, err = openapi.NewClient(conf); err != nil {
			return nil, nil, c.classify(context.Background(), err)
		}
		oc.DisableSDKError = tea.Bool(true)
		oc.RetryOptions = nil
	}
	release := func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.free) < c.cfg.MaxIdleConns {
			p.free = append(p.free, oc)
		}
	}
	return oc, release, nil
}

// essParams are DescribeScalingConfigurations' call parameters: an RPC-style call, signed like
// every ECS call; the generic client stands in for the ESS SDK, which is not to be had here.
func essParams(action string) *openapiutil.Params {
	return &openapiutil.Params{
		Action:      tea.String(action),
		Version:     tea.String(ESSAPIVersion),
		Protocol:    tea.String("HTTPS"),
		Pathname:    tea.String("/"),
		Method:      tea.String("POST"),
		AuthType:    tea.String("AK"),
		Style:       tea.String("RPC"),
		ReqBodyType: tea.String("formData"),
		BodyType:    tea.String("json"),
	}
}

// flexInt is a JSON number that may come quoted, as the service's numbers sometimes do.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%s is not an integer", b)
	}
	*n = flexInt(v)
	return nil
}

type scalingConfigurationsBody struct {
	RequestId             string
	TotalCount            *flexInt
	ScalingConfigurations *struct {
		ScalingConfiguration []struct {
			ScalingConfigurationId   string
			ScalingConfigurationName string
			ScalingGroupId           string
			ImageId                  string
			LifecycleState           string
		}
	}
}

// DescribeScalingConfigurationsPage implements API.
func (c *Client) DescribeScalingConfigurationsPage(ctx context.Context, region string, pageNumber, pageSize int) (ScalingConfigurationPage, error) {
	oc, release, err := c.acquireESS(region)
	if err != nil {
		return ScalingConfigurationPage{}, err
	}
	defer release()
	res, err := oc.CallApiWithCtx(ctx, essParams("DescribeScalingConfigurations"), &openapiutil.OpenApiRequest{
		Query: openapiutil.Query(map[string]any{"RegionId": region, "PageNumber": pageNumber, "PageSize": pageSize}),
	}, rtOpts())
	if err != nil {
		return ScalingConfigurationPage{}, c.classify(ctx, err)
	}
	var b scalingConfigurationsBody
	data, err := json.Marshal(res["body"])
	if err == nil {
		err = json.Unmarshal(data, &b)
	}
	if err != nil {
		return ScalingConfigurationPage{}, invalid("", "DescribeScalingConfigurations: %v", err)
	}
	if b.TotalCount == nil || b.ScalingConfigurations == nil {
		return ScalingConfigurationPage{}, invalid(b.RequestId, "DescribeScalingConfigurations: the answer lacks TotalCount or ScalingConfigurations")
	}
	page := ScalingConfigurationPage{TotalCount: int(*b.TotalCount), RequestID: b.RequestId}
	for _, sc := range b.ScalingConfigurations.ScalingConfiguration {
		if sc.ScalingConfigurationId == "" {
			return ScalingConfigurationPage{}, invalid(b.RequestId, "DescribeScalingConfigurations: a scaling configuration without an id")
		}
		page.Configurations = append(page.Configurations, ScalingConfiguration{
			ID: sc.ScalingConfigurationId, Name: sc.ScalingConfigurationName, ScalingGroupID: sc.ScalingGroupId,
			ImageID: sc.ImageId, LifecycleState: sc.LifecycleState,
		})
	}
	return page, nil
}
