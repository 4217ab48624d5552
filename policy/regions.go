package policy

import "fmt"

// KnownRegions are the ECS region ids known when this list was last checked: a region id that is
// not among them draws a warning from validate, not an error, since regions open after a release
// and private or finance clouds have their own.
//
// Source: Alibaba Cloud's "Regions and zones" and "Region IDs" pages and the region tables of the
// ECS-based services (ACS, Cloud Monitor, Cloud Control API), checked 2026-12-06. cn-nanjing and
// cn-fuzhou (local regions) are listed as decommissioned there, and stay here so that an old
// policy naming them is not flagged as a typo; the finance cloud regions are those ECS serves.
var KnownRegions = []string{
	// Chinese mainland
	"cn-qingdao", "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu",
	"cn-hangzhou", "cn-shanghai", "cn-nanjing", "cn-fuzhou", "cn-wuhan-lr",
	"cn-shenzhen", "cn-heyuan", "cn-guangzhou", "cn-chengdu",
	// Finance cloud
	"cn-shanghai-finance-1", "cn-shenzhen-finance-1",
	// Elsewhere
	"cn-hongkong",
	"ap-southeast-1", "ap-southeast-3", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ap-southeast-8",
	"ap-northeast-1", "ap-northeast-2",
	"us-east-1", "us-west-1", "us-southeast-1",
	"eu-central-1", "eu-west-1",
	"me-east-1", "me-central-1",
	"na-south-1",
}

// knownRegionsChecked is when KnownRegions was last checked, for the warning.
const knownRegionsChecked = "2026-12-06"

// unknownRegion returns the warning for a well-formed region id that KnownRegions lacks, with the
// nearest known id when one is close enough to be a typo of it; "" for a known id.
func unknownRegion(id string) string {
	best, bestDist := "", 4 // suggest only within 3 edits
	for _, k := range KnownRegions {
		if k == id {
			return ""
		}
		if d := editDistance(id, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	msg := fmt.Sprintf("%s is not an ECS region known on %s", id, knownRegionsChecked)
	if best != "" {
		return msg + "; did you mean " + best + "?"
	}
	return msg + " (a newer region is fine; a typo would fail every call)"
}

// editDistance is the Levenshtein distance between two strings, byte by byte (region ids are
// ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
