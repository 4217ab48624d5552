package ecstest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testState() *State {
	return &State{Regions: map[string]*Region{
		"cn-hangzhou": {
			Images: []Image{
				{ID: "m-old1", Name: "ci-old-1", CreationTime: t0, Snapshots: []string{"s-old1", "s-old1b"}, Tags: map[string]string{"team": "ci"}},
				{ID: "m-old2", Name: "ci-old-2", CreationTime: t0.Add(time.Hour), Tags: map[string]string{"keep": "true", "team": "ci"}},
				{ID: "m-used", Name: "ci-used", CreationTime: t0.Add(2 * time.Hour), Snapshots: []string{"s-used"}},
				{ID: "m-shared", Name: "ci-shared", CreationTime: t0, SharedWith: []string{"111", "222", "333"}},
				{ID: "m-all", Name: "ci-all", CreationTime: t0, SharedToAll: true},
				{ID: "m-copying", Name: "ci-copy", CreationTime: t0, Copying: true},
				{ID: "m-importing", Name: "ci-imp", CreationTime: t0, Importing: true},
				{ID: "m-exporting", Name: "ci-exp", CreationTime: t0, Exporting: true},
				{ID: "m-public", Name: "ci-pub", CreationTime: t0, IsPublic: true},
				{ID: "m-creating", Name: "ci-creating", CreationTime: t0, Status: "Creating"},
				{ID: "m-waiting", Name: "ci-waiting", CreationTime: t0, Status: "Waiting"},
				{ID: "m-deprecated", Name: "ci-dep", CreationTime: t0, Status: "Deprecated"},
				{ID: "m-sys", Name: "aliyun_3_x64", CreationTime: t0, OwnerAlias: "system"},
				{ID: "m-other", Name: "other-img", CreationTime: t0, OwnerAlias: "others", OwnerID: "999"},
				{ID: "m-young", Name: "ci-young", CreationTime: t0.AddDate(0, 6, 0), Family: "ci-fam"},
			},
			Instances: []Instance{
				{ID: "i-1", ImageID: "m-used"}, {ID: "i-2", ImageID: "m-used"}, {ID: "i-3", ImageID: "m-used", Status: "Stopped"},
				{ID: "i-4", ImageID: "m-deleted-long-ago"},
			},
			Snapshots: []Snapshot{{ID: "s-disk", UsedByDisks: true}, {ID: "s-free"}},
		},
		"cn-shanghai": {Images: []Image{{ID: "m-sh1", Name: "ci-sh", CreationTime: t0}}},
	}}
}

