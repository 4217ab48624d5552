package runner_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs/ecstest"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/report"
	"github.com/ecs-image-cleanup/ecs-image-cleanup/runner"
)

// Tests of issue 17: what each gap of the emulator would have hidden in the job.

// TestExplicitMarketplaceIDIsNotOwned: DescribeImages without ImageOwnerAlias leaves
// marketplace images out, so the lookup of explicit ids never finds one. An emulator that listed
// them hid that the job then reported a marketplace image "not found" (InvalidImageId.NotFound)
// instead of saying it is not the account's own. It must be skipped ImageNotOwned, never sent a
// DeleteImage.
func TestExplicitMarketplaceIDIsNotOwned(t *testing.T) {
	market := oldImage("m-market")
	market.OwnerAlias, market.OwnerID = ecs.OwnerMarketplace, "5555"
	st := &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {Images: []ecstest.Image{market, oldImage("m-mine")}}}}
	h := newHarness(t, st, ecstest.Options{}, "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-market, m-mine, m-nothing]\n")
	rep := h.run(t, runner.Apply, nil)
	got := entries(rep)
	if e := got["cn-hangzhou/m-market"]; e.Outcome != report.Skipped || e.Code != runner.CodeNotOwned {
		t.Errorf("marketplace image: %s %q (%s), want skipped %s", e.Outcome, e.Code, e.Message, runner.CodeNotOwned)
	}
	if e := got["cn-hangzhou/m-mine"]; e.Outcome != report.Deleted {
		t.Errorf("own image: %s %q (%s), want deleted", e.Outcome, e.Code, e.Message)
	}
	if e := got["cn-hangzhou/m-nothing"]; e.Outcome != report.Skipped || e.Code != "InvalidImageId.NotFound" {
		t.Errorf("missing image: %s %q, want skipped InvalidImageId.NotFound", e.Outcome, e.Code)
	}
	if n := deletesOf(h.srv)["m-market"]; n != 0 {
		t.Errorf("%d DeleteImage sent for the marketplace image", n)
	}
	if _, ok := h.srv.Image("cn-hangzhou", "m-market"); !ok {
		t.Error("the marketplace image is gone")
	}
}

