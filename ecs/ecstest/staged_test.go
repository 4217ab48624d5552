package ecstest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
)

func stagedState() *State {
	return &State{Regions: map[string]*Region{"cn-hangzhou": {Images: []Image{
		{ID: "m-new", Name: "web-new", Family: "web", CreationTime: t0.Add(2 * time.Hour)},
		{ID: "m-old", Name: "web-old", Family: "web", CreationTime: t0.Add(time.Hour)},
		{ID: "m-shared", Name: "web-shared", CreationTime: t0, SharedWith: []string{"111"}},
		{ID: "m-sys", Name: "aliyun", CreationTime: t0, OwnerAlias: "system"},
		{ID: "m-creating", Name: "c", CreationTime: t0, Status: "Creating"},
	}}}}
}

func modifyStatus(c *ecs.Client, id, status string, dry bool) error {
	_, err := c.ModifyImageAttributeWithContext(context.Background(), &ecs.ModifyImageAttributeRequest{
		RegionId: tea.String("cn-hangzhou"), ImageId: tea.String(id), Status: tea.String(status), DryRun: tea.Bool(dry)}, rt)
	return err
}

func fromFamily(t *testing.T, c *ecs.Client, family string) string {
	t.Helper()
	resp, err := c.DescribeImageFromFamilyWithContext(context.Background(), &ecs.DescribeImageFromFamilyRequest{
		RegionId: tea.String("cn-hangzhou"), ImageFamily: tea.String(family)}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Body.Image == nil {
		return ""
	}
	return tea.StringValue(resp.Body.Image.ImageId)
}

func statusesListed(t *testing.T, c *ecs.Client, status string) map[string]bool {
	t.Helper()
	req := &ecs.DescribeImagesRequest{RegionId: tea.String("cn-hangzhou"), ImageOwnerAlias: tea.String("self"), PageSize: tea.Int32(100)}
	if status != "" {
		req.Status = tea.String(status)
	}
	resp, err := c.DescribeImagesWithContext(context.Background(), req, rt)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, im := range resp.Body.Images.Image {
		out[tea.StringValue(im.ImageId)] = true
	}
	return out
}

func TestModifyImageAttributeDeprecateAndRestore(t *testing.T) {
	t.Parallel()
	s := NewServer(stagedState(), Options{})
	defer s.Close()
	c := newClient(t, s)

	if got := fromFamily(t, c, "web"); got != "m-new" {
		t.Fatalf("family web: %q, want m-new", got)
	}
	wantCode(t, modifyStatus(c, "m-new", "Deprecated", true), "DryRunOperation", 400)
	if im, _ := s.Image("cn-hangzhou", "m-new"); im.Status != "Available" {
		t.Fatalf("a DryRun changed the status to %s", im.Status)
	}
	if err := modifyStatus(c, "m-new", "Deprecated", false); err != nil {
		t.Fatal(err)
	}
	if im, _ := s.Image("cn-hangzhou", "m-new"); im.Status != "Deprecated" {
		t.Fatalf("status %s, want Deprecated", im.Status)
	}
	if got := fromFamily(t, c, "web"); got != "m-old" {
		t.Fatalf("DescribeImageFromFamily: %q, want m-old (the Deprecated m-new skipped)", got)
	}
	if statusesListed(t, c, "")["m-new"] {
		t.Fatal("DescribeImages without Status lists a Deprecated image")
	}
	if !statusesListed(t, c, "Deprecated")["m-new"] {
		t.Fatal("DescribeImages Status=Deprecated does not list it")
	}
	if err := modifyStatus(c, "m-old", "Deprecated", false); err != nil {
		t.Fatal(err)
	}
	if got := fromFamily(t, c, "web"); got != "" {
		t.Fatalf("a family of Deprecated images answered %q", got)
	}
	if err := modifyStatus(c, "m-new", "Available", false); err != nil {
		t.Fatal(err)
	}
	if got := fromFamily(t, c, "web"); got != "m-new" {
		t.Fatalf("after restore: %q, want m-new", got)
	}

	wantCode(t, modifyStatus(c, "m-shared", "Deprecated", true), CodeDeprecateShared, 403)
	wantCode(t, modifyStatus(c, "m-shared", "Deprecated", false), CodeDeprecateShared, 403)
	wantCode(t, modifyStatus(c, "m-sys", "Deprecated", false), "InvalidImageId.NotFound", 404)
	wantCode(t, modifyStatus(c, "m-gone", "Deprecated", true), "InvalidImageId.NotFound", 404)
	wantCode(t, modifyStatus(c, "m-creating", "Deprecated", false), "ImageIsCreating", 403)
	wantCode(t, modifyStatus(c, "m-old", "Gone", false), "InvalidStatus.ValueNotSupported", 400)
}

func TestTagCalls(t *testing.T) {
	t.Parallel()
	s := NewServer(stagedState(), Options{})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	tag := func(id, k, v, rtype string) error {
		_, err := c.TagResourcesWithContext(ctx, &ecs.TagResourcesRequest{RegionId: tea.String("cn-hangzhou"),
			ResourceType: tea.String(rtype), ResourceId: []*string{tea.String(id)},
			Tag: []*ecs.TagResourcesRequestTag{{Key: tea.String(k), Value: tea.String(v)}}}, rt)
		return err
	}
	if err := tag("m-old", "ecs-image-cleanup/deprecated-at", "2026-01-01T00:00:00Z", "image"); err != nil {
		t.Fatal(err)
	}
	if im, _ := s.Image("cn-hangzhou", "m-old"); im.Tags["ecs-image-cleanup/deprecated-at"] != "2026-01-01T00:00:00Z" {
		t.Fatalf("tags %v", im.Tags)
	}
	wantCode(t, tag("m-gone", "k", "v", "image"), "InvalidResourceId.NotFound", 404)
	wantCode(t, tag("m-old", "k", "v", "instance"), "InvalidResourceType.NotSupported", 400)

	list, err := c.ListTagResourcesWithContext(ctx, &ecs.ListTagResourcesRequest{RegionId: tea.String("cn-hangzhou"),
		ResourceType: tea.String("image"), ResourceId: []*string{tea.String("m-old"), tea.String("m-new")}}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.Body.TagResources.TagResource); n != 1 || tea.StringValue(list.Body.TagResources.TagResource[0].ResourceId) != "m-old" {
		t.Fatalf("ListTagResources: %v", list.Body)
	}
	byTag, err := c.ListTagResourcesWithContext(ctx, &ecs.ListTagResourcesRequest{RegionId: tea.String("cn-hangzhou"),
		ResourceType: tea.String("image"), Tag: []*ecs.ListTagResourcesRequestTag{{Key: tea.String("ecs-image-cleanup/deprecated-at")}}}, rt)
	if err != nil || len(byTag.Body.TagResources.TagResource) != 1 {
		t.Fatalf("ListTagResources by tag: %v %v", byTag, err)
	}

	_, err = c.UntagResourcesWithContext(ctx, &ecs.UntagResourcesRequest{RegionId: tea.String("cn-hangzhou"),
		ResourceType: tea.String("image"), ResourceId: []*string{tea.String("m-old")}, TagKey: []*string{tea.String("ecs-image-cleanup/deprecated-at")}}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if im, _ := s.Image("cn-hangzhou", "m-old"); len(im.Tags) != 0 {
		t.Fatalf("tags after untag: %v", im.Tags)
	}
}

func TestStagedFaults(t *testing.T) {
	t.Parallel()
	s := NewServer(stagedState(), Options{Faults: map[string]Faults{
		"ModifyImageAttribute": {ErrorAfterDeleteRatio: 1},
		"TagResources":         {InternalErrorRatio: 1},
	}})
	defer s.Close()
	c := newClient(t, s)
	// The change takes effect and the answer is a 500: only a second look tells.
	wantCode(t, modifyStatus(c, "m-old", "Deprecated", false), "InternalError", 500)
	if im, _ := s.Image("cn-hangzhou", "m-old"); im.Status != "Deprecated" {
		t.Fatalf("status %s, want Deprecated (effect before the error)", im.Status)
	}
	// A DryRun is never an effect.
	wantCode(t, modifyStatus(c, "m-new", "Deprecated", true), "DryRunOperation", 400)
	_, err := c.TagResourcesWithContext(context.Background(), &ecs.TagResourcesRequest{RegionId: tea.String("cn-hangzhou"),
		ResourceType: tea.String("image"), ResourceId: []*string{tea.String("m-old")},
		Tag: []*ecs.TagResourcesRequestTag{{Key: tea.String("k"), Value: tea.String("v")}}}, rt)
	wantCode(t, err, "InternalError", 500)
	if im, _ := s.Image("cn-hangzhou", "m-old"); len(im.Tags) != 0 {
		t.Fatalf("a 500 before the effect tagged the image: %v", im.Tags)
	}
	effects := 0
	for _, call := range s.Calls() {
		if call.Effect {
			effects++
		}
	}
	if effects != 1 {
		t.Fatalf("%d calls with an effect, want 1", effects)
	}
}

// TestModifyImageAttributeSameStatus: the API reference does not say what a change to the
// status an image already has answers (a retry of a Status=Deprecated whose answer was lost);
// Options.SameStatus gives both readings.
func TestModifyImageAttributeSameStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode string
		code string // "" for success
	}{{"", ""}, {"ignore", ""}, {"error", CodeSameStatus}} {
		t.Run("mode="+tc.mode, func(t *testing.T) {
			s := NewServer(stagedState(), Options{SameStatus: tc.mode})
			defer s.Close()
			c := newClient(t, s)
			if err := modifyStatus(c, "m-old", "Deprecated", false); err != nil {
				t.Fatal(err)
			}
			for _, dry := range []bool{true, false} {
				err := modifyStatus(c, "m-old", "Deprecated", dry)
				switch {
				case tc.code != "":
					wantCode(t, err, tc.code, 403)
				case dry:
					wantCode(t, err, "DryRunOperation", 400)
				case err != nil:
					t.Fatalf("Deprecated again: %v", err)
				}
			}
			// Available on an Available image is the same case.
			err := modifyStatus(c, "m-new", "Available", false)
			if tc.code != "" {
				wantCode(t, err, tc.code, 403)
			} else if err != nil {
				t.Fatal(err)
			}
			if im, _ := s.Image("cn-hangzhou", "m-old"); im.Status != "Deprecated" {
				t.Fatalf("status %s", im.Status)
			}
		})
	}
	if _, err := NewHandler(stagedState(), Options{SameStatus: "maybe"}); err == nil {
		t.Fatal("SameStatus \"maybe\" accepted")
	}
}

