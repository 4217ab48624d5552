package ecs_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
)

// Regions is one signed DescribeRegions through the real SDK, in English, with no RegionId.
func TestRegions(t *testing.T) {
	o := opts()
	o.Regions = []string{"ap-southeast-1"}
	srv, c := start(t, oneRegion(&ecstest.Region{}), o)
	got, err := c.Regions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "ap-southeast-1" || got[1].ID != region {
		t.Fatalf("regions %+v", got)
	}
	calls := srv.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1", len(calls))
	}
	call := calls[0]
	if call.Action != "DescribeRegions" || call.Status != 200 || call.AccessKeyID != testKeyID || call.Params["AcceptLanguage"] != "en-US" || call.Region != "" {
		t.Fatalf("call %+v", call)
	}
}

// A refusal is classified like any other call's, without the secret.
func TestRegionsRefused(t *testing.T) {
	o := opts()
	o.Deny = map[string]string{"DescribeRegions": "Forbidden.RAM"}
	_, c := start(t, oneRegion(&ecstest.Region{}), o)
	_, err := c.Regions(context.Background())
	asErr(t, err, ecs.ClassFailed, "Forbidden.RAM")
}

// Without an Endpoint override the call goes to the central endpoint, whatever the regions.
func TestRegionsCentralEndpoint(t *testing.T) {
	o := opts()
	o.RegionalEndpoints = true
	srv := ecstest.NewServer(oneRegion(&ecstest.Region{}), o)
	t.Cleanup(srv.Close)
	c, err := ecs.New(ecs.Config{Credential: ecs.StaticCredential(testKeyID, testSecret, ""), Timeout: 10 * time.Second,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Addr())
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Regions(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := lastCall(t, srv, "DescribeRegions").Host; h != ecs.CentralEndpoint {
		t.Fatalf("DescribeRegions went to %q, want %s", h, ecs.CentralEndpoint)
	}
}
