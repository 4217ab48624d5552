package ecstest

import (
	"context"
	"strings"
	"testing"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
)

// Tests of issue 17: where the emulator answered what the service does not.

func listIDs(t *testing.T, c *ecs.Client, req *ecs.DescribeImagesRequest) ([]string, int) {
	t.Helper()
	if req.RegionId == nil {
		req.RegionId = tea.String("cn-hangzhou")
	}
	resp, err := c.DescribeImagesWithContext(context.Background(), req, rt)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, im := range resp.Body.Images.Image {
		ids = append(ids, tea.StringValue(im.ImageId))
	}
	return ids, int(tea.Int32Value(resp.Body.TotalCount))
}

// TestDescribeImagesWithoutOwnerLeavesOutMarketplace: DescribeImages without ImageOwnerAlias
// lists system, self, shared and community images, not marketplace ones. An emulator that listed
// them would hide that the job's lookup of an explicit id never finds a marketplace image, and
// so reports it missing instead of not owned.
func TestDescribeImagesWithoutOwnerLeavesOutMarketplace(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &State{Regions: map[string]*Region{"cn-hangzhou": {Images: []Image{
		{ID: "m-market", Name: "market", CreationTime: created, OwnerAlias: "marketplace", OwnerID: "1"},
		{ID: "m-own", Name: "own", CreationTime: created},
		{ID: "m-sys", Name: "sys", CreationTime: created, OwnerAlias: "system"},
	}}}}
	s := NewServer(st, Options{})
	defer s.Close()
	c := newClient(t, s)
	got, total := listIDs(t, c, &ecs.DescribeImagesRequest{ImageId: tea.String("m-market,m-own,m-sys"), PageSize: tea.Int32(100)})
	if strings.Join(got, ",") != "m-own,m-sys" || total != 2 {
		t.Fatalf("without ImageOwnerAlias: got %v (TotalCount %d), want m-own,m-sys", got, total)
	}
	got, _ = listIDs(t, c, &ecs.DescribeImagesRequest{ImageId: tea.String("m-market,m-own"), ImageOwnerAlias: tea.String("marketplace")})
	if strings.Join(got, ",") != "m-market" {
		t.Fatalf("ImageOwnerAlias=marketplace: got %v, want m-market", got)
	}
}
