package ecstest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
)

// The real SDK, pointed at the emulator.
func ExampleNewServer() {
	srv := ecstest.NewServer(&ecstest.State{Regions: map[string]*ecstest.Region{
		"cn-hangzhou": {Images: []ecstest.Image{
			{ID: "m-ci001", Name: "ci-001", CreationTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		}},
	}}, ecstest.Options{})
	defer srv.Close()

	c, err := ecs.NewClient(&openapiutil.Config{
		AccessKeyId:     tea.String(ecstest.AccessKeyID),
		AccessKeySecret: tea.String(ecstest.AccessKeySecret),
		RegionId:        tea.String("cn-hangzhou"),
		Endpoint:        tea.String(srv.Addr()), // host:port, no scheme
		Protocol:        tea.String("http"),
		ReadTimeout:     tea.Int(10000), // milliseconds
		ConnectTimeout:  tea.Int(5000),  // milliseconds in the pinned tea/dara v1.5.3
		NoProxy:         tea.String(srv.Addr()),
	})
	if err != nil {
		panic(err)
	}
	_, err = c.DeleteImageWithContext(context.Background(), &ecs.DeleteImageRequest{
		RegionId: tea.String("cn-hangzhou"), ImageId: tea.String("m-ci001"), DryRun: tea.Bool(true),
	}, &dara.RuntimeOptions{})
	var se *tea.SDKError
	if errors.As(err, &se) {
		fmt.Println(tea.IntValue(se.StatusCode), tea.StringValue(se.Code))
	}
	_, still := srv.Image("cn-hangzhou", "m-ci001")
	fmt.Println("still there:", still)
	// Output:
	// 400 DryRunOperation
	// still there: true
}
