package ecstest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
)

// BenchmarkDryRunDeleteImage measures signed DryRun DeleteImage requests from
// the real SDK (one client per goroutine, see newClientN) against the emulator.
func BenchmarkDryRunDeleteImage(b *testing.B) {
	s := NewServer(&State{Regions: map[string]*Region{
		"cn-hangzhou": {Images: GenerateImages(2000, "bench", t0)},
	}}, Options{})
	defer s.Close()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		c := newClientN(b, s, int(next.Add(1)))
		req := &ecs.DeleteImageRequest{
			RegionId: tea.String("cn-hangzhou"), ImageId: tea.String("m-bench0001"), DryRun: tea.Bool(true),
		}
		ctx := context.Background()
		for pb.Next() {
			_, err := c.DeleteImageWithContext(ctx, req, rt)
			var se *tea.SDKError
			if !errors.As(err, &se) || tea.StringValue(se.Code) != "DryRunOperation" {
				b.Errorf("unexpected answer: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
