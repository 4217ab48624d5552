package ecstest

import (
	"context"
	"testing"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
)

// DescribeRegions lists the state's regions and Options.Regions, sorted, through the real SDK;
// an extra region answers like an empty one.
func TestDescribeRegions(t *testing.T) {
	st := &State{Regions: map[string]*Region{
		"cn-shanghai": {Images: []Image{{ID: "m-sh1", Name: "a"}}},
		"cn-hangzhou": {},
	}}
	s := NewServer(st, Options{Regions: []string{"ap-southeast-1", "cn-hangzhou"}})
	defer s.Close()
	c := newClient(t, s)
	resp, err := c.DescribeRegionsWithContext(context.Background(), &ecs.DescribeRegionsRequest{AcceptLanguage: tea.String("en-US")}, rt)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range resp.Body.Regions.Region {
		got = append(got, tea.StringValue(r.RegionId))
		if tea.StringValue(r.Status) != "available" || tea.StringValue(r.RegionEndpoint) != "ecs."+tea.StringValue(r.RegionId)+".aliyuncs.com" {
			t.Errorf("region %s: status %q, endpoint %q", tea.StringValue(r.RegionId), tea.StringValue(r.Status), tea.StringValue(r.RegionEndpoint))
		}
	}
	want := []string{"ap-southeast-1", "cn-hangzhou", "cn-shanghai"}
	if len(got) != len(want) {
		t.Fatalf("regions %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("regions %v, want %v", got, want)
		}
	}
	if tea.StringValue(resp.Body.RequestId) == "" {
		t.Error("no RequestId")
	}
	calls := s.Calls()
	if len(calls) != 1 || calls[0].Action != "DescribeRegions" || calls[0].Region != "" || calls[0].Status != 200 {
		t.Fatalf("calls %+v", calls)
	}

	// The extra region is an empty region, not an unknown one.
	img, err := c.DescribeImagesWithContext(context.Background(), &ecs.DescribeImagesRequest{RegionId: tea.String("ap-southeast-1"), ImageOwnerAlias: tea.String("self")}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if n := tea.Int32Value(img.Body.TotalCount); n != 0 {
		t.Errorf("ap-southeast-1 lists %d images, want 0", n)
	}
	_, err = c.DescribeImagesWithContext(context.Background(), &ecs.DescribeImagesRequest{RegionId: tea.String("cn-hangzou")}, rt)
	if code, status := errCode(err); code != "InvalidRegionId.NotFound" || status != 404 {
		t.Errorf("an unknown region answers %s %d, want InvalidRegionId.NotFound 404", code, status)
	}
}

func TestOptionsRegionsEmptyRefused(t *testing.T) {
	if _, err := NewHandler(nil, Options{Regions: []string{""}}); err == nil {
		t.Fatal("an empty region id was accepted")
	}
}