// TestEverySecurityTokenRefusalFailsFast: an STS token that stops being good between the dry
// runs and the real deletes (rotated, expired, or a key that now needs one) is refused with
// MissingSecurityToken or InvalidSecurityToken.*. An emulator that never checked tokens hid that
// the job failed fast only on InvalidSecurityToken.Expired and otherwise sent, and lost, one
// refused DeleteImage per image. The region must stop after FailFastAfter refusals, and its
// images must say the token was refused.
func TestEverySecurityTokenRefusalFailsFast(t *testing.T) {
	const n = 40
	for _, tc := range []struct {
		code  string
		token string // the token the job's credential carries
		turn  func(*ecstest.Server)
	}{
		{"MissingSecurityToken", "", func(s *ecstest.Server) { s.SetSTS("STS.job", ecstest.STSToken{Token: "now-needed"}) }},
		{"InvalidSecurityToken.Malformed", "token-a", func(s *ecstest.Server) { s.SetSTS("STS.job", ecstest.STSToken{Token: "token-b"}) }},
		{"InvalidSecurityToken.MismatchWithAccessKey", "token-a", func(s *ecstest.Server) {
			s.SetSTS("STS.job", ecstest.STSToken{Token: "token-b"})
			s.SetSTS("STS.other", ecstest.STSToken{Token: "token-a"})
		}},
		{"InvalidSecurityToken.Expired", "token-a", func(s *ecstest.Server) {
			s.SetSTS("STS.job", ecstest.STSToken{Token: "token-a", Expires: time.Now().Add(-time.Minute)})
		}},
	} {
		t.Run(tc.code, func(t *testing.T) {
			reg := &ecstest.Region{}
			for _, id := range ids("m-tok", n) {
				reg.Images = append(reg.Images, oldImage(id))
			}
			st := &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": reg}}
			opts := ecstest.Options{Credentials: map[string]string{"STS.job": "job-secret", "STS.other": "other-secret"}}
			if tc.token != "" {
				opts.STS = map[string]ecstest.STSToken{"STS.job": {Token: tc.token}}
			}
			h := newHarness(t, st, opts, "version: 1\nconcurrency: 2\nregions:\n  - region: cn-hangzhou\n    select: {name: \"ci-*\", older_than: 30d}\n")
			client, err := ecs.New(ecs.Config{Endpoint: h.srv.URL(), Credential: ecs.StaticCredential("STS.job", "job-secret", tc.token)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(client.Close)
			h.client = client
			rep := h.run(t, runner.Apply, func(c *runner.Config) {
				c.Confirm = func([]report.Entry) bool { tc.turn(h.srv); return true }
			})
			if rep.Summary.Deleted != 0 {
				t.Fatalf("deleted %d with a refused token", rep.Summary.Deleted)
			}
			sent := 0
			for _, c := range h.srv.Calls() {
				if c.Action == "DeleteImage" && !c.DryRun {
					sent++
				}
			}
			// FailFastAfter (3) refusals, plus what the other slot had in flight.
			if sent > 4 {
				t.Errorf("%d real DeleteImage sent after the token was refused, want at most 4", sent)
			}
			stopped := 0
			for _, e := range rep.Images {
				switch {
				case e.Code != tc.code:
					t.Errorf("%s: %s %q (%s), want code %s", e.ImageID, e.Outcome, e.Code, e.Message, tc.code)
				case e.Outcome == report.NotAttempted:
					stopped++
					if !strings.Contains(e.Message, "security token") {
						t.Errorf("%s: message %q does not name the security token", e.ImageID, e.Message)
					}
				}
			}
			if stopped < n-4 {
				t.Errorf("%d images not attempted, want at least %d", stopped, n-4)
			}
		})
	}
}

// TestSnapshotRefusalsEachHandled: each of DeleteSnapshot's other refusals has its handling. A
// shared snapshot is kept with the remedy (unshare, then delete by hand); a busy one (its disk
// taking a snapshot, an operation in conflict, a related snapshot unfinished) is retried, and
// deleted once free, or failed with the remedy if it stayed busy. An emulator that answered only
// 404, SnapshotCreatedImage and SnapshotCreatedDisk hid that the job failed all of these on the
// first answer: busy snapshots whose image was gone were left for good.
func TestSnapshotRefusalsEachHandled(t *testing.T) {
	st := &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {
		Images: []ecstest.Image{oldImage("m-1", "s-shared", "s-conflict"), oldImage("m-2", "s-related", "s-creating")},
		Snapshots: []ecstest.Snapshot{
			{ID: "s-shared", Shared: true},
			{ID: "s-conflict", Conflict: true, BusyFor: 2},
			{ID: "s-related", RelatedNotFinished: true, BusyFor: 1},
			{ID: "s-creating", CreatingSnapshot: true},
		},
	}}}
	h := newHarness(t, st, ecstest.Options{}, "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-1, m-2]\n    delete_snapshots: true\n")
	rep := h.run(t, runner.Apply, nil)
	snaps := map[string]report.SnapshotEntry{}
	for _, e := range rep.Images {
		if e.Outcome != report.Deleted {
			t.Errorf("%s: %s %q, want deleted", e.ImageID, e.Outcome, e.Code)
		}
		for _, sn := range e.Snapshots {
			snaps[sn.SnapshotID] = sn
		}
	}
	for id, w := range map[string]struct {
		outcome     report.Outcome
		code        string
		remediation bool
	}{
		"s-shared":   {report.Kept, "InvalidOperation.DeleteSharedSnapshotUnsupported", true},
		"s-conflict": {report.Deleted, "", false},
		"s-related":  {report.Deleted, "", false},
		"s-creating": {report.Failed, "IncorrectDiskStatus.CreatingSnapshot", true},
	} {
		sn := snaps[id]
		if sn.Outcome != w.outcome || sn.Code != w.code || (sn.Remediation != "") != w.remediation {
			t.Errorf("%s: %s %q (%s) remediation %q, want %s %q (remediation %v)", id, sn.Outcome, sn.Code, sn.Message, sn.Remediation, w.outcome, w.code, w.remediation)
		}
	}
	if a := snaps["s-conflict"].Attempts; a != 3 {
		t.Errorf("s-conflict: %d attempts, want 3 (two refusals, then the delete)", a)
	}
	if a := snaps["s-creating"].Attempts; a < 2 {
		t.Errorf("s-creating: %d attempts, want it retried", a)
	}
	if h.srv.SnapshotExists("s-conflict") || h.srv.SnapshotExists("s-related") || !h.srv.SnapshotExists("s-shared") {
		t.Error("snapshot state does not match the report")
	}
}

// TestTagSelectionPastTheServiceCap: select.tags goes to the service as Tag.N filters, and a
// tag-filtered DescribeImages finds 1,000 images at most. An emulator that returned every match
// hid that the job would plan (and delete) only 1,000 of 1,500 tagged images, without a word.
// Whatever TotalCount the service reports for a capped query, every one of the 1,500 is selected.
func TestTagSelectionPastTheServiceCap(t *testing.T) {
	for _, total := range []string{"capped", "all"} {
		t.Run(total, func(t *testing.T) {
			imgs := ecstest.GenerateImages(1500, "ci", now.Add(-90*24*time.Hour))
			for i := range imgs {
				imgs[i].Tags = map[string]string{"team": "ci"}
			}
			// Images of another team, which the tags must still keep out.
			for _, id := range ids("m-web", 30) {
				im := oldImage(id)
				im.Tags = map[string]string{"team": "web"}
				imgs = append(imgs, im)
			}
			st := &ecstest.State{Regions: map[string]*ecstest.Region{"cn-hangzhou": {Images: imgs}}}
			h := newHarness(t, st, ecstest.Options{TagQueryTotal: total},
				"version: 1\nconcurrency: 32\nregions:\n  - region: cn-hangzhou\n    select: {tags: {team: ci}, older_than: 30d}\n")
			rep := h.run(t, runner.Plan, nil)
			if rep.Summary.Selected != 1500 || rep.Summary.WouldDelete != 1500 {
				t.Fatalf("selected %d, would delete %d; want 1500 of 1500", rep.Summary.Selected, rep.Summary.WouldDelete)
			}
			for _, e := range rep.Images {
				if strings.HasPrefix(e.ImageID, "m-web") {
					t.Fatalf("%s (team web) selected", e.ImageID)
				}
			}
		})
	}
}

