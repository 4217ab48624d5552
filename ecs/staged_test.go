package ecs_test

import (
	"context"
	"testing"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
)

func TestSetImageStatus(t *testing.T) {
	t.Parallel()
	shared := img("m-shared")
	shared.SharedWith = []string{"111"}
	srv, c := start(t, oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-a"), shared}}), opts())
	ctx := context.Background()

	if _, err := c.SetImageStatus(ctx, ecs.SetImageStatusInput{Region: region, ImageID: "m-a", Status: ecs.StatusDeprecated, DryRun: true}); err != nil {
		t.Fatalf("a passing DryRun: %v", err)
	}
	if im, _ := srv.Image(region, "m-a"); im.Status != ecs.StatusAvailable {
		t.Fatalf("a DryRun changed the status to %s", im.Status)
	}
	res, err := c.SetImageStatus(ctx, ecs.SetImageStatusInput{Region: region, ImageID: "m-a", Status: ecs.StatusDeprecated})
	if err != nil || res.RequestID == "" {
		t.Fatalf("deprecate: %v %+v", err, res)
	}
	if im, _ := srv.Image(region, "m-a"); im.Status != ecs.StatusDeprecated {
		t.Fatalf("status %s", im.Status)
	}
	if _, err := c.SetImageStatus(ctx, ecs.SetImageStatusInput{Region: region, ImageID: "m-a", Status: ecs.StatusAvailable}); err != nil {
		t.Fatal(err)
	}
	if im, _ := srv.Image(region, "m-a"); im.Status != ecs.StatusAvailable {
		t.Fatalf("status %s after restore", im.Status)
	}
	_, err = c.SetImageStatus(ctx, ecs.SetImageStatusInput{Region: region, ImageID: "m-shared", Status: ecs.StatusDeprecated, DryRun: true})
	asErr(t, err, ecs.ClassBlocked, ecstest.CodeDeprecateShared)
	_, err = c.SetImageStatus(ctx, ecs.SetImageStatusInput{Region: region, ImageID: "m-gone", Status: ecs.StatusDeprecated})
	asErr(t, err, ecs.ClassNotFound, "InvalidImageId.NotFound")
	_, err = c.SetImageStatus(ctx, ecs.SetImageStatusInput{Region: region, ImageID: "m-a", Status: ecs.StatusCreating})
	asErr(t, err, ecs.ClassFailed, "")
}

func TestSetImageStatusDryRunIgnored(t *testing.T) {
	t.Parallel()
	o := opts()
	o.IgnoreDryRun = true
	srv, c := start(t, oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-a")}}), o)
	_, err := c.SetImageStatus(context.Background(), ecs.SetImageStatusInput{Region: region, ImageID: "m-a", Status: ecs.StatusDeprecated, DryRun: true})
	asErr(t, err, ecs.ClassDryRunIgnored, ecs.CodeDryRunNotHonoured)
	if im, _ := srv.Image(region, "m-a"); im.Status != ecs.StatusDeprecated {
		t.Fatalf("the emulator's ignored DryRun should have acted: %s", im.Status)
	}
}

func TestTagAndUntagImage(t *testing.T) {
	t.Parallel()
	o := opts()
	srv, c := start(t, oneRegion(&ecstest.Region{Images: []ecstest.Image{img("m-a")}}), o)
	ctx := context.Background()
	if _, err := c.TagImage(ctx, ecs.TagImageInput{Region: region, ImageID: "m-a", Tags: map[string]string{"k": "v", "a": "b"}}); err != nil {
		t.Fatal(err)
	}
	if im, _ := srv.Image(region, "m-a"); im.Tags["k"] != "v" || im.Tags["a"] != "b" {
		t.Fatalf("tags %v", im.Tags)
	}
	if _, err := c.UntagImage(ctx, ecs.UntagImageInput{Region: region, ImageID: "m-a", Keys: []string{"k"}}); err != nil {
		t.Fatal(err)
	}
	if im, _ := srv.Image(region, "m-a"); len(im.Tags) != 1 {
		t.Fatalf("tags %v", im.Tags)
	}
	_, err := c.TagImage(ctx, ecs.TagImageInput{Region: region, ImageID: "m-gone", Tags: map[string]string{"k": "v"}})
	asErr(t, err, ecs.ClassNotFound, "InvalidResourceId.NotFound")
	srv.SetFaults("UntagResources", ecstest.Faults{InternalErrorRatio: 1})
	_, err = c.UntagImage(ctx, ecs.UntagImageInput{Region: region, ImageID: "m-a", Keys: []string{"a"}})
	asErr(t, err, ecs.ClassRetryable, "InternalError")
	srv.SetDeny("TagResources", "Forbidden.RAM")
	_, err = c.TagImage(ctx, ecs.TagImageInput{Region: region, ImageID: "m-a", Tags: map[string]string{"k": "v"}})
	asErr(t, err, ecs.ClassFailed, "Forbidden.RAM")
}
