package runner

import (
	"context"
	"sync"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
)

// LookUp finds which of the given images (ids per region) the service still lists, and each
// one's status and DeprecatedAtTag tag, as a run's confirming lookup does: 100 ids a call,
// whatever their owner and status, under the policy's concurrency limit, each region's limiter
// and the run's retries (at least 16 error answers a call). A region whose lookup fails is in
// Failed, with why. It settles the real deletes and status changes that a killed run's journal
// left (recover); cfg needs Policy, API and, optionally, Logger, Retry and Rate.
func LookUp(ctx context.Context, cfg Config, ids map[string][]string) report.Lookup {
	r := New(cfg)
	lk := report.Lookup{Exists: map[string]map[string]bool{}, Failed: map[string]string{}, Found: map[string]map[string]report.FoundImage{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for region, list := range ids {
		rs := r.region(region)
		wg.Go(func() {
			found, err := r.confirmingLookup(ctx, rs, list)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				lk.Failed[region] = err.Error()
				return
			}
			exists := make(map[string]bool, len(found))
			what := make(map[string]report.FoundImage, len(found))
			for _, img := range found {
				exists[img.ID] = true
				at, tagged := img.Tags[policy.DeprecatedAtTag]
				what[img.ID] = report.FoundImage{Status: img.Status, DeprecatedAt: at, Tagged: tagged}
			}
			lk.Exists[region], lk.Found[region] = exists, what
		})
	}
	wg.Wait()
	r.calls.wait()
	return lk
}