func TestDescribeImagesBasics(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	list := func(req *ecs.DescribeImagesRequest) []string {
		t.Helper()
		req.RegionId = tea.String("cn-hangzhou")
		if req.PageSize == nil {
			req.PageSize = tea.Int32(100)
		}
		resp, err := c.DescribeImagesWithContext(ctx, req, rt)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, im := range resp.Body.Images.Image {
			ids = append(ids, tea.StringValue(im.ImageId))
		}
		if int(tea.Int32Value(resp.Body.TotalCount)) != len(ids) {
			t.Fatalf("TotalCount %d, got %d images", tea.Int32Value(resp.Body.TotalCount), len(ids))
		}
		return ids
	}
	eq := func(got []string, want ...string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// Status omitted: Available only, newest first, then by id.
	all := list(&ecs.DescribeImagesRequest{})
	eq(all, "m-young", "m-used", "m-old2", "m-all", "m-copying", "m-exporting", "m-importing", "m-old1", "m-other", "m-public", "m-shared", "m-sys")
	eq(list(&ecs.DescribeImagesRequest{Status: tea.String("Creating,Waiting")}), "m-creating", "m-waiting")
	eq(list(&ecs.DescribeImagesRequest{Status: tea.String("Deprecated"), ImageOwnerAlias: tea.String("self")}), "m-deprecated")
	eq(list(&ecs.DescribeImagesRequest{ImageOwnerAlias: tea.String("system")}), "m-sys")
	eq(list(&ecs.DescribeImagesRequest{ImageOwnerAlias: tea.String("others")}), "m-other")
	eq(list(&ecs.DescribeImagesRequest{ImageName: tea.String("old")}), "m-old2", "m-old1")
	eq(list(&ecs.DescribeImagesRequest{ImageId: tea.String("m-old1,m-sys,m-nope")}), "m-old1", "m-sys")
	eq(list(&ecs.DescribeImagesRequest{ImageFamily: tea.String("ci-fam")}), "m-young")
	eq(list(&ecs.DescribeImagesRequest{Usage: tea.String("instance")}), "m-used")
	eq(list(&ecs.DescribeImagesRequest{Tag: []*ecs.DescribeImagesRequestTag{{Key: tea.String("team"), Value: tea.String("ci")}}}), "m-old2", "m-old1")
	eq(list(&ecs.DescribeImagesRequest{Tag: []*ecs.DescribeImagesRequestTag{
		{Key: tea.String("team"), Value: tea.String("ci")}, {Key: tea.String("keep"), Value: tea.String("true")}}}), "m-old2")
	eq(list(&ecs.DescribeImagesRequest{Tag: []*ecs.DescribeImagesRequestTag{{Key: tea.String("keep")}}}), "m-old2")
	eq(list(&ecs.DescribeImagesRequest{Filter: []*ecs.DescribeImagesRequestFilter{
		{Key: tea.String("CreationStartTime"), Value: tea.String("2026-01-01T00:30Z")},
		{Key: tea.String("CreationEndTime"), Value: tea.String("2026-02-01T00:00Z")}}}), "m-used", "m-old2")
	eq(list(&ecs.DescribeImagesRequest{Filter: []*ecs.DescribeImagesRequestFilter{
		{Key: tea.String("CreationStartTime"), Value: tea.String("2026-03-01T00:00Z")}}}), "m-young")

	// Fields the SDK decodes.
	resp, err := c.DescribeImagesWithContext(ctx, &ecs.DescribeImagesRequest{RegionId: tea.String("cn-hangzhou"), ImageId: tea.String("m-old1,m-shared,m-used")}, rt)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*ecs.DescribeImagesResponseBodyImagesImage{}
	for _, im := range resp.Body.Images.Image {
		by[*im.ImageId] = im
	}
	old := by["m-old1"]
	if tea.StringValue(old.CreationTime) != "2026-01-01T00:00:00Z" || tea.StringValue(old.ImageOwnerAlias) != "self" ||
		tea.StringValue(old.Usage) != "none" || tea.StringValue(old.IsSelfShared) != "False" || tea.Int32Value(old.Size) != 20 ||
		tea.Int64Value(old.ImageOwnerId) != 1234567890123456 || tea.StringValue(old.Status) != "Available" {
		t.Fatalf("bad image fields: %s", old)
	}
	if m := old.DiskDeviceMappings.DiskDeviceMapping; len(m) != 2 || tea.StringValue(m[0].SnapshotId) != "s-old1" || tea.StringValue(m[1].SnapshotId) != "s-old1b" {
		t.Fatalf("bad mappings: %s", old.DiskDeviceMappings)
	}
	if tg := old.Tags.Tag; len(tg) != 1 || tea.StringValue(tg[0].TagKey) != "team" || tea.StringValue(tg[0].TagValue) != "ci" {
		t.Fatalf("bad tags: %s", old.Tags)
	}
	if tea.StringValue(by["m-shared"].IsSelfShared) != "True" || tea.StringValue(by["m-used"].Usage) != "instance" {
		t.Fatal("bad IsSelfShared/Usage")
	}
	if !regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`).MatchString(tea.StringValue(resp.Body.RequestId)) {
		t.Fatalf("bad request id %q", tea.StringValue(resp.Body.RequestId))
	}

	// Rejections.
	for _, tc := range []struct {
		req    *ecs.DescribeImagesRequest
		code   string
		status int
	}{
		{&ecs.DescribeImagesRequest{PageSize: tea.Int32(0)}, "InvalidParameter.PageSize", 400},
		{&ecs.DescribeImagesRequest{PageSize: tea.Int32(101)}, "InvalidParameter.PageSize", 400},
		{&ecs.DescribeImagesRequest{PageNumber: tea.Int32(0)}, "InvalidParameter.PageNumber", 400},
		{&ecs.DescribeImagesRequest{ImageOwnerAlias: tea.String("bob")}, "InvalidImageOwnerAlias.ValueNotSupported", 400},
		{&ecs.DescribeImagesRequest{Status: tea.String("Available,Nope")}, "InvalidStatus.ValueNotSupported", 400},
		{&ecs.DescribeImagesRequest{Filter: []*ecs.DescribeImagesRequestFilter{{Key: tea.String("CreationStartTime"), Value: tea.String("yesterday")}}}, "InvalidParameter.Filter", 400},
		{&ecs.DescribeImagesRequest{RegionId: tea.String("xx-nowhere")}, "InvalidRegionId.NotFound", 404},
	} {
		if tc.req.RegionId == nil {
			tc.req.RegionId = tea.String("cn-hangzhou")
		}
		_, err := c.DescribeImagesWithContext(ctx, tc.req, rt)
		wantCode(t, err, tc.code, tc.status)
	}
	st, eb, _ := doRaw(t, s, rawReq{query: url.Values{}})
	if st != 400 || eb.Code != "MissingParameter" || eb.RequestId == "" || eb.HostId == "" || eb.Recommend == "" {
		t.Fatalf("missing RegionId: %d %+v", st, eb)
	}
}

func TestDescribeImagesPaging(t *testing.T) {
	t.Parallel()
	imgs := GenerateImages(1050, "bulk", t0)
	for i := range imgs { // varied times so ordering matters
		imgs[i].CreationTime = t0.Add(time.Duration(i%37) * time.Minute)
	}
	s := NewServer(&State{Regions: map[string]*Region{"cn-hangzhou": {Images: imgs}}}, Options{})
	defer s.Close()
	c := newClient(t, s)
	seen := map[string]int{}
	var order []string
	for page := int32(1); ; page++ {
		resp, err := c.DescribeImagesWithContext(context.Background(), &ecs.DescribeImagesRequest{
			RegionId: tea.String("cn-hangzhou"), ImageOwnerAlias: tea.String("self"), PageSize: tea.Int32(100), PageNumber: tea.Int32(page)}, rt)
		if err != nil {
			t.Fatal(err)
		}
		if tea.Int32Value(resp.Body.TotalCount) != 1050 {
			t.Fatalf("TotalCount %d", tea.Int32Value(resp.Body.TotalCount))
		}
		if len(resp.Body.Images.Image) == 0 {
			break
		}
		for _, im := range resp.Body.Images.Image {
			seen[*im.ImageId]++
			order = append(order, *im.ImageId)
		}
	}
	if len(seen) != 1050 || len(order) != 1050 {
		t.Fatalf("saw %d distinct, %d total", len(seen), len(order))
	}
	want := s.Images("cn-hangzhou")
	for i := range want {
		if want[i].ID != order[i] {
			t.Fatalf("order differs at %d: %s vs %s", i, want[i].ID, order[i])
		}
	}
	if !regexp.MustCompile(`^m-[a-z0-9]+$`).MatchString(imgs[0].ID) || imgs[0].ID != "m-bulk0001" {
		t.Fatalf("bad generated id %s", imgs[0].ID)
	}
}

func TestDeleteImageRefusals(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{})
	defer s.Close()
	c := newClient(t, s)
	cases := []struct {
		id     string
		code   string
		status int
	}{
		{"m-copying", "OperationDenied.ImageCopying", 403},
		{"m-importing", "ImageIsImporting", 403},
		{"m-exporting", "ImageIsExporting", 403},
		{"m-public", "ImageIsPublic", 403},
		{"m-creating", "ImageIsCreating", 403},
		{"m-waiting", "ImageIsCreating", 403},
		{"m-shared", "ImageUseShared", 403},
		{"m-all", "ImageUseShared", 403},
		{"m-used", "ImageUsingByInstance", 403},
		{"m-nope", "InvalidImageId.NotFound", 404},
		{"m-sys", "InvalidImageId.NotFound", 404},
		{"m-other", "InvalidImageId.NotFound", 404},
	}
	for _, dry := range []bool{true, false} {
		for _, tc := range cases {
			wantCode(t, deleteImage(c, "cn-hangzhou", tc.id, dry, false), tc.code, tc.status)
		}
	}
	// Precedence: copying beats shared beats used.
	s2 := NewServer(&State{Regions: map[string]*Region{"r": {
		Images:    []Image{{ID: "m-a", Copying: true, SharedWith: []string{"1"}}, {ID: "m-b", SharedToAll: true}},
		Instances: []Instance{{ID: "i-a", ImageID: "m-a"}, {ID: "i-b", ImageID: "m-b"}},
	}}}, Options{})
	defer s2.Close()
	c2 := newClient(t, s2)
	wantCode(t, deleteImage(c2, "r", "m-a", false, true), "OperationDenied.ImageCopying", 403)
	wantCode(t, deleteImage(c2, "r", "m-b", false, true), "ImageUseShared", 403)
	// Message from the API page.
	err := deleteImage(c, "cn-hangzhou", "m-used", false, false)
	if !strings.Contains(err.Error(), "use the force parameter to proceed") {
		t.Fatalf("message: %v", err)
	}
	wantCode(t, deleteImage(c, "xx-nowhere", "m-old1", true, false), "InvalidRegionId.NotFound", 404)
	_, err = c.DeleteImageWithContext(context.Background(), &ecs.DeleteImageRequest{RegionId: tea.String("cn-hangzhou")}, rt)
	wantCode(t, err, "MissingParameter", 400)
	if len(s.Images("cn-hangzhou")) != 15 {
		t.Fatal("a refused delete changed state")
	}
}

func TestDeleteImageDryRunAndForce(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{})
	defer s.Close()
	c := newClient(t, s)
	before := s.State()
	for i := 0; i < 3; i++ {
		wantCode(t, deleteImage(c, "cn-hangzhou", "m-old1", true, false), "DryRunOperation", 400)
		wantCode(t, deleteImage(c, "cn-hangzhou", "m-used", true, true), "DryRunOperation", 400)
	}
	if !reflect.DeepEqual(before, s.State()) || len(s.Images("cn-hangzhou")) != 15 {
		t.Fatal("DryRun changed state")
	}
	// Real delete; snapshots stay.
	if err := deleteImage(c, "cn-hangzhou", "m-old1", false, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Image("cn-hangzhou", "m-old1"); ok {
		t.Fatal("image still there")
	}
	if !s.SnapshotExists("s-old1") || !s.SnapshotExists("s-old1b") {
		t.Fatal("snapshots were deleted with the image")
	}
	wantCode(t, deleteImage(c, "cn-hangzhou", "m-old1", false, false), "InvalidImageId.NotFound", 404)
	// Force deletes an image in use; instances stay.
	wantCode(t, deleteImage(c, "cn-hangzhou", "m-used", false, false), "ImageUsingByInstance", 403)
	if err := deleteImage(c, "cn-hangzhou", "m-used", false, true); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Image("cn-hangzhou", "m-used"); ok || len(s.Instances("cn-hangzhou")) != 4 {
		t.Fatal("force delete")
	}
	// Region isolation.
	wantCode(t, deleteImage(c, "cn-hangzhou", "m-sh1", true, false), "InvalidImageId.NotFound", 404)
	wantCode(t, deleteImage(c, "cn-shanghai", "m-sh1", true, false), "DryRunOperation", 400)

	calls := s.Calls()
	last := calls[len(calls)-1]
	if last.Action != "DeleteImage" || last.Region != "cn-shanghai" || last.ImageID != "m-sh1" || !last.DryRun ||
		last.Status != 400 || last.Code != "DryRunOperation" || last.AccessKeyID != AccessKeyID || last.Version != APIVersion ||
		last.Params["DryRun"] != "true" || last.End.Before(last.Start) || last.RequestID == "" {
		t.Fatalf("bad call log entry %+v", last)
	}
}

func TestMissingImageIgnore(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{MissingImage: "ignore"})
	defer s.Close()
	c := newClient(t, s)
	if err := deleteImage(c, "cn-hangzhou", "m-nope", false, false); err != nil {
		t.Fatal(err)
	}
	wantCode(t, deleteImage(c, "cn-hangzhou", "m-nope", true, false), "DryRunOperation", 400)
	wantCode(t, deleteImage(c, "cn-hangzhou", "m-used", false, false), "ImageUsingByInstance", 403)
}

func TestIgnoreDryRun(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{IgnoreDryRun: true})
	defer s.Close()
	c := newClient(t, s)
	if err := deleteImage(c, "cn-hangzhou", "m-old2", true, false); err != nil {
		t.Fatalf("faulty mode should answer 200: %v", err)
	}
	if _, ok := s.Image("cn-hangzhou", "m-old2"); ok {
		t.Fatal("faulty mode should really delete")
	}
	wantCode(t, deleteImage(c, "cn-hangzhou", "m-shared", true, false), "ImageUseShared", 403)
}

func TestDescribeInstances(t *testing.T) {
	t.Parallel()
	st := testState()
	for i := 0; i < 25; i++ {
		st.Regions["cn-hangzhou"].Instances = append(st.Regions["cn-hangzhou"].Instances, Instance{ID: fmt.Sprintf("i-x%02d", i), ImageID: "m-old2"})
	}
	s := NewServer(st, Options{})
	defer s.Close()
	c := newClient(t, s)
	var ids []string
	token := ""
	for pages := 0; ; pages++ {
		req := &ecs.DescribeInstancesRequest{RegionId: tea.String("cn-hangzhou"), ImageId: tea.String("m-old2"), MaxResults: tea.Int32(10)}
		if token != "" {
			req.NextToken = tea.String(token)
		}
		resp, err := c.DescribeInstancesWithContext(context.Background(), req, rt)
		if err != nil {
			t.Fatal(err)
		}
		if tea.Int32Value(resp.Body.TotalCount) != 25 {
			t.Fatalf("TotalCount %d", tea.Int32Value(resp.Body.TotalCount))
		}
		for _, in := range resp.Body.Instances.Instance {
			if tea.StringValue(in.ImageId) != "m-old2" || tea.StringValue(in.Status) != "Running" {
				t.Fatalf("bad instance %s", in)
			}
			ids = append(ids, tea.StringValue(in.InstanceId))
		}
		token = tea.StringValue(resp.Body.NextToken)
		if token == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(ids) != 25 || ids[0] != "i-x00" || ids[24] != "i-x24" {
		t.Fatalf("got %v", ids)
	}
	resp, err := c.DescribeInstancesWithContext(context.Background(), &ecs.DescribeInstancesRequest{RegionId: tea.String("cn-hangzhou"), ImageId: tea.String("m-used")}, rt)
	if err != nil || tea.Int32Value(resp.Body.TotalCount) != 3 || len(resp.Body.Instances.Instance) != 3 {
		t.Fatalf("m-used instances: %v %v", err, resp)
	}
	_, err = c.DescribeInstancesWithContext(context.Background(), &ecs.DescribeInstancesRequest{RegionId: tea.String("cn-hangzhou"), MaxResults: tea.Int32(101)}, rt)
	wantCode(t, err, "InvalidParameter.MaxResults", 400)
	_, err = c.DescribeInstancesWithContext(context.Background(), &ecs.DescribeInstancesRequest{RegionId: tea.String("cn-hangzhou"), NextToken: tea.String("garbage")}, rt)
	wantCode(t, err, "InvalidParameter.NextToken", 400)
}

func TestDescribeImageSharePermission(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{})
	defer s.Close()
	c := newClient(t, s)
	get := func(id string, page, size int32) (*ecs.DescribeImageSharePermissionResponse, error) {
		return c.DescribeImageSharePermissionWithContext(context.Background(), &ecs.DescribeImageSharePermissionRequest{
			RegionId: tea.String("cn-hangzhou"), ImageId: tea.String(id), PageNumber: tea.Int32(page), PageSize: tea.Int32(size)}, rt)
	}
	resp, err := get("m-shared", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	b := resp.Body
	if tea.Int32Value(b.TotalCount) != 3 || len(b.Accounts.Account) != 2 || tea.StringValue(b.Accounts.Account[0].AliyunId) != "111" ||
		tea.StringValue(b.Accounts.Account[0].SharedTime) == "" || len(b.ShareGroups.ShareGroup) != 0 || tea.StringValue(b.ImageId) != "m-shared" {
		t.Fatalf("bad answer %s", b)
	}
	resp, _ = get("m-shared", 2, 2)
	if len(resp.Body.Accounts.Account) != 1 || tea.StringValue(resp.Body.Accounts.Account[0].AliyunId) != "333" {
		t.Fatalf("page 2: %s", resp.Body)
	}
	resp, _ = get("m-all", 1, 10)
	if g := resp.Body.ShareGroups.ShareGroup; len(g) != 1 || tea.StringValue(g[0].Group) != "all" {
		t.Fatalf("share group: %s", resp.Body)
	}
	_, err = get("m-nope", 1, 10)
	wantCode(t, err, "InvalidImageId.NotFound", 404)
	_, err = get("m-shared", 1, 101)
	wantCode(t, err, "InvalidParameter.PageSize", 400)
}

func TestDeleteSnapshot(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{})
	defer s.Close()
	c := newClient(t, s)
	del := func(id string, force bool) error {
		req := &ecs.DeleteSnapshotRequest{SnapshotId: tea.String(id)}
		if force {
			req.Force = tea.Bool(true)
		}
		_, err := c.DeleteSnapshotWithContext(context.Background(), req, rt)
		return err
	}
	wantCode(t, del("s-old1", false), "SnapshotCreatedImage", 403)
	wantCode(t, del("s-disk", false), "SnapshotCreatedDisk", 403)
	wantCode(t, del("s-nope", false), "InvalidSnapshotId.NotFound", 404)
	if err := del("s-disk", true); err != nil {
		t.Fatal(err)
	}
	if err := del("s-free", false); err != nil {
		t.Fatal(err)
	}
	if err := deleteImage(c, "cn-hangzhou", "m-old1", false, false); err != nil {
		t.Fatal(err)
	}
	if err := del("s-old1", false); err != nil {
		t.Fatal(err)
	}
	if s.SnapshotExists("s-old1") || !s.SnapshotExists("s-old1b") {
		t.Fatal("snapshot state")
	}
	calls := s.Calls()
	if calls[len(calls)-1].Region != "cn-hangzhou" || calls[len(calls)-1].Params["RegionId"] != "" {
		t.Fatalf("DeleteSnapshot call log: %+v", calls[len(calls)-1])
	}
}

func TestSignatureRejections(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	s := NewServer(testState(), Options{
		Now:         func() time.Time { return now },
		Credentials: map[string]string{"LTAI5tOtherKey": "other-secret"},
	})
	defer s.Close()
	q := url.Values{"RegionId": {"cn-hangzhou"}, "ImageName": {"ci old*+ü"}}
	ok := rawReq{query: q, date: now, key: "LTAI5tOtherKey", secret: "other-secret"}
	if st, eb, _ := doRaw(t, s, ok); st != 200 {
		t.Fatalf("valid raw request: %d %+v", st, eb)
	}
	// Default credentials are not accepted when Credentials is set.
	def := rawReq{query: q, date: now}
	nonceReq := ok
	nonceReq.nonce = randNonce()
	cases := []struct {
		name   string
		rr     rawReq
		status int
		code   string
	}{
		{"no auth", rawReq{query: q, date: now, noAuth: true}, 400, "MissingAuthorization"},
		{"garbled", rawReq{query: q, date: now, auth: "ACS3-HMAC-SHA256 garbage"}, 400, "IncompleteSignature"},
		{"other algorithm", rawReq{query: q, date: now, auth: "HMAC-SHA1 Credential=x"}, 400, "IncompleteSignature"},
		{"unknown key", def, 404, "InvalidAccessKeyId.NotFound"},
		{"bad signature", rawReq{query: q, date: now, key: "LTAI5tOtherKey", secret: "other-secret", badSig: true}, 400, "SignatureDoesNotMatch"},
		{"wrong secret", rawReq{query: q, date: now, key: "LTAI5tOtherKey", secret: "nope"}, 400, "SignatureDoesNotMatch"},
		{"body hash", rawReq{query: q, date: now, key: "LTAI5tOtherKey", secret: "other-secret", body: "x", contentHash: strings.Repeat("a", 64)}, 400, "SignatureDoesNotMatch"},
		{"old date", rawReq{query: q, date: now.Add(-16 * time.Minute), key: "LTAI5tOtherKey", secret: "other-secret"}, 400, "InvalidTimeStamp.Expired"},
		{"future date", rawReq{query: q, date: now.Add(16 * time.Minute), key: "LTAI5tOtherKey", secret: "other-secret"}, 400, "InvalidTimeStamp.Expired"},
		{"unknown action", rawReq{action: "RunInstancesPlease", query: q, date: now, key: "LTAI5tOtherKey", secret: "other-secret"}, 404, "InvalidAction.NotFound"},
		{"wrong version", rawReq{version: "2016-03-14", query: q, date: now, key: "LTAI5tOtherKey", secret: "other-secret"}, 400, "InvalidVersion"},
		{"nonce first", nonceReq, 200, ""},
		{"nonce replay", nonceReq, 400, "SignatureNonceUsed"},
	}
	for _, tc := range cases {
		st, eb, m := doRaw(t, s, tc.rr)
		if st != tc.status || eb.Code != tc.code {
			t.Errorf("%s: got %d %q (%s), want %d %q", tc.name, st, eb.Code, eb.Message, tc.status, tc.code)
		}
		if st >= 400 {
			for _, k := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
				if _, ok := m[k]; !ok {
					t.Errorf("%s: error body lacks %s", tc.name, k)
				}
			}
		}
	}
	// Tampering with a signed parameter after signing.
	req := ok.build(s.URL())
	req.URL.RawQuery = strings.Replace(req.URL.RawQuery, "cn-hangzhou", "cn-shanghai", 1)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("tampered query: %d", resp.StatusCode)
	}
	// The real SDK with a wrong secret.
	c := newClient(t, s) // default key: not configured here
	_, err = c.DescribeImagesWithContext(context.Background(), &ecs.DescribeImagesRequest{RegionId: tea.String("cn-hangzhou")}, rt)
	wantCode(t, err, "InvalidAccessKeyId.NotFound", 404)
}

func TestFaultSeedReproducible(t *testing.T) {
	t.Parallel()
	run := func(seed int64) []string {
		s := NewServer(testState(), Options{Seed: seed, Faults: map[string]Faults{
			"*":           {ThrottleRatio: 0.2, InternalErrorRatio: 0.1, UnavailableRatio: 0.1},
			"DeleteImage": {ThrottleRatio: 0.3},
		}})
		defer s.Close()
		c := newClient(t, s)
		var codes []string
		for i := 0; i < 60; i++ {
			var err error
			if i%2 == 0 {
				err = deleteImage(c, "cn-hangzhou", "m-old1", true, false)
			} else {
				_, err = c.DescribeImagesWithContext(context.Background(), &ecs.DescribeImagesRequest{RegionId: tea.String("cn-hangzhou")}, rt)
			}
			code, st := errCode(err)
			codes = append(codes, fmt.Sprintf("%d %s", st, code))
		}
		return codes
	}
	a, b, other := run(42), run(42), run(7)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	if strings.Join(a, ",") == strings.Join(other, ",") {
		t.Fatal("different seeds gave identical faults")
	}
	kinds := map[string]bool{}
	for _, c := range a {
		kinds[c] = true
	}
	// Every fault answer is marked Injected, and nothing else is.
	s := NewServer(testState(), Options{Seed: 42, Faults: map[string]Faults{"*": {ThrottleRatio: 0.2, InternalErrorRatio: 0.1, UnavailableRatio: 0.1}}})
	defer s.Close()
	c := newClient(t, s)
	for range 40 {
		_ = deleteImage(c, "cn-hangzhou", "m-old1", true, false)
	}
	injected := 0
	for _, call := range s.Calls() {
		if call.Injected != (call.Code != "DryRunOperation") || call.Limited {
			t.Errorf("%s answered %d %s: Injected %v, Limited %v", call.Action, call.Status, call.Code, call.Injected, call.Limited)
		}
		if call.Injected {
			injected++
		}
	}
	if injected == 0 {
		t.Error("no fault was injected in 40 requests")
	}
	for _, want := range []string{"400 DryRunOperation", "0 ", "500 InternalError", "503 ServiceUnavailable"} {
		if !kinds[want] {
			t.Errorf("no %q among %v", want, kinds)
		}
	}
	if !kinds["400 Throttling.User"] && !kinds["429 Throttling"] {
		t.Errorf("no throttling among %v", kinds)
	}
}

func TestThrottleHeaders(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{Faults: map[string]Faults{"DescribeImages": {ThrottleRatio: 1}}})
	defer s.Close()
	for i := 0; i < 10; i++ {
		req := rawReq{query: url.Values{"RegionId": {"cn-hangzhou"}}}.build(s.URL())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header.Get("x-ratelimit-user-api")
		if !regexp.MustCompile(`^Limit:\d+,Remain:0,TimeLeft:\d+,Reset:\d+$`).MatchString(h) {
			t.Fatalf("bad rate limit header %q (status %d)", h, resp.StatusCode)
		}
	}
	// SetFaults at run time turns it off.
	s.SetFaults("DescribeImages", Faults{})
	if st, eb, _ := doRaw(t, s, rawReq{query: url.Values{"RegionId": {"cn-hangzhou"}}}); st != 200 {
		t.Fatalf("after SetFaults: %d %+v", st, eb)
	}
}

func TestDropAfterDelete(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{Faults: map[string]Faults{"DeleteImage": {DropAfterDeleteRatio: 1}}})
	defer s.Close()
	c := newClient(t, s)
	// DryRun is never dropped.
	wantCode(t, deleteImage(c, "cn-hangzhou", "m-old1", true, false), "DryRunOperation", 400)
	err := deleteImage(c, "cn-hangzhou", "m-old1", false, false)
	if code, _ := errCode(err); code != "transport" {
		t.Fatalf("want a transport error, got %v", err)
	}
	if _, ok := s.Image("cn-hangzhou", "m-old1"); ok {
		t.Fatal("the delete did not take effect")
	}
	calls := s.Calls()
	if last := calls[len(calls)-1]; !last.Dropped || last.ImageID != "m-old1" {
		t.Fatalf("call log: %+v", last)
	}
	// Refusals are answered normally.
	wantCode(t, deleteImage(c, "cn-hangzhou", "m-used", false, false), "ImageUsingByInstance", 403)
}

func TestRegionRPS(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{RegionRPS: 2}) // burst 1, a token every 500ms
	defer s.Close()
	c := newClient(t, s)
	throttled, okCount := 0, 0
	for i := 0; i < 30; i++ {
		err := deleteImage(c, "cn-hangzhou", "m-old1", true, false)
		switch code, st := errCode(err); {
		case code == "Throttling.User" && st == 400:
			throttled++
		case code == "DryRunOperation":
			okCount++
		default:
			t.Fatalf("unexpected %v", err)
		}
	}
	if throttled == 0 || okCount == 0 {
		t.Fatalf("throttled %d ok %d", throttled, okCount)
	}
	limited := 0
	for _, call := range s.Calls() {
		if call.Injected || call.Limited != (call.Code == "Throttling.User") {
			t.Errorf("%s answered %s: Limited %v, Injected %v", call.Action, call.Code, call.Limited, call.Injected)
		}
		if call.Limited {
			limited++
		}
	}
	if limited != throttled {
		t.Errorf("%d calls Limited, %d throttled", limited, throttled)
	}
	// Other region has its own bucket.
	wantCode(t, deleteImage(c, "cn-shanghai", "m-sh1", true, false), "DryRunOperation", 400)
	s.SetRegionRPS(0)
	for i := 0; i < 20; i++ {
		wantCode(t, deleteImage(c, "cn-hangzhou", "m-old1", true, false), "DryRunOperation", 400)
	}
}

// TestActionRPS: an action with a limit of its own has its own bucket in each region, and its
// requests leave the region's bucket (RegionRPS) to the other actions.
func TestActionRPS(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{RegionRPS: 2, ActionRPS: map[string]float64{"DeleteImage": 1}})
	defer s.Close()
	c := newClient(t, s)
	// The first DeleteImage takes the action's only token; the next is throttled.
	wantCode(t, deleteImage(c, "cn-hangzhou", "m-old1", true, false), "DryRunOperation", 400)
	wantCode(t, deleteImage(c, "cn-hangzhou", "m-old1", true, false), "Throttling.User", 400)
	// Another region, and the region's own bucket for other actions, are untouched.
	wantCode(t, deleteImage(c, "cn-shanghai", "m-sh1", true, false), "DryRunOperation", 400)
	req := &ecs.DescribeImagesRequest{RegionId: tea.String("cn-hangzhou")}
	if _, err := c.DescribeImagesWithContext(context.Background(), req, &dara.RuntimeOptions{}); err != nil {
		t.Fatalf("DescribeImages, with the region's bucket full: %v", err)
	}
}

func TestLatencyAndPeakInFlight(t *testing.T) {
	// Not parallel: the SDK's dara layer shares one cached http.Client between clients with the
	// same options and rewrites its Timeout per request, so another test's client could cut
	// these requests short.
	// The latency is long enough that all 16 arrive while the first still waits, even on a
	// loaded machine under the race detector.
	const latency = 4 * time.Second
	s := NewServer(testState(), Options{Faults: map[string]Faults{"*": {Latency: latency}}})
	defer s.Close()
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < 16; i++ {
		wg.Add(1)
		c := newClientN(t, s, i)
		go func() {
			defer wg.Done()
			if err := deleteImage(c, "cn-hangzhou", "m-old1", true, false); err == nil {
				t.Error("DryRun answered 200")
			}
		}()
	}
	// All 16 are held by the latency at once: nothing serialises them.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for s.PeakInFlight() < 16 {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("peak in flight %d", s.PeakInFlight())
		}
	}
	wg.Wait()
	if el := time.Since(start); el < latency {
		t.Fatalf("16 requests with %v latency took only %v: the latency was not applied", latency, el)
	}
	// A cancelled request stops waiting.
	c := newClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	s.SetFaults("*", Faults{Latency: 5 * time.Second})
	_, err := c.DescribeImagesWithContext(ctx, &ecs.DescribeImagesRequest{RegionId: tea.String("cn-hangzhou")}, rt)
	if err == nil {
		t.Fatal("expected a context error")
	}
}

func TestLoadState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := `regions:
  cn-hangzhou:
    images:
      - id: m-a1
        name: ci-a
        creation_time: 2026-01-02T03:04:05Z
        tags: {keep: "true"}
        snapshots: [s-a1]
    instances:
      - {id: i-1, image_id: m-a1}
`
	p := filepath.Join(dir, "good.yaml")
	os.WriteFile(p, []byte(good), 0o644)
	st, err := LoadState(p)
	if err != nil {
		t.Fatal(err)
	}
	im := st.Regions["cn-hangzhou"].Images[0]
	if im.ID != "m-a1" || !im.CreationTime.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || im.Tags["keep"] != "true" {
		t.Fatalf("decoded %+v", im)
	}
	for name, bad := range map[string]string{
		"unknown key":  strings.Replace(good, "name: ci-a", "nmae: ci-a", 1),
		"duplicate id": good + "      - {id: i-1, image_id: m-a1}\n",
		"bad status":   strings.Replace(good, "name: ci-a", "name: ci-a\n        status: Gone", 1),
	} {
		p := filepath.Join(dir, "bad.yaml")
		os.WriteFile(p, []byte(bad), 0o644)
		if _, err := LoadState(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := LoadState(filepath.Join("..", "..", "examples", "emulator-state.yaml")); err != nil {
		t.Fatalf("example state: %v", err)
	}
}

func TestServerOwnsCopy(t *testing.T) {
	t.Parallel()
	st := testState()
	s := NewServer(st, Options{})
	defer s.Close()
	st.Regions["cn-hangzhou"].Images[0].Name = "changed"
	st.Regions["cn-hangzhou"].Images[0].Tags["team"] = "changed"
	im, _ := s.Image("cn-hangzhou", "m-old1")
	if im.Name != "ci-old-1" || im.Tags["team"] != "ci" {
		t.Fatal("server shares memory with the caller's state")
	}
	im.Tags["team"] = "x"
	if im2, _ := s.Image("cn-hangzhou", "m-old1"); im2.Tags["team"] != "ci" {
		t.Fatal("Image returned shared memory")
	}
	if _, err := NewServerAt("0.0.0.0:0", nil, Options{}); err == nil {
		t.Fatal("non-loopback address accepted")
	}
	empty := NewServer(nil, Options{})
	defer empty.Close()
	if !strings.HasPrefix(empty.URL(), "http://127.0.0.1:") {
		t.Fatal(empty.URL())
	}
}

// TestExampleState checks the outcomes documented at the top of
// examples/emulator-state.yaml.
func TestExampleState(t *testing.T) {
	t.Parallel()
	st, err := LoadState(filepath.Join("..", "..", "examples", "emulator-state.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(st, Options{})
	defer s.Close()
	c := newClient(t, s)
	want := map[string]string{
		"cn-hangzhou/m-hzci0001": "DryRunOperation", "cn-hangzhou/m-hzci0002": "DryRunOperation",
		"cn-hangzhou/m-hzci0003": "DryRunOperation", "cn-hangzhou/m-hzci0004": "DryRunOperation",
		"cn-shanghai/m-shci0001": "DryRunOperation", "cn-shanghai/m-shci0002": "DryRunOperation",
		"cn-shanghai/m-shci0003":       "DryRunOperation",
		"cn-hangzhou/m-hzciused01":     "ImageUsingByInstance",
		"cn-hangzhou/m-hzcishare01":    "ImageUseShared",
		"cn-hangzhou/m-hzcicopy01":     "OperationDenied.ImageCopying",
		"cn-shanghai/m-shciexport01":   "ImageIsExporting",
		"cn-hangzhou/m-hzcicreating01": "ImageIsCreating",
		"cn-hangzhou/m-hzsys01":        "InvalidImageId.NotFound",
	}
	for key, code := range want {
		region, id, _ := strings.Cut(key, "/")
		if got, _ := errCode(deleteImage(c, region, id, true, false)); got != code {
			t.Errorf("%s: %s, want %s", key, got, code)
		}
	}
	cutoff := time.Date(2026, 10, 29, 0, 0, 0, 0, time.UTC)
	old := 0
	for _, region := range []string{"cn-hangzhou", "cn-shanghai"} {
		for _, im := range s.Images(region) {
			if !regexp.MustCompile(`^m-[a-z0-9]+$`).MatchString(im.ID) {
				t.Errorf("bad id %s", im.ID)
			}
			if strings.HasPrefix(im.Name, "ci-") && im.CreationTime.Before(cutoff) {
				old++
			}
		}
	}
	if total := len(s.Images("cn-hangzhou")) + len(s.Images("cn-shanghai")); total < 18 || old < 10 {
		t.Fatalf("%d images, %d old ci images", total, old)
	}
}

func TestDeny(t *testing.T) {
	t.Parallel()
	s := NewServer(testState(), Options{Deny: map[string]string{"cn-hangzhou/DeleteImage": "Forbidden.RAM"}})
	defer s.Close()
	c := newClient(t, s)
	wantCode(t, deleteImage(c, "cn-hangzhou", "m-old1", true, false), "Forbidden.RAM", 403)
	wantCode(t, deleteImage(c, "cn-shanghai", "m-sh1", true, false), "DryRunOperation", 400)
	s.SetDeny("DeleteImage", "InvalidAccessKeyId.NotFound")
	wantCode(t, deleteImage(c, "cn-shanghai", "m-sh1", true, false), "InvalidAccessKeyId.NotFound", 404)
	s.SetDeny("DeleteImage", "")
	s.SetDeny("cn-hangzhou/DeleteImage", "")
	wantCode(t, deleteImage(c, "cn-hangzhou", "m-old1", true, false), "DryRunOperation", 400)
}
