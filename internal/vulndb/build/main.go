// Command build makes an offline Go vulnerability database for govulncheck -db file:///DIR out
// of a copy of the golang.org/x/vulndb module, which the Go module proxy serves like any other
// module and whose data/osv folder holds every report as an OSV entry (GO-YYYY-NNNN.json).
//
// It writes the v1 layout that govulncheck reads from a local directory
// (https://go.dev/security/vuln/database#api):
//
//	OUT/index/db.json       {"modified": TIME}
//	OUT/index/modules.json  [{"path": MODULE, "vulns": [{"id", "modified", "fixed"}]}], by path
//	OUT/ID/GO-YYYY-NNNN.json  each OSV entry, byte for byte
//
// The OSV files in the module carry a zero "modified" time (the real database stamps it from the
// repository's history at deploy time), so db.json's time is the module version's commit time
// (from its pseudo-version, -version) when that is later than every entry's.
//
// Usage:
//
//	go mod download -json golang.org/x/vulndb@VERSION   # prints its Dir
//	go run ./internal/vulndb/build -src DIR -version VERSION -out OUT
//	govulncheck -db file://OUT ./...
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("vulndb build: ")
	src := flag.String("src", "", "directory of the golang.org/x/vulndb module (holds data/osv)")
	out := flag.String("out", "", "directory to write the database to; must be empty or absent")
	version := flag.String("version", "", "the module's version; a pseudo-version's time stamps index/db.json")
	flag.Parse()
	if *src == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	n, err := build(*src, *out, *version)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("vulndb build: %d entries from %s written to %s\n", n, *src, *out)
}

// entry is the part of an OSV entry the indexes need.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []osvRange `json:"ranges"`
	} `json:"affected"`
}

type osvRange struct {
	Type   string `json:"type"`
	Events []struct {
		Introduced string `json:"introduced"`
		Fixed      string `json:"fixed"`
	} `json:"events"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

var idPattern = regexp.MustCompile(`^GO-\d{4}-\d{4,}$`)

func build(src, out, version string) (int, error) {
	osvDir := filepath.Join(src, "data", "osv")
	files, err := filepath.Glob(filepath.Join(osvDir, "*.json"))
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("no OSV entries in %s", osvDir)
	}
	if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
		return 0, fmt.Errorf("%s is not empty", out)
	}
	for _, d := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			return 0, err
		}
	}

	var modified time.Time
	if version != "" {
		t, err := pseudoVersionTime(version)
		if err != nil {
			return 0, err
		}
		modified = t
	}
	modules := map[string]*moduleMeta{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		var e entry
		if err := json.Unmarshal(data, &e); err != nil {
			return 0, fmt.Errorf("%s: %v", f, err)
		}
		if !idPattern.MatchString(e.ID) || filepath.Base(f) != e.ID+".json" {
			return 0, fmt.Errorf("%s: entry id %q does not match its file name", f, e.ID)
		}
		if len(e.Affected) == 0 {
			return 0, fmt.Errorf("%s: entry affects no module", f)
		}
		if e.Modified.After(modified) {
			modified = e.Modified
		}
		for _, a := range e.Affected {
			path := a.Package.Name
			if path == "" {
				return 0, fmt.Errorf("%s: affected package without a name", f)
			}
			m := modules[path]
			if m == nil {
				m = &moduleMeta{Path: path, Vulns: []moduleVuln{}}
				modules[path] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: nonSupersededFix(a.Ranges)})
		}
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), data, 0o644); err != nil {
			return 0, err
		}
	}

	list := make([]*moduleMeta, 0, len(modules))
	for _, m := range modules {
		sort.SliceStable(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	if err := writeJSON(filepath.Join(out, "index", "modules.json"), list); err != nil {
		return 0, err
	}
	db := struct {
		Modified time.Time `json:"modified"`
	}{modified.UTC()}
	if err := writeJSON(filepath.Join(out, "index", "db.json"), db); err != nil {
		return 0, err
	}
	return len(files), nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

var pseudoTime = regexp.MustCompile(`[-.](\d{14})-[0-9a-f]{12}$`)

// pseudoVersionTime is the commit time a pseudo-version (v0.0.0-20261105234957-e22db6528018)
// carries.
func pseudoVersionTime(v string) (time.Time, error) {
	m := pseudoTime.FindStringSubmatch(strings.TrimSuffix(v, "+incompatible"))
	if m == nil {
		return time.Time{}, fmt.Errorf("version %q is not a pseudo-version", v)
	}
	return time.Parse("20060102150405", m[1])
}

// nonSupersededFix is the latest fixed version in the SEMVER ranges, or "" when the
// vulnerability was introduced again after it (so no version fixes it). It mirrors
// golang.org/x/vuln/internal/semver.NonSupersededFix, which govulncheck's own indexer uses for
// the "fixed" field of index/modules.json.
func nonSupersededFix(ranges []osvRange) string {
	var latest string
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && compareSemver(latest, e.Fixed) < 0 {
				latest = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && compareSemver(latest, e.Introduced) < 0 {
				latest = ""
				break
			}
		}
	}
	return latest
}