// TestOnAnswer: the hook sees every call, a dropped one too, once its effect is done and before
// the client has its answer; the answer waits for it.
func TestOnAnswer(t *testing.T) {
	t.Parallel()
	held := make(chan Call)
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []string
	s := NewServer(stagedState(), Options{
		Faults: map[string]Faults{"TagResources": {DropAfterDeleteRatio: 1}},
		OnAnswer: func(c Call) {
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%s dry=%v status=%d dropped=%v", c.Action, c.DryRun, c.Status, c.Dropped))
			mu.Unlock()
			if c.Action == "ModifyImageAttribute" && !c.DryRun {
				held <- c
				<-release
			}
		},
	})
	defer s.Close()
	c := newClient(t, s)
	wantCode(t, modifyStatus(c, "m-old", "Deprecated", true), "DryRunOperation", 400)
	answered := make(chan error, 1)
	go func() { answered <- modifyStatus(c, "m-old", "Deprecated", false) }()
	call := <-held
	// The effect is done, the call is logged, and the client is still waiting.
	if im, _ := s.Image("cn-hangzhou", "m-old"); im.Status != "Deprecated" || !call.Effect || call.Status != 200 {
		t.Fatalf("in the hook: image %s, call %+v", im.Status, call)
	}
	if n := s.Counts()[CallKind{Action: "ModifyImageAttribute"}]; n != 1 {
		t.Fatalf("the held call is counted %d times, want 1", n)
	}
	select {
	case err := <-answered:
		t.Fatalf("the client had its answer while the hook held it: %v", err)
	default:
	}
	close(release)
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	_, err := c.TagResourcesWithContext(context.Background(), &ecs.TagResourcesRequest{RegionId: tea.String("cn-hangzhou"),
		ResourceType: tea.String("image"), ResourceId: []*string{tea.String("m-old")},
		Tag: []*ecs.TagResourcesRequestTag{{Key: tea.String("k"), Value: tea.String("v")}}}, rt)
	if err == nil {
		t.Fatal("a dropped connection answered")
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"ModifyImageAttribute dry=true status=400 dropped=false", "ModifyImageAttribute dry=false status=200 dropped=false",
		"TagResources dry=false status=0 dropped=true"}
	if !slices.Equal(seen, want) {
		t.Fatalf("the hook saw\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
