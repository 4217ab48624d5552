package ecs_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
)

// refRegion is 60 launch templates, the last with 70 versions, and 60 scaling configurations.
func refRegion() *ecstest.Region {
	r := &ecstest.Region{Images: []ecstest.Image{img("m-1")}}
	for i := 1; i <= 60; i++ {
		r.LaunchTemplates = append(r.LaunchTemplates, ecstest.LaunchTemplate{ID: fmt.Sprintf("lt-%02d", i), Name: fmt.Sprintf("t%02d", i),
			Versions: []ecstest.LaunchTemplateVersion{{ImageID: fmt.Sprintf("m-t%02d", i)}}})
		r.ScalingConfigurations = append(r.ScalingConfigurations, ecstest.ScalingConfiguration{ID: fmt.Sprintf("asc-%02d", i),
			ScalingGroupID: "asg-1", ImageID: fmt.Sprintf("m-s%02d", i)})
	}
	last := &r.LaunchTemplates[59]
	last.DefaultVersion = 2
	for i := 2; i <= 70; i++ {
		last.Versions = append(last.Versions, ecstest.LaunchTemplateVersion{ImageID: fmt.Sprintf("m-v%02d", i)})
	}
	last.Versions[4].ImageID = "" // version 5 names no image
	return r
}

func TestLaunchTemplatesAndVersionsPages(t *testing.T) {
	srv, c := start(t, oneRegion(refRegion()), opts())
	ctx := context.Background()
	var templates []ecs.LaunchTemplate
	for page := 1; page <= 2; page++ {
		p, err := c.DescribeLaunchTemplatesPage(ctx, region, page, ecs.ReferencePageSize)
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalCount != 60 || p.RequestID == "" {
			t.Fatalf("page %d: TotalCount %d RequestID %q", page, p.TotalCount, p.RequestID)
		}
		templates = append(templates, p.Templates...)
	}
	if len(templates) != 60 || templates[59].ID != "lt-60" || templates[59].DefaultVersion != 2 || templates[59].LatestVersion != 70 {
		t.Fatalf("%d templates, last %+v", len(templates), templates[len(templates)-1])
	}
	call := lastCall(t, srv, "DescribeLaunchTemplates")
	if call.Params["PageSize"] != "50" || call.Params["PageNumber"] != "2" || call.Params["RegionId"] != region || call.Version != "2014-05-26" {
		t.Errorf("DescribeLaunchTemplates sent %+v version %s", call.Params, call.Version)
	}

	images := map[int64]string{}
	for page := 1; page <= 2; page++ {
		p, err := c.DescribeLaunchTemplateVersionsPage(ctx, region, "lt-60", page, ecs.ReferencePageSize)
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalCount != 70 {
			t.Fatalf("TotalCount %d", p.TotalCount)
		}
		for _, v := range p.Versions {
			if v.TemplateID != "lt-60" || v.Default != (v.Version == 2) {
				t.Errorf("%+v", v)
			}
			images[v.Version] = v.ImageID
		}
	}
	if len(images) != 70 || images[1] != "m-t60" || images[70] != "m-v70" || images[5] != "" {
		t.Errorf("%d versions; 1 %q, 70 %q, 5 %q", len(images), images[1], images[70], images[5])
	}
	call = lastCall(t, srv, "DescribeLaunchTemplateVersions")
	if call.Params["DetailFlag"] != "true" || call.Params["LaunchTemplateId"] != "lt-60" || call.Params["PageSize"] != "50" {
		t.Errorf("DescribeLaunchTemplateVersions sent %+v", call.Params)
	}
	_, err := c.DescribeLaunchTemplateVersionsPage(ctx, region, "lt-gone", 1, ecs.ReferencePageSize)
	asErr(t, err, ecs.ClassNotFound, "InvalidLaunchTemplate.NotFound")
}

// TestScalingConfigurationsShareTheEndpoint: with one Endpoint, the ESS call goes to it, signed
// and under ESS's own version, and the emulator answers it.
func TestScalingConfigurationsShareTheEndpoint(t *testing.T) {
	srv, c := start(t, oneRegion(refRegion()), opts())
	seen := map[string]bool{}
	for page := 1; page <= 2; page++ {
		p, err := c.DescribeScalingConfigurationsPage(context.Background(), region, page, ecs.ReferencePageSize)
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalCount != 60 || p.RequestID == "" {
			t.Fatalf("TotalCount %d RequestID %q", p.TotalCount, p.RequestID)
		}
		for _, sc := range p.Configurations {
			seen[sc.ID] = true
			if sc.ImageID != "m-s"+sc.ID[4:] || sc.ScalingGroupID != "asg-1" || sc.LifecycleState != "Active" {
				t.Errorf("%+v", sc)
			}
		}
	}
	if len(seen) != 60 {
		t.Errorf("%d scaling configurations, want 60", len(seen))
	}
	call := lastCall(t, srv, "DescribeScalingConfigurations")
	if call.Version != ecs.ESSAPIVersion || call.AccessKeyID != testKeyID || call.Params["PageSize"] != "50" || call.Params["RegionId"] != region {
		t.Errorf("sent version %s key %s params %+v", call.Version, call.AccessKeyID, call.Params)
	}
}

