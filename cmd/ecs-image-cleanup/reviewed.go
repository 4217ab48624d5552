package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/internal/files"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/policy"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// defaultMaxPlanAge is how old a plan apply --plan still carries out: a week-old review is
// about an account that has moved on.
const defaultMaxPlanAge = "7d"

// reviewedPlan is a plan report that apply --plan carries out: only the images it says
// would_delete (or would_deprecate, or would tag) may be changed, each checked again against the
// account and the policy now.
type reviewedPlan struct {
	path       string
	policyPath string // as the plan recorded it
	policySHA  string
	only       map[string]bool // "region/image_id" of the images it would change
	known      map[string]bool // "region/image_id" of every image it reported
}

// loadPlan reads a report written by plan and checks that apply may carry it out: schema 1, a
// plan that ran to its end, no older than maxAge and not from the future.
func loadPlan(path string, maxAge time.Duration, now time.Time) (*reviewedPlan, error) {
	data, err := files.ReadInput(path, maxReportFile)
	if err != nil {
		return nil, err
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("%s is not a report: %v", path, err)
	}
	switch {
	case rep.SchemaVersion != report.SchemaVersion:
		return nil, fmt.Errorf("%s has schema_version %d, want %d: plan again", path, rep.SchemaVersion, report.SchemaVersion)
	case rep.Command != runner.Plan:
		return nil, fmt.Errorf("%s is a report of %s, not of plan: --plan takes what plan wrote (--retry-from takes an apply's report)", path, rep.Command)
	case rep.Status == report.StatusInterrupted || rep.Status == report.StatusAborted:
		return nil, fmt.Errorf("%s is a plan that was %s: plan again", path, rep.Status)
	case rep.Policy.Path == "" || rep.Policy.SHA256 == "":
		return nil, fmt.Errorf("%s names no policy: plan again", path)
	}
	finished := rep.FinishedAt
	if finished.IsZero() {
		finished = rep.StartedAt
	}
	if age := now.Sub(finished); age > maxAge {
		return nil, fmt.Errorf("%s was made %s ago (%s), more than --max-plan-age %s: plan again",
			path, age.Round(time.Minute), finished.UTC().Format("2006-01-02 15:04 UTC"), policy.FormatDuration(maxAge))
	} else if age < -5*time.Minute {
		return nil, fmt.Errorf("%s says it was made at %s, in the future: plan again", path, finished.UTC().Format("2006-01-02 15:04 UTC"))
	}
	p := &reviewedPlan{path: path, policyPath: rep.Policy.Path, policySHA: rep.Policy.SHA256, only: map[string]bool{}, known: map[string]bool{}}
	for _, e := range rep.Images {
		p.known[e.Region+"/"+e.ImageID] = true
		// What the plan said apply would change: delete, deprecate, or tag a Deprecated image
		// (skipped, in its grace period; one whose tag is there already stays as it is).
		if e.Outcome == report.WouldDelete || e.Outcome == report.WouldDeprecate ||
			(e.Outcome == report.Skipped && e.Code == report.CodeInGracePeriod) {
			p.only[e.Region+"/"+e.ImageID] = true
		}
	}
	return p, nil
}

// checkPolicy refuses a policy whose bytes are not the ones the plan was made with.
func (p *reviewedPlan) checkPolicy(path string, data []byte) error {
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != p.policySHA {
		return fmt.Errorf("the policy changed since the plan (%s has sha256 %.12s, %s was made with %.12s): plan again", path, got, p.path, p.policySHA)
	}
	return nil
}
