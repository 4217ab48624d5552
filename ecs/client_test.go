package ecs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
)

// The real SDK over real HTTP against the emulator: nothing of the SDK is faked here.

const (
	region = "cn-hangzhou"
	// A distinctive credential, to prove no error message ever carries the secret.
	testKeyID  = "LTAItestKeyDistinct01"
	testSecret = "Zq8-unmistakable-Secret-Vw3"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func opts() ecstest.Options {
	return ecstest.Options{Credentials: map[string]string{testKeyID: testSecret}, Seed: 1}
}

func start(t *testing.T, st *ecstest.State, o ecstest.Options) (*ecstest.Server, *ecs.Client) {
	t.Helper()
	srv := ecstest.NewServer(st, o)
	t.Cleanup(srv.Close)
	c, err := ecs.New(ecs.Config{Endpoint: srv.URL(), Credential: ecs.StaticCredential(testKeyID, testSecret, ""),
		Timeout: 10 * time.Second, MaxIdleConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func oneRegion(r *ecstest.Region) *ecstest.State {
	return &ecstest.State{Regions: map[string]*ecstest.Region{region: r}}
}

func img(id string) ecstest.Image {
	return ecstest.Image{ID: id, Name: id, CreationTime: t0}
}

// asErr checks that err is an *ecs.Error of the class and code, and never carries the secret.
func asErr(t *testing.T, err error, class ecs.Class, code string) *ecs.Error {
	t.Helper()
	var e *ecs.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *ecs.Error %v %s, got %T %v", class, code, err, err)
	}
	if e.Class != class || (code != "" && e.Code != code) {
		t.Fatalf("got %v %q (%s), want %v %q", e.Class, e.Code, e.Message, class, code)
	}
	noSecret(t, e)
	return e
}

func noSecret(t *testing.T, e *ecs.Error) {
	t.Helper()
	for _, s := range []string{e.Error(), e.Message, e.RequestID, fmt.Sprintf("%+v", *e)} {
		if strings.Contains(s, testSecret) || strings.Contains(s, ecstest.AccessKeySecret) {
			t.Fatalf("secret in error: %q", s)
		}
	}
	if e.Err != nil && strings.Contains(e.Err.Error(), testSecret) {
		t.Fatalf("secret in Err: %q", e.Err)
	}
}

func lastCall(t *testing.T, srv *ecstest.Server, action string) ecstest.Call {
	t.Helper()
	calls := srv.Calls()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Action == action {
			return calls[i]
		}
	}
	t.Fatalf("no %s call", action)
	return ecstest.Call{}
}

func TestSignatureRejections(t *testing.T) {
	srv := ecstest.NewServer(oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-1")}}), opts())
	defer srv.Close()
	for _, tc := range []struct {
		id, secret, code string
	}{
		{testKeyID, testSecret + "x", "SignatureDoesNotMatch"},
		{"LTAIunknownKey", testSecret, "InvalidAccessKeyId.NotFound"},
	} {
		c, err := ecs.New(ecs.Config{Endpoint: srv.URL(), Credential: ecs.StaticCredential(tc.id, tc.secret, "")})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.DescribeImagesPage(context.Background(), region, ecs.ListFilter{}, 1, 10)
		e := asErr(t, err, ecs.ClassFailed, tc.code)
		if strings.Contains(e.Error(), tc.secret) || e.RequestID == "" || e.StatusCode < 400 {
			t.Errorf("%s: %+v", tc.code, e)
		}
		_, err = c.DeleteImage(context.Background(), ecs.DeleteImageInput{Region: region, ImageID: "m-1", Force: false, DryRun: true})
		asErr(t, err, ecs.ClassFailed, tc.code)
	}
	if _, ok := srv.Image(region, "m-1"); !ok {
		t.Fatal("a rejected call changed state")
	}
}

func TestRefusalsAreBlocked(t *testing.T) {
	shared := img("m-shared")
	shared.SharedWith = []string{"1111"}
	all := img("m-all")
	all.SharedToAll = true
	public := img("m-public")
	public.IsPublic = true
	copying := img("m-copying")
	copying.Copying = true
	importing := img("m-importing")
	importing.Importing = true
	exporting := img("m-exporting")
	exporting.Exporting = true
	creating := img("m-creating")
	creating.Status = ecs.StatusCreating
	st := oneRegion(&ecstest.Region{
		Images:    []ecstest.Image{img("m-used"), shared, all, public, copying, importing, exporting, creating},
		Instances: []ecstest.Instance{{ID: "i-1", ImageID: "m-used"}},
	})
	srv, c := start(t, st, opts())
	want := map[string]string{
		"m-used": "ImageUsingByInstance", "m-shared": "ImageUseShared", "m-all": "ImageUseShared",
		"m-public": "ImageIsPublic", "m-copying": "OperationDenied.ImageCopying", "m-importing": "ImageIsImporting",
		"m-exporting": "ImageIsExporting", "m-creating": "ImageIsCreating",
	}
	for id, code := range want {
		for _, dry := range []bool{true, false} {
			_, err := c.DeleteImage(context.Background(), ecs.DeleteImageInput{Region: region, ImageID: id, Force: false, DryRun: dry})
			e := asErr(t, err, ecs.ClassBlocked, code)
			if e.StatusCode != 403 || e.RequestID == "" {
				t.Errorf("%s: %+v", id, e)
			}
		}
		if _, ok := srv.Image(region, id); !ok {
			t.Errorf("%s deleted despite the refusal", id)
		}
	}
}

func TestDryRunNeverChangesState(t *testing.T) {
	srv, c := start(t, oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-1")}}), opts())
	for i := 0; i < 3; i++ {
		res, err := c.DeleteImage(context.Background(), ecs.DeleteImageInput{Region: region, ImageID: "m-1", Force: false, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.RequestID == "" {
			t.Error("no request id from a passing dry run")
		}
	}
	if _, ok := srv.Image(region, "m-1"); !ok {
		t.Fatal("dry run deleted the image")
	}
	call := lastCall(t, srv, "DeleteImage")
	if !call.DryRun || call.Code != "DryRunOperation" || call.Params["Force"] == "true" {
		t.Errorf("call %+v", call)
	}
	// The nonce is fresh on every call: three identical dry runs all passed above.
	res, err := c.DeleteImage(context.Background(), ecs.DeleteImageInput{Region: region, ImageID: "m-1", Force: false, DryRun: false})
	if err != nil || res.RequestID == "" {
		t.Fatalf("real delete: %v %+v", err, res)
	}
	if _, ok := srv.Image(region, "m-1"); ok {
		t.Fatal("real delete left the image")
	}
	if call := lastCall(t, srv, "DeleteImage"); call.DryRun || call.Params["DryRun"] == "true" {
		t.Errorf("real delete sent DryRun: %+v", call.Params)
	}
}

func TestForceOnlyWhenAsked(t *testing.T) {
	st := oneRegion(&ecstest.Region{
		Images:    []ecstest.Image{img("m-used")},
		Instances: []ecstest.Instance{{ID: "i-1", ImageID: "m-used"}},
	})
	srv, c := start(t, st, opts())
	ctx := context.Background()
	_, err := c.DeleteImage(ctx, ecs.DeleteImageInput{Region: region, ImageID: "m-used", Force: false, DryRun: false})
	asErr(t, err, ecs.ClassBlocked, "ImageUsingByInstance")
	if call := lastCall(t, srv, "DeleteImage"); call.Force || call.Params["Force"] == "true" {
		t.Fatalf("Force sent unasked: %+v", call.Params)
	}
	if _, err := c.DeleteImage(ctx, ecs.DeleteImageInput{Region: region, ImageID: "m-used", Force: true, DryRun: true}); err != nil {
		t.Fatalf("forced dry run: %v", err)
	}
	if _, err := c.DeleteImage(ctx, ecs.DeleteImageInput{Region: region, ImageID: "m-used", Force: true, DryRun: false}); err != nil {
		t.Fatalf("forced delete: %v", err)
	}
	if call := lastCall(t, srv, "DeleteImage"); !call.Force || call.Params["Force"] != "true" {
		t.Fatalf("Force not sent: %+v", call.Params)
	}
	for _, call := range srv.Calls() {
		if call.Params["Force"] == "true" && !call.Force {
			t.Errorf("inconsistent call log %+v", call)
		}
	}
}

func TestListImagesPagesEveryImageOnce(t *testing.T) {
	images := ecstest.GenerateImages(1050, "pg", t0)
	srv, c := start(t, oneRegion(&ecstest.Region{Images: images}), opts())
	got, err := ecs.ListImages(context.Background(), c, region, ecs.ListFilter{OwnerAlias: ecs.OwnerSelf})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1050 {
		t.Fatalf("%d images", len(got))
	}
	seen := map[string]bool{}
	for _, im := range got {
		if seen[im.ID] {
			t.Fatalf("%s twice", im.ID)
		}
		seen[im.ID] = true
	}
	for _, im := range images {
		if !seen[im.ID] {
			t.Fatalf("%s missing", im.ID)
		}
	}
	n := 0
	for _, call := range srv.Calls() {
		if call.Action == "DescribeImages" {
			n++
			if call.Params["PageSize"] != "100" || call.Params["ImageOwnerAlias"] != "self" {
				t.Errorf("params %+v", call.Params)
			}
		}
	}
	if n != 11 {
		t.Errorf("%d pages for 1050 images", n)
	}
}

func TestDescribeImagesMapping(t *testing.T) {
	full := ecstest.Image{ID: "m-full", Name: "web-1", Family: "web", CreationTime: t0, OwnerAlias: "self",
		Tags: map[string]string{"team": "a", "env": "prod"}, SizeGiB: 40, Snapshots: []string{"s-sys", "s-data"},
		SharedWith: []string{"2222"}}
	old := img("m-old")
	old.CreationTime = t0.Add(-48 * time.Hour)
	st := oneRegion(&ecstest.Region{Images: []ecstest.Image{full, old},
		Snapshots: []ecstest.Snapshot{{ID: "s-sys", SizeGiB: 40}, {ID: "s-data", SizeGiB: 100}}})
	srv, c := start(t, st, opts())
	ctx := context.Background()
	page, err := c.DescribeImagesPage(ctx, region, ecs.ListFilter{ImageID: "m-full"}, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Images) != 1 || page.TotalCount != 1 || page.RequestID == "" || page.PageNumber != 1 || page.PageSize != 10 {
		t.Fatalf("%+v", page)
	}
	im := page.Images[0]
	if im.ID != "m-full" || im.Name != "web-1" || im.Family != "web" || !im.CreationTime.Equal(t0) ||
		im.Status != ecs.StatusAvailable || im.OwnerAlias != "self" || !im.Shared || im.Public || im.SizeGiB != 40 ||
		im.Tags["team"] != "a" || im.Tags["env"] != "prod" || len(im.Tags) != 2 {
		t.Errorf("%+v", im)
	}
	if len(im.Snapshots) != 2 || im.Snapshots[0].ID != "s-sys" || im.Snapshots[1].ID != "s-data" {
		t.Errorf("snapshots %+v", im.Snapshots)
	}
	// Server-side filters: tags, name, creation window.
	for name, f := range map[string]ecs.ListFilter{
		"tag":    {Tags: map[string]string{"team": "a"}},
		"name":   {Name: "web"},
		"after":  {CreatedAfter: t0.Add(-time.Hour)},
		"before": {CreatedBefore: t0.Add(-24 * time.Hour)},
	} {
		got, err := ecs.ListImages(ctx, c, region, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := "m-full"
		if name == "before" {
			want = "m-old"
		}
		if len(got) != 1 || got[0].ID != want {
			t.Errorf("%s: %d images %v", name, len(got), got)
		}
	}
	// What went on the wire.
	want := map[string]bool{"Tag.1.Key=team": false, "Tag.1.Value=a": false, "ImageName=web": false,
		"Filter.1.Key=CreationStartTime": false, "Filter.1.Value=2026-03-01T11:00Z": false,
		"Filter.1.Key=CreationEndTime": false, "Filter.1.Value=2026-02-28T12:00Z": false}
	for _, call := range srv.Calls() {
		for k, v := range call.Params {
			if _, ok := want[k+"="+v]; ok {
				want[k+"="+v] = true
			}
		}
		if _, ok := call.Params["Status"]; ok {
			t.Errorf("Status sent unasked: %v", call.Params)
		}
	}
	for kv, seen := range want {
		if !seen {
			t.Errorf("never sent %s", kv)
		}
	}
}

func TestStatusDefaultIsAvailableOnly(t *testing.T) {
	var images []ecstest.Image
	for _, s := range ecs.AllStatuses {
		im := img("m-" + strings.ToLower(s))
		im.Status = s
		images = append(images, im)
	}
	_, c := start(t, oneRegion(&ecstest.Region{Images: images}), opts())
	got, err := ecs.ListImages(context.Background(), c, region, ecs.ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Status != ecs.StatusAvailable {
		t.Fatalf("no statuses gave %v", got)
	}
	got, err = ecs.ListImages(context.Background(), c, region, ecs.ListFilter{Statuses: ecs.AllStatuses})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ecs.AllStatuses) {
		t.Fatalf("all statuses gave %d images", len(got))
	}
}

func TestDryRunIgnoredIsFatal(t *testing.T) {
	o := opts()
	o.IgnoreDryRun = true
	_, c := start(t, oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-1")}}), o)
	_, err := c.DeleteImage(context.Background(), ecs.DeleteImageInput{Region: region, ImageID: "m-1", Force: false, DryRun: true})
	e := asErr(t, err, ecs.ClassDryRunIgnored, ecs.CodeDryRunNotHonoured)
	if e.RequestID == "" {
		t.Error("no request id")
	}
}

func TestThrottling(t *testing.T) {
	o := opts()
	o.Faults = map[string]ecstest.Faults{"DeleteImage": {ThrottleRatio: 1}}
	_, c := start(t, oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-1")}}), o)
	codes := map[string]bool{}
	for i := 0; i < 30; i++ {
		_, err := c.DeleteImage(context.Background(), ecs.DeleteImageInput{Region: region, ImageID: "m-1", Force: false, DryRun: true})
		e := asErr(t, err, ecs.ClassRetryable, "")
		codes[e.Code] = true
		if strings.HasPrefix(e.Code, "Throttling") || e.StatusCode == 429 {
			// The TimeLeft header hint survives because the SDK error conversion is off.
			if !e.Throttled || e.RetryAfter <= 0 {
				t.Fatalf("%s: throttled %v RetryAfter %v", e.Code, e.Throttled, e.RetryAfter)
			}
		}
	}
	if !codes["Throttling.User"] {
		t.Errorf("codes seen %v", codes)
	}
}

func TestRegionRateLimit(t *testing.T) {
	o := opts()
	o.RegionRPS = 2
	_, c := start(t, oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-1")}}), o)
	var throttled *ecs.Error
	for i := 0; i < 20 && throttled == nil; i++ {
		_, err := c.DescribeImagesPage(context.Background(), region, ecs.ListFilter{}, 1, 10)
		if err != nil {
			throttled = asErr(t, err, ecs.ClassRetryable, "Throttling.User")
		}
	}
	if throttled == nil || !throttled.Throttled || throttled.RetryAfter <= 0 {
		t.Fatalf("%+v", throttled)
	}
}

func TestServerFaultsAreRetryable(t *testing.T) {
	o := opts()
	o.Faults = map[string]ecstest.Faults{
		"DescribeImages":    {InternalErrorRatio: 1},
		"DescribeInstances": {UnavailableRatio: 1},
	}
	_, c := start(t, oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-1")}}), o)
	_, err := c.DescribeImagesPage(context.Background(), region, ecs.ListFilter{}, 1, 10)
	if e := asErr(t, err, ecs.ClassRetryable, "InternalError"); e.StatusCode != 500 || e.Throttled {
		t.Errorf("%+v", e)
	}
	_, err = c.InstancesUsingImage(context.Background(), region, "m-1")
	if e := asErr(t, err, ecs.ClassRetryable, "ServiceUnavailable"); e.StatusCode != 503 {
		t.Errorf("%+v", e)
	}
}

func TestDroppedConnectionIsRetryable(t *testing.T) {
	o := opts()
	o.Faults = map[string]ecstest.Faults{"DeleteImage": {DropAfterDeleteRatio: 1}}
	srv, c := start(t, oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-1")}}), o)
	_, err := c.DeleteImage(context.Background(), ecs.DeleteImageInput{Region: region, ImageID: "m-1", Force: false, DryRun: false})
	e := asErr(t, err, ecs.ClassRetryable, ecs.CodeNetworkError)
	if e.StatusCode != 0 {
		t.Errorf("%+v", e)
	}
	if _, ok := srv.Image(region, "m-1"); ok {
		t.Fatal("the emulator should have deleted before dropping")
	}
	// The retry the runner makes: the image is gone now.
	_, err = c.DeleteImage(context.Background(), ecs.DeleteImageInput{Region: region, ImageID: "m-1", Force: false, DryRun: false})
	asErr(t, err, ecs.ClassNotFound, "InvalidImageId.NotFound")
}

func TestMissingImage(t *testing.T) {
	for _, mode := range []string{"error", "ignore"} {
		o := opts()
		o.MissingImage = mode
		_, c := start(t, oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-1")}}), o)
		for _, dry := range []bool{true, false} {
			res, err := c.DeleteImage(context.Background(), ecs.DeleteImageInput{Region: region, ImageID: "m-nope", Force: false, DryRun: dry})
			if mode == "error" {
				if e := asErr(t, err, ecs.ClassNotFound, "InvalidImageId.NotFound"); e.StatusCode != 404 {
					t.Errorf("%+v", e)
				}
				continue
			}
			if err != nil || res.RequestID == "" {
				t.Errorf("ignore mode, dry %v: %v %+v", dry, err, res)
			}
		}
	}
}

func TestInstancesUsingImagePages(t *testing.T) {
	var inst []ecstest.Instance
	for i := 0; i < 250; i++ {
		inst = append(inst, ecstest.Instance{ID: fmt.Sprintf("i-%03d", i), ImageID: "m-used"})
	}
	inst = append(inst, ecstest.Instance{ID: "i-other", ImageID: "m-other"})
	st := oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-used"), img("m-other"), img("m-free")}, Instances: inst})
	srv, c := start(t, st, opts())
	ids, err := c.InstancesUsingImage(context.Background(), region, "m-used")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	if len(ids) != 250 || len(seen) != 250 || seen["i-other"] {
		t.Fatalf("%d ids (%d distinct)", len(ids), len(seen))
	}
	pages := 0
	for _, call := range srv.Calls() {
		if call.Action == "DescribeInstances" {
			pages++
			if call.Params["MaxResults"] != "100" || call.Params["ImageId"] != "m-used" {
				t.Errorf("%+v", call.Params)
			}
		}
	}
	if pages != 3 {
		t.Errorf("%d pages", pages)
	}
	if ids, err := c.InstancesUsingImage(context.Background(), region, "m-free"); err != nil || len(ids) != 0 {
		t.Errorf("free image: %v %v", ids, err)
	}
}

func TestImageSharePermissionPages(t *testing.T) {
	shared := img("m-shared")
	for i := 0; i < 230; i++ {
		shared.SharedWith = append(shared.SharedWith, fmt.Sprintf("%016d", i+1))
	}
	shared.SharedToAll = true
	_, c := start(t, oneRegion(&ecstest.Region{Images: []ecstest.Image{shared, img("m-private")}}), opts())
	sp, err := c.ImageSharePermission(context.Background(), region, "m-shared")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range sp.Accounts {
		seen[a] = true
	}
	if len(sp.Accounts) != 230 || len(seen) != 230 || !sp.Public {
		t.Fatalf("%d accounts (%d distinct), public %v", len(sp.Accounts), len(seen), sp.Public)
	}
	sp, err = c.ImageSharePermission(context.Background(), region, "m-private")
	if err != nil || len(sp.Accounts) != 0 || sp.Public {
		t.Fatalf("%+v %v", sp, err)
	}
}

func TestDeleteSnapshot(t *testing.T) {
	st := oneRegion(&ecstest.Region{
		Images:    []ecstest.Image{{ID: "m-1", Name: "a", CreationTime: t0, Snapshots: []string{"s-img"}}},
		Snapshots: []ecstest.Snapshot{{ID: "s-disk", UsedByDisks: true}, {ID: "s-free"}},
	})
	srv, c := start(t, st, opts())
	ctx := context.Background()
	_, err := c.DeleteSnapshot(ctx, region, "s-img", false)
	asErr(t, err, ecs.ClassBlocked, "SnapshotCreatedImage")
	_, err = c.DeleteSnapshot(ctx, region, "s-disk", false)
	asErr(t, err, ecs.ClassBlocked, "SnapshotCreatedDisk")
	if call := lastCall(t, srv, "DeleteSnapshot"); call.Params["Force"] == "true" {
		t.Fatalf("Force sent unasked: %+v", call.Params)
	}
	if _, err := c.DeleteSnapshot(ctx, region, "s-disk", true); err != nil {
		t.Fatalf("forced: %v", err)
	}
	if _, err := c.DeleteSnapshot(ctx, region, "s-free", false); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteSnapshot(ctx, region, "s-free", false)
	asErr(t, err, ecs.ClassNotFound, "InvalidSnapshotId.NotFound")
	if srv.SnapshotExists("s-disk") || srv.SnapshotExists("s-free") || !srv.SnapshotExists("s-img") {
		t.Error("snapshot state")
	}
	// The image gone, its snapshot goes too.
	if _, err := c.DeleteImage(ctx, ecs.DeleteImageInput{Region: region, ImageID: "m-1", Force: false, DryRun: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSnapshot(ctx, region, "s-img", false); err != nil {
		t.Fatal(err)
	}
	for _, call := range srv.Calls() {
		if _, ok := call.Params["RegionId"]; ok && call.Action == "DeleteSnapshot" {
			t.Errorf("DeleteSnapshot sent RegionId: %+v", call.Params)
		}
	}
}

func TestContextAndTimeouts(t *testing.T) {
	o := opts()
	o.Faults = map[string]ecstest.Faults{"DescribeImages": {Latency: 3 * time.Second}}
	srv, c := start(t, oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-1")}}), o)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.DescribeImagesPage(ctx, region, ecs.ListFilter{}, 1, 10)
	e := asErr(t, err, ecs.ClassFailed, ecs.CodeDeadlineExceeded)
	if !errors.Is(e, context.DeadlineExceeded) {
		t.Errorf("errors.Is lost: %+v", e)
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = c.DeleteImage(ctx2, ecs.DeleteImageInput{Region: region, ImageID: "m-1", Force: false, DryRun: true})
	if e := asErr(t, err, ecs.ClassFailed, ecs.CodeCanceled); !errors.Is(e, context.Canceled) {
		t.Errorf("%+v", e)
	}

	// The request's own timeout is the service being slow: retryable.
	short, err := ecs.New(ecs.Config{Endpoint: srv.URL(), Credential: ecs.StaticCredential(testKeyID, testSecret, ""),
		Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// The server holds the answer for 3 s, so only the request's own timeout can end it with
	// CodeTimeout.
	_, err = short.DescribeImagesPage(context.Background(), region, ecs.ListFilter{}, 1, 10)
	asErr(t, err, ecs.ClassRetryable, ecs.CodeTimeout)
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	srv := ecstest.NewServer(nil, opts())
	url := srv.URL()
	srv.Close()
	c, err := ecs.New(ecs.Config{Endpoint: url, Credential: ecs.StaticCredential(testKeyID, testSecret, "")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteImage(context.Background(), ecs.DeleteImageInput{Region: region, ImageID: "m-1", Force: false, DryRun: true})
	asErr(t, err, ecs.ClassRetryable, ecs.CodeNetworkError)
}

func TestUnknownRegion(t *testing.T) {
	_, c := start(t, oneRegion(&ecstest.Region{}), opts())
	_, err := c.DescribeImagesPage(context.Background(), "xx-nowhere-1", ecs.ListFilter{}, 1, 10)
	asErr(t, err, ecs.ClassFailed, "InvalidRegionId.NotFound")
}

func TestConcurrentRegions(t *testing.T) {
	st := &ecstest.State{Regions: map[string]*ecstest.Region{}}
	regions := []string{"cn-hangzhou", "cn-beijing", "eu-central-1", "ap-southeast-1"}
	for _, r := range regions {
		st.Regions[r] = &ecstest.Region{Images: ecstest.GenerateImages(120, strings.ReplaceAll(r, "-", ""), t0)}
	}
	srv, c := start(t, st, opts())
	var wg sync.WaitGroup
	errs := make(chan error, len(regions)*2)
	for _, r := range regions {
		for k := 0; k < 2; k++ {
			wg.Add(1)
			go func(r string) {
				defer wg.Done()
				got, err := ecs.ListImages(context.Background(), c, r, ecs.ListFilter{})
				if err == nil && len(got) != 120 {
					err = fmt.Errorf("%s: %d images", r, len(got))
				}
				errs <- err
			}(r)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, call := range srv.Calls() {
		if call.Status != 200 {
			t.Errorf("%+v", call)
		}
	}
}

func TestNoCredentialIsFailed(t *testing.T) {
	// The default chain with nothing to find: isolate it from this machine's environment.
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
	t.Setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "")
	t.Setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("ALIBABA_CLOUD_PROFILE", "")
	// Never let IMDS (a non-loopback address) be tried from a test.
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	t.Setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
	t.Setenv("ALIBABA_CLOUD_ROLE_ARN", "")
	t.Setenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "")
	t.Setenv("ALIBABA_CLOUD_CREDENTIALS_URI", "")
	t.Setenv("HOME", t.TempDir())
	srv := ecstest.NewServer(nil, opts())
	defer srv.Close()
	c, err := ecs.New(ecs.Config{Endpoint: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.DeleteImage(ctx, ecs.DeleteImageInput{Region: region, ImageID: "m-1", Force: false, DryRun: true})
	asErr(t, err, ecs.ClassFailed, ecs.CodeInvalidCredentials)
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d calls reached the server without a credential", n)
	}
}
