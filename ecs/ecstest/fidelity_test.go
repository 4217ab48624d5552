package ecstest

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
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

// stsClient is an SDK client signing with key and carrying token ("" for none).
func stsClient(t *testing.T, s *Server, key, secret, token string) *ecs.Client {
	t.Helper()
	conf := &openapiutil.Config{
		AccessKeyId: tea.String(key), AccessKeySecret: tea.String(secret),
		RegionId: tea.String("cn-hangzhou"), Endpoint: tea.String(s.Addr()), Protocol: tea.String("http"),
		ReadTimeout: tea.Int(10000), ConnectTimeout: tea.Int(5000), NoProxy: tea.String(s.Addr()),
	}
	if token != "" {
		conf.SecurityToken = tea.String(token)
	}
	c, err := ecs.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSecurityTokens: an STS key's request needs its own, unexpired security token. An emulator
// that never looked at x-acs-security-token answered 200 to all of these, and so hid that the
// job failed fast only on InvalidSecurityToken.Expired: a rotated or missing token cost one
// refused request per image.
func TestSecurityTokens(t *testing.T) {
	t.Parallel()
	clock := time.Now()
	s := NewServer(testState(), Options{
		Credentials: map[string]string{"STS.key1": "secret1", "STS.key2": "secret2", AccessKeyID: AccessKeySecret},
		STS: map[string]STSToken{
			"STS.key1": {Token: "token-one", Expires: clock.Add(time.Hour)},
			"STS.key2": {Token: "token-two"},
		},
	})
	defer s.Close()
	list := func(c *ecs.Client) error {
		_, err := c.DescribeImagesWithContext(context.Background(), &ecs.DescribeImagesRequest{RegionId: tea.String("cn-hangzhou")}, rt)
		return err
	}
	if err := list(stsClient(t, s, "STS.key1", "secret1", "token-one")); err != nil {
		t.Fatalf("the right token: %v", err)
	}
	if err := list(stsClient(t, s, AccessKeyID, AccessKeySecret, "")); err != nil {
		t.Fatalf("a plain access key needs no token: %v", err)
	}
	wantCode(t, list(stsClient(t, s, "STS.key1", "secret1", "")), "MissingSecurityToken", 400)
	wantCode(t, list(stsClient(t, s, "STS.key1", "secret1", "token-two")), "InvalidSecurityToken.MismatchWithAccessKey", 400)
	wantCode(t, list(stsClient(t, s, "STS.key1", "secret1", "garbage")), "InvalidSecurityToken.Malformed", 400)
	s.SetSTS("STS.key1", STSToken{Token: "token-one", Expires: clock.Add(-time.Second)})
	wantCode(t, list(stsClient(t, s, "STS.key1", "secret1", "token-one")), "InvalidSecurityToken.Expired", 400)
}

// TestDeleteSnapshotRefusals: DeleteSnapshot answers more than 404, SnapshotCreatedImage and
// SnapshotCreatedDisk. An emulator that knew only those hid that the job failed a shared
// snapshot (it must be kept, with the remedy) and gave up at once on a snapshot busy for a
// moment (it must be retried). A missing snapshot is ignored (200) when MissingSnapshot says so,
// as the parameter table has it.
func TestDeleteSnapshotRefusals(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &State{Regions: map[string]*Region{"cn-hangzhou": {
		Images: []Image{{ID: "m-a", Name: "a", CreationTime: created}},
		Snapshots: []Snapshot{
			{ID: "s-shared", Shared: true},
			{ID: "s-creating", CreatingSnapshot: true},
			{ID: "s-conflict", Conflict: true, BusyFor: 2},
			{ID: "s-related", RelatedNotFinished: true},
		},
	}}}
	for _, mode := range []string{"error", "ignore"} {
		s := NewServer(st, Options{MissingSnapshot: mode})
		defer s.Close()
		c := newClient(t, s)
		del := func(id string) error {
			_, err := c.DeleteSnapshotWithContext(context.Background(), &ecs.DeleteSnapshotRequest{SnapshotId: tea.String(id)}, rt)
			return err
		}
		wantCode(t, del("s-shared"), "InvalidOperation.DeleteSharedSnapshotUnsupported", 403)
		wantCode(t, del("s-creating"), "IncorrectDiskStatus.CreatingSnapshot", 400)
		wantCode(t, del("s-creating"), "IncorrectDiskStatus.CreatingSnapshot", 400)
		wantCode(t, del("s-related"), "InvalidOperation.RelatedSnapshotNotFinished", 403)
		wantCode(t, del("s-conflict"), "Operation.Conflict", 403)
		wantCode(t, del("s-conflict"), "Operation.Conflict", 403)
		if err := del("s-conflict"); err != nil {
			t.Fatalf("s-conflict after BusyFor: %v", err)
		}
		if mode == "ignore" {
			if err := del("s-nope"); err != nil {
				t.Fatalf("MissingSnapshot ignore: %v", err)
			}
		} else {
			wantCode(t, del("s-nope"), "InvalidSnapshotId.NotFound", 404)
		}
	}
	if _, err := NewHandler(nil, Options{MissingSnapshot: "maybe"}); err == nil {
		t.Error("MissingSnapshot \"maybe\" accepted")
	}
}

// TestTagQueryCap: a tag-filtered DescribeImages finds 1,000 images at most, however many match,
// as the API reference says. An emulator that returned every match hid that the job, which
// sends select.tags to the service, would clean up only part of a larger account, silently.
func TestTagQueryCap(t *testing.T) {
	t.Parallel()
	imgs := GenerateImages(1500, "tag", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for i := range imgs {
		imgs[i].Tags = map[string]string{"team": "ci"}
	}
	st := &State{Regions: map[string]*Region{"cn-hangzhou": {Images: imgs}}}
	for _, tc := range []struct {
		opts            Options
		total, listed   int
		untaggedListing int
	}{
		{Options{}, 1000, 1000, 1500},
		{Options{TagQueryTotal: "all"}, 1500, 1000, 1500},
		{Options{TagQueryCap: 250}, 250, 250, 1500},
		{Options{TagQueryCap: -1}, 1500, 1500, 1500},
	} {
		s := NewServer(st, tc.opts)
		c := newClient(t, s)
		count := func(tagged bool) (total, listed int) {
			for page := int32(1); page <= 20; page++ {
				req := &ecs.DescribeImagesRequest{PageNumber: tea.Int32(page), PageSize: tea.Int32(100)}
				if tagged {
					req.Tag = []*ecs.DescribeImagesRequestTag{{Key: tea.String("team"), Value: tea.String("ci")}}
				}
				ids, tot := listIDs(t, c, req)
				total = tot
				listed += len(ids)
			}
			return total, listed
		}
		total, listed := count(true)
		if total != tc.total || listed != tc.listed {
			t.Errorf("%+v: tagged TotalCount %d, listed %d; want %d, %d", tc.opts, total, listed, tc.total, tc.listed)
		}
		if _, listed := count(false); listed != tc.untaggedListing {
			t.Errorf("%+v: untagged listed %d, want %d", tc.opts, listed, tc.untaggedListing)
		}
		s.Close()
	}
}

// dialCaller is an SDK HTTP client that connects every host to one address.
type dialCaller struct{ c *http.Client }

func (d dialCaller) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	return d.c.Do(req)
}

func dialTo(addr string) dialCaller {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return dialCaller{c: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}}
}

