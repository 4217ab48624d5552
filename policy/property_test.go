package policy

import (
	"flag"
	"os"
	"path"
	"slices"
	"strconv"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"pgregory.net/rapid"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/ecs"
)

// minChecks is the number of cases each rapid property runs by default. rapid's own default is
// 100; a deletion guard deserves more. An explicit -rapid.checks (or RAPID_CHECKS) still wins.
const minChecks = 1000

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := os.Getenv("RAPID_CHECKS") != ""
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "rapid.checks" {
			explicit = true
		}
	})
	if !explicit {
		if err := flag.Set("rapid.checks", strconv.Itoa(minChecks)); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// The pools the generators draw from are small on purpose, so that names, tags and ids collide
// between selectors, protect rules and images often.
var (
	genNames    = []string{"ci-1", "ci-2", "golden-ci", "golden-1", "web", "x", ""}
	genGlobs    = []string{"ci-*", "golden-*", "*", "*-1", "w?b", "[cg]*", "x", "*ci*"}
	genTagKeys  = []string{"team", "keep", "env"}
	genTagVals  = []string{"ci", "true", "prod", ""}
	genIDs      = []string{"m-a", "m-b", "m-c", "m-d", "m-e", "m-f"}
	genStatuses = append(slices.Clone(ecs.AllStatuses), "Frozen", "")
	genOwners   = []string{ecs.OwnerSelf, ecs.OwnerSelf, ecs.OwnerSystem, ecs.OwnerOthers, ecs.OwnerMarketplace, ""}
	genAges     = []string{"1min", "90min", "1h", "12h", "1d", "7d", "30d", "2w"}
)

func genTags(t *rapid.T, label string) map[string]string {
	return rapid.MapOfN(rapid.SampledFrom(genTagKeys), rapid.SampledFrom(genTagVals), 0, 2).Draw(t, label)
}

func genProtect(t *rapid.T, label string) map[string]any {
	p := map[string]any{}
	if ids := rapid.SliceOfNDistinct(rapid.SampledFrom(genIDs), 0, 2, rapid.ID[string]).Draw(t, label+".image_ids"); len(ids) > 0 {
		p["image_ids"] = ids
	}
	if tags := genTags(t, label+".tags"); len(tags) > 0 {
		p["tags"] = tags
	}
	if names := rapid.SliceOfNDistinct(rapid.SampledFrom(genGlobs), 0, 2, rapid.ID[string]).Draw(t, label+".names"); len(names) > 0 {
		p["names"] = names
	}
	return p
}

// genPolicy draws a valid policy for region cn-hangzhou, writes it as YAML and parses it, so that
// the property covers exactly the policies Parse accepts.
func genPolicy(t *rapid.T) *Policy {
	region := map[string]any{"region": "cn-hangzhou"}
	ids := rapid.SliceOfNDistinct(rapid.SampledFrom(genIDs), 0, 3, rapid.ID[string]).Draw(t, "image_ids")
	if len(ids) > 0 {
		region["image_ids"] = ids
	}
	if rapid.Bool().Draw(t, "has_select") || len(ids) == 0 {
		sel := map[string]any{}
		if rapid.Bool().Draw(t, "has_name") {
			sel["name"] = rapid.SampledFrom(genGlobs).Draw(t, "name")
		}
		if tags := genTags(t, "select.tags"); len(tags) > 0 {
			sel["tags"] = tags
		}
		if rapid.Bool().Draw(t, "has_age") || (len(sel) == 0 || sel["name"] == "*") && sel["tags"] == nil {
			sel["older_than"] = rapid.SampledFrom(genAges).Draw(t, "older_than")
		}
		if rapid.Bool().Draw(t, "has_status") {
			sel["status"] = rapid.SliceOfNDistinct(rapid.SampledFrom(SelectableStatuses), 1, 4, rapid.ID[string]).Draw(t, "status")
		}
		region["select"] = sel
	}
	if pr := genProtect(t, "regions[0].protect"); len(pr) > 0 {
		region["protect"] = pr
	}
	doc := map[string]any{"version": 1, "regions": []any{region}}
	if pr := genProtect(t, "protect"); len(pr) > 0 {
		doc["protect"] = pr
	}
	src, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("gen.yaml", src)
	if err != nil {
		t.Fatalf("generated policy does not parse: %v\n%s", err, src)
	}
	return p
}

func genImages(t *rapid.T) []ecs.Image {
	return rapid.SliceOfN(rapid.Custom(func(t *rapid.T) ecs.Image {
		img := ecs.Image{
			ID:         rapid.SampledFrom(genIDs).Draw(t, "id"),
			Name:       rapid.SampledFrom(genNames).Draw(t, "name"),
			Status:     rapid.SampledFrom(genStatuses).Draw(t, "status"),
			OwnerAlias: rapid.SampledFrom(genOwners).Draw(t, "owner"),
			Tags:       genTags(t, "tags"),
		}
		if !rapid.Bool().Draw(t, "unknown_time") {
			img.CreationTime = now.Add(-time.Duration(rapid.Int64Range(-60, 60*24*40).Draw(t, "age_minutes")) * time.Minute)
		}
		return img
	}), 0, 8).Draw(t, "images")
}

// protectedBy is an independent statement of the protect rules, for the property to check against.
func protectedBy(p Protect, img ecs.Image) bool {
	if slices.Contains(p.ImageIDs, img.ID) {
		return true
	}
	for k, v := range p.Tags {
		if iv, ok := img.Tags[k]; ok && iv == v {
			return true
		}
	}
	for _, g := range p.Names {
		if ok, _ := path.Match(g, img.Name); ok {
			return true
		}
	}
	return false
}

// TestPropertyNeverSelectsTheUnselectable: whatever the selectors and the images, every listed
// image gets exactly one verdict, and an image that is protected, not the account's own, or
// Creating or Waiting (or in any status outside SelectableStatuses) is never selected.
func TestPropertyNeverSelectsTheUnselectable(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genPolicy(t)
		r := p.Regions[0]
		images := genImages(t)
		verdicts := p.Evaluate("cn-hangzhou", images, now)
		if len(verdicts) != len(images) {
			t.Fatalf("%d verdicts for %d images", len(verdicts), len(images))
		}
		selected := map[string]bool{}
		for i, v := range verdicts {
			img := images[i]
			if v.ImageID != img.ID {
				t.Fatalf("verdict %d is for %s, image is %s", i, v.ImageID, img.ID)
			}
			if v.Kind < NotSelected || v.Kind > NotOwned {
				t.Fatalf("verdict %d has kind %v", i, v.Kind)
			}
			if v.Explicit != slices.Contains(r.ImageIDs, img.ID) {
				t.Fatalf("verdict %d: Explicit = %v", i, v.Explicit)
			}
			if v.Kind != Selected {
				if v.Kind == Protected && !protectedBy(r.Protect, img) && !protectedBy(p.Protect, img) {
					t.Fatalf("image %+v protected by %s, which does not match", img, v.Rule)
				}
				continue
			}
			switch {
			case img.OwnerAlias != ecs.OwnerSelf:
				t.Fatalf("selected an image owned by %q: %+v", img.OwnerAlias, img)
			case img.Status == ecs.StatusCreating || img.Status == ecs.StatusWaiting || !slices.Contains(SelectableStatuses, img.Status):
				t.Fatalf("selected an image in status %q: %+v", img.Status, img)
			case protectedBy(r.Protect, img) || protectedBy(p.Protect, img):
				t.Fatalf("selected a protected image: %+v", img)
			case selected[img.ID]:
				t.Fatalf("selected %s twice", img.ID)
			case !v.Explicit && r.Select == nil:
				t.Fatalf("selected %s with no selector and no explicit id", img.ID)
			case !v.Explicit && r.Select.OlderThan > 0 && (img.CreationTime.IsZero() || img.CreationTime.After(now.Add(-r.Select.OlderThan))):
				t.Fatalf("selected %s, created %v, younger than %v", img.ID, img.CreationTime, r.Select.OlderThan)
			}
			selected[img.ID] = true
		}
	})
}