// TestRegionalEndpointsEndToEnd: plan and apply, snapshots included, against an emulator that
// serves each region under its own host names (ecs.<region>.aliyuncs.com and the SDK's
// ecs-cn-hangzhou.aliyuncs.com; ess.<region>.aliyuncs.com and the central ess.aliyuncs.com) and
// refuses a request for another region. One URL for everything hid a call sent to the wrong
// region's endpoint; DeleteSnapshot above all, which names no region and so must go to its
// snapshot's region's endpoint, or the service does not find the snapshot.
func TestRegionalEndpointsEndToEnd(t *testing.T) {
	st := &ecstest.State{Regions: map[string]*ecstest.Region{}}
	for _, region := range []string{"cn-hangzhou", "cn-chengdu"} {
		p := region[3:5]
		st.Regions[region] = &ecstest.Region{
			Images: []ecstest.Image{oldImage("m-"+p+"1", "s-"+p+"1"), oldImage("m-"+p+"2", "s-"+p+"2"),
				oldImage("m-" + p + "lt"), oldImage("m-" + p + "sc")},
			LaunchTemplates:       []ecstest.LaunchTemplate{{ID: "lt-" + p, Name: "lt", Versions: []ecstest.LaunchTemplateVersion{{ImageID: "m-" + p + "lt"}}}},
			ScalingConfigurations: []ecstest.ScalingConfiguration{{ID: "asc-" + p, ImageID: "m-" + p + "sc"}},
		}
	}
	pol := "version: 1\nregions:\n" +
		"  - region: cn-hangzhou\n    select: {name: \"ci-*\", older_than: 30d}\n    delete_snapshots: true\n" +
		"  - region: cn-chengdu\n    select: {name: \"ci-*\", older_than: 30d}\n    delete_snapshots: true\n"
	h := newHarness(t, st, ecstest.Options{RegionalEndpoints: true}, pol)
	d := &net.Dialer{Timeout: 5 * time.Second}
	client, err := ecs.New(ecs.Config{
		Credential: ecs.StaticCredential(ecstest.AccessKeyID, ecstest.AccessKeySecret, ""),
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, h.srv.Addr())
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	h.client = client

	for _, command := range []string{runner.Plan, runner.Apply} {
		rep := h.run(t, command, nil)
		if rep.Status != report.StatusCompleted {
			t.Fatalf("%s: status %s, fault %q, warnings %v", command, rep.Status, rep.Fault, rep.Warnings)
		}
		gone := report.WouldDelete
		if command == runner.Apply {
			gone = report.Deleted
		}
		for _, e := range rep.Images {
			want := gone
			if strings.HasSuffix(e.ImageID, "lt") || strings.HasSuffix(e.ImageID, "sc") {
				want = report.Skipped // named by a launch template or a scaling configuration
			}
			if e.Outcome != want {
				t.Errorf("%s: %s: %s %q (%s), want %s", command, e.ImageID, e.Outcome, e.Code, e.Message, want)
			}
			for _, sn := range e.Snapshots {
				if sn.Outcome != gone {
					t.Errorf("%s: snapshot %s: %s %q (%s), want %s", command, sn.SnapshotID, sn.Outcome, sn.Code, sn.Message, gone)
				}
			}
		}
		if rep.Summary.Selected != 8 {
			t.Errorf("%s: selected %d, want 8", command, rep.Summary.Selected)
		}
	}
	hosts := map[string]bool{}
	for _, c := range h.srv.Calls() {
		hosts[c.Host] = true
		if c.Code != "" && c.Code != "DryRunOperation" {
			t.Errorf("%s %s at %s answered %s", c.Action, c.Region, c.Host, c.Code)
		}
	}
	for _, host := range []string{"ecs-cn-hangzhou.aliyuncs.com", "ecs.cn-chengdu.aliyuncs.com", "ess.aliyuncs.com", "ess.cn-chengdu.aliyuncs.com"} {
		if !hosts[host] {
			t.Errorf("no call reached %s (hosts: %v)", host, hosts)
		}
	}
	for _, id := range []string{"s-ha1", "s-ha2", "s-ch1", "s-ch2"} {
		if h.srv.SnapshotExists(id) {
			t.Errorf("%s still exists", id)
		}
	}
}