// hostClient is an SDK client whose requests go to host (a service host name) and reach s.
func hostClient(t *testing.T, s *Server, host string) *ecs.Client {
	t.Helper()
	c, err := ecs.NewClient(&openapiutil.Config{
		AccessKeyId: tea.String(AccessKeyID), AccessKeySecret: tea.String(AccessKeySecret),
		RegionId: tea.String("cn-hangzhou"), Endpoint: tea.String(host), Protocol: tea.String("http"),
		ReadTimeout: tea.Int(10000), ConnectTimeout: tea.Int(5000), HttpClient: dialTo(s.Addr()),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRegionalEndpoints: with RegionalEndpoints, each region is served under its own host
// names and a request for another region is refused. An emulator that served every region and
// both products on one URL passed a call sent to the wrong region's endpoint (DeleteSnapshot,
// which names no region, above all), which the service would refuse or, worse, not find.
func TestRegionalEndpoints(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &State{Regions: map[string]*Region{
		"cn-hangzhou": {Images: []Image{{ID: "m-h", Name: "h", CreationTime: created}}, Snapshots: []Snapshot{{ID: "s-h"}}},
		"cn-chengdu":  {Images: []Image{{ID: "m-c", Name: "c", CreationTime: created}}, Snapshots: []Snapshot{{ID: "s-c"}}},
	}}
	s := NewServer(st, Options{RegionalEndpoints: true})
	defer s.Close()
	list := func(host, region string) error {
		_, err := hostClient(t, s, host).DescribeImagesWithContext(context.Background(),
			&ecs.DescribeImagesRequest{RegionId: tea.String(region)}, rt)
		return err
	}
	for _, ok := range []struct{ host, region string }{
		{"ecs.cn-hangzhou.aliyuncs.com", "cn-hangzhou"}, {"ecs-cn-hangzhou.aliyuncs.com", "cn-hangzhou"},
		{"ecs.cn-chengdu.aliyuncs.com", "cn-chengdu"}, {"ecs.aliyuncs.com", "cn-chengdu"},
	} {
		if err := list(ok.host, ok.region); err != nil {
			t.Errorf("%s at %s: %v", ok.region, ok.host, err)
		}
	}
	wantCode(t, list("ecs.cn-hangzhou.aliyuncs.com", "cn-chengdu"), CodeWrongEndpoint, 400)
	wantCode(t, list("ess.cn-chengdu.aliyuncs.com", "cn-chengdu"), "InvalidAction.NotFound", 404)
	wantCode(t, list(s.Addr(), "cn-hangzhou"), CodeWrongEndpoint, 400)
	del := func(host, id string) error {
		_, err := hostClient(t, s, host).DeleteSnapshotWithContext(context.Background(),
			&ecs.DeleteSnapshotRequest{SnapshotId: tea.String(id)}, rt)
		return err
	}
	wantCode(t, del("ecs.cn-hangzhou.aliyuncs.com", "s-c"), "InvalidSnapshotId.NotFound", 404)
	if !s.SnapshotExists("s-c") {
		t.Fatal("s-c deleted through cn-hangzhou's endpoint")
	}
	if err := del("ecs.cn-chengdu.aliyuncs.com", "s-c"); err != nil {
		t.Fatalf("s-c at its own endpoint: %v", err)
	}
	calls := s.Calls()
	if h := calls[len(calls)-1].Host; h != "ecs.cn-chengdu.aliyuncs.com" {
		t.Errorf("call log Host %q", h)
	}
}

// TestESSErrorBody: Auto Scaling's error answers carry RequestId, HostId (an ess host), Code and
// Message, without ECS's Recommend, and its unknown access key is 400, not ECS's 404. An
// emulator that answered ESS with ECS's body hid whether the job read ESS errors from the
// fields ESS actually sends.
func TestESSErrorBody(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{Deny: map[string]string{"DescribeScalingConfigurations": "Forbidden.RAM"}})
	defer s.Close()
	q := url.Values{"RegionId": {"cn-chengdu"}}
	st, eb, m := doRaw(t, s, rawReq{action: "DescribeScalingConfigurations", version: ESSAPIVersion, query: q})
	if st != 403 || eb.Code != "Forbidden.RAM" || eb.HostId != "ess.cn-chengdu.aliyuncs.com" || eb.RequestId == "" || eb.Message == "" {
		t.Errorf("ESS refusal: %d %+v", st, eb)
	}
	if _, ok := m["Recommend"]; ok {
		t.Errorf("ESS error body has ECS's Recommend: %v", m)
	}
	q = url.Values{"RegionId": {"cn-hangzhou"}}
	st, eb, _ = doRaw(t, s, rawReq{action: "DescribeScalingConfigurations", version: ESSAPIVersion, query: q})
	if eb.HostId != "ess.aliyuncs.com" {
		t.Errorf("cn-hangzhou's ESS HostId %q, want the central ess.aliyuncs.com", eb.HostId)
	}
	st, eb, _ = doRaw(t, s, rawReq{action: "DescribeScalingConfigurations", version: ESSAPIVersion, query: q, key: "LTAI5tNobody", secret: "x"})
	if st != 400 || eb.Code != "InvalidAccessKeyId.NotFound" {
		t.Errorf("ESS unknown key: %d %+v, want 400 InvalidAccessKeyId.NotFound", st, eb)
	}
	st, eb, m = doRaw(t, s, rawReq{action: "DescribeImages", query: url.Values{"RegionId": {"cn-hangzhou"}}, key: "LTAI5tNobody", secret: "x"})
	if st != 404 || eb.HostId != "ecs.cn-hangzhou.aliyuncs.com" || m["Recommend"] == nil {
		t.Errorf("ECS unknown key: %d %+v", st, eb)
	}
}