// TestESSEndpointOfItsOwn: ESSEndpoint sends the ESS calls elsewhere, and only them.
func TestESSEndpointOfItsOwn(t *testing.T) {
	ecsSrv := ecstest.NewServer(oneRegion(&ecstest.Region{}), opts())
	defer ecsSrv.Close()
	essSrv := ecstest.NewServer(oneRegion(refRegion()), opts())
	defer essSrv.Close()
	c, err := ecs.New(ecs.Config{Endpoint: ecsSrv.URL(), ESSEndpoint: essSrv.URL(), Credential: ecs.StaticCredential(testKeyID, testSecret, "")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.DescribeScalingConfigurationsPage(context.Background(), region, 1, ecs.ReferencePageSize)
	if err != nil || p.TotalCount != 60 {
		t.Fatalf("%d configurations, %v", p.TotalCount, err)
	}
	lt, err := c.DescribeLaunchTemplatesPage(context.Background(), region, 1, ecs.ReferencePageSize)
	if err != nil || lt.TotalCount != 0 {
		t.Fatalf("%d templates from the ECS endpoint, %v", lt.TotalCount, err)
	}
	for _, call := range ecsSrv.Calls() {
		if call.Action == "DescribeScalingConfigurations" {
			t.Error("an ESS call went to the ECS endpoint")
		}
	}
	if len(essSrv.Calls()) != 1 {
		t.Errorf("%d calls at the ESS endpoint, want 1", len(essSrv.Calls()))
	}
	if _, err := ecs.New(ecs.Config{ESSEndpoint: "http://ess.example.com"}); err == nil {
		t.Error("plain http to a non-loopback ESS endpoint accepted")
	}
}

func TestReferenceErrorsAreClassified(t *testing.T) {
	srv, c := start(t, oneRegion(refRegion()), opts())
	ctx := context.Background()
	srv.SetDeny("DescribeScalingConfigurations", "Forbidden.RAM")
	_, err := c.DescribeScalingConfigurationsPage(ctx, region, 1, ecs.ReferencePageSize)
	asErr(t, err, ecs.ClassFailed, "Forbidden.RAM")
	srv.SetDeny("DescribeScalingConfigurations", "")
	srv.SetDeny("DescribeLaunchTemplates", "Forbidden.RAM")
	_, err = c.DescribeLaunchTemplatesPage(ctx, region, 1, ecs.ReferencePageSize)
	asErr(t, err, ecs.ClassFailed, "Forbidden.RAM")
	srv.SetDeny("DescribeLaunchTemplates", "")

	srv.SetFaults("DescribeScalingConfigurations", ecstest.Faults{InternalErrorRatio: 1})
	_, err = c.DescribeScalingConfigurationsPage(ctx, region, 1, ecs.ReferencePageSize)
	asErr(t, err, ecs.ClassRetryable, "InternalError")
	srv.SetFaults("DescribeScalingConfigurations", ecstest.Faults{ThrottleRatio: 1})
	_, err = c.DescribeScalingConfigurationsPage(ctx, region, 1, ecs.ReferencePageSize)
	if e := asErr(t, err, ecs.ClassRetryable, ""); !e.Throttled {
		t.Errorf("a throttled ESS answer is not Throttled: %+v", e)
	}
	srv.SetFaults("DescribeScalingConfigurations", ecstest.Faults{})

	// A wrong secret: the ESS call's refusal carries no secret either.
	bad, err := ecs.New(ecs.Config{Endpoint: srv.URL(), Credential: ecs.StaticCredential(testKeyID, testSecret+"x", "")})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	_, err = bad.DescribeScalingConfigurationsPage(ctx, region, 1, ecs.ReferencePageSize)
	asErr(t, err, ecs.ClassFailed, "SignatureDoesNotMatch")
}

// TestScalingConfigurationsAnswerShapes: numbers may come quoted; an answer without its listing
// is never read as "no scaling configurations".
func TestScalingConfigurationsAnswerShapes(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		total      int
		code       string
	}{
		{"quoted numbers", `{"RequestId":"R","TotalCount":"1","PageNumber":"1","PageSize":"50","ScalingConfigurations":{"ScalingConfiguration":[{"ScalingConfigurationId":"asc-1","ImageId":"m-1"}]}}`, 1, ""},
		{"no listing", `{"RequestId":"R"}`, 0, ecs.CodeInvalidResponse},
		{"no id", `{"RequestId":"R","TotalCount":1,"ScalingConfigurations":{"ScalingConfiguration":[{"ImageId":"m-1"}]}}`, 0, ecs.CodeInvalidResponse},
		{"bad number", `{"RequestId":"R","TotalCount":"many","ScalingConfigurations":{"ScalingConfiguration":[]}}`, 0, ecs.CodeInvalidResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A stand-in server for one answer's shape; signatures are the emulator's business.
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			c, err := ecs.New(ecs.Config{Endpoint: srv.URL, Credential: ecs.StaticCredential(testKeyID, testSecret, ""), Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p, err := c.DescribeScalingConfigurationsPage(context.Background(), region, 1, ecs.ReferencePageSize)
			if tc.code != "" {
				asErr(t, err, ecs.ClassFailed, tc.code)
				return
			}
			if err != nil || p.TotalCount != tc.total || len(p.Configurations) != 1 || p.Configurations[0].ImageID != "m-1" {
				t.Fatalf("%+v %v", p, err)
			}
		})
	}
}
