package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
)

// regionLister is the one call the region check makes; *ecs.Client has it.
type regionLister interface {
	Regions(ctx context.Context) ([]ecs.RegionInfo, error)
}

// regionCheckAttempts bounds the DescribeRegions attempts on a retryable answer (throttling,
// 5xx, a network error): a cron run should not fail on one lost answer.
const regionCheckAttempts = 3

// checkRegions asks the service, once, which regions the account has, and refuses the policy
// if it names one that it has not: a typo such as cn-hangzou would otherwise list nothing and
// delete nothing, in a run that reports success. It returns a *policy.Error placed at the
// region's id, naming the nearest known id.
func checkRegions(ctx context.Context, api regionLister, pol *policy.Policy) error {
	var (
		known []ecs.RegionInfo
		err   error
	)
	for attempt := 1; ; attempt++ {
		known, err = api.Regions(ctx)
		var e *ecs.Error
		if err == nil || !errors.As(err, &e) || e.Class != ecs.ClassRetryable || attempt == regionCheckAttempts {
			break
		}
		wait := time.Duration(attempt) * time.Second
		if e.RetryAfter > wait {
			wait = e.RetryAfter
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("checking the policy's regions (DescribeRegions): %w", ctx.Err())
		case <-time.After(wait):
		}
	}
	if err != nil {
		var e *ecs.Error
		switch {
		case errors.As(err, &e) && ecs.IsCredentialCode(e.Code):
			return fmt.Errorf("checking the policy's regions (DescribeRegions): the service refused the credentials: %w", err)
		case errors.As(err, &e) && (strings.HasPrefix(e.Code, "Forbidden") || strings.HasPrefix(e.Code, "NoPermission")):
			return fmt.Errorf("checking the policy's regions (DescribeRegions): %w: the RAM policy must allow ecs:DescribeRegions (see examples/ram-policy.json)", err)
		}
		return fmt.Errorf("checking the policy's regions (DescribeRegions): %w", err)
	}
	ids := make([]string, len(known))
	have := map[string]bool{}
	for i, r := range known {
		ids[i] = r.ID
		have[r.ID] = true
	}
	var errs []*policy.Error
	for _, r := range pol.Regions {
		if have[r.ID] {
			continue
		}
		msg := fmt.Sprintf("region %s does not exist for this account (DescribeRegions lists %d regions)", r.ID, len(ids))
		if near := nearest(r.ID, ids); near != "" {
			msg += fmt.Sprintf(": did you mean %s?", near)
		}
		errs = append(errs, &policy.Error{File: pol.File, Line: r.Line, Column: r.Column, Field: fmt.Sprintf("regions[%d].region", r.Index), Msg: msg})
	}
	if len(errs) > 0 {
		return &policy.Errors{List: errs}
	}
	return nil
}

// nearest returns the known id closest to id by edit distance, "" when none is close enough to
// be a likely typo (a third of the id changed or more); see editDistance.
func nearest(id string, known []string) string {
	best, bestD := "", len(id)/3+1
	for _, k := range known {
		if d := editDistance(strings.ToLower(id), k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}
