package runner_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// BenchmarkApplyLatencyBound runs apply over 10,000 deletable images against the emulator with
// 100 ms on every call and concurrency 64, and reports the run's time against the ideal
// (requests made x latency / concurrency), and the peak heap.
//
//	go test -run '^$' -bench ApplyLatencyBound -benchtime 1x ./runner
func BenchmarkApplyLatencyBound(b *testing.B) {
	const (
		images      = 10_000
		latency     = 100 * time.Millisecond
		concurrency = 64
	)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st := &ecstest.State{Regions: map[string]*ecstest.Region{
			"cn-hangzhou": {Images: ecstest.GenerateImages(images, "bench", now.Add(-90*24*time.Hour))},
		}}
		pol := fmt.Sprintf("version: 1\nconcurrency: %d\nregions:\n  - region: cn-hangzhou\n    select:\n      older_than: 30d\n", concurrency)
		h := newHarness(b, st, ecstest.Options{Faults: map[string]ecstest.Faults{"*": {Latency: latency}}}, pol)
		peak := trackPeakHeap()
		b.StartTimer()
		start := time.Now()
		rep := h.run(b, runner.Apply, nil)
		elapsed := time.Since(start)
		b.StopTimer()
		heap := peak()
		if rep.Summary.Deleted != images {
			b.Fatalf("deleted %d of %d (%+v)", rep.Summary.Deleted, images, rep.Summary)
		}
		requests := len(h.srv.Calls())
		ideal := time.Duration(requests) * latency / concurrency
		b.ReportMetric(elapsed.Seconds()/ideal.Seconds(), "x_ideal")
		b.ReportMetric(float64(requests)/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(heap)/(1<<20), "peak_heap_MiB")
		b.ReportMetric(float64(requests), "requests")
	}
}

// trackPeakHeap samples the live heap every 10 ms until the returned function is called, which
// reports the highest sample.
func trackPeakHeap() func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return peak.Load()
	}
}
