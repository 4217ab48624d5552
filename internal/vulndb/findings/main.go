// Command findings reads govulncheck's JSON output (govulncheck -format json) on stdin and
// decides what CI does with it:
//
//   - a vulnerability in a module that the code calls fails CI (exit 1): upgrade the module to
//     the fixed version it names;
//   - a vulnerability in the standard library is reported with the Go version that fixes it,
//     without failing, since the fix is a new Go release for go.mod's go line and the
//     Dockerfile rather than a change to the code;
//   - a module vulnerability in code that is imported but never called is listed as a note.
//
// Malformed input exits 2. Usage, as .ci/run does:
//
//	govulncheck -db file://DB -format json ./... > vuln.json
//	go run ./internal/vulndb/findings < vuln.json
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() { os.Exit(run(os.Stdin, os.Stdout, os.Stderr)) }

// message is one value of govulncheck's JSON stream; only the fields read here
// (golang.org/x/vuln/internal/govulncheck.Message).
type message struct {
	Config *struct {
		GoVersion string `json:"go_version"`
	} `json:"config"`
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV          string  `json:"osv"`
		FixedVersion string  `json:"fixed_version"`
		Trace        []frame `json:"trace"`
	} `json:"finding"`
}

type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
}

// stdlib is the module path govulncheck gives the standard library.
const stdlib = "stdlib"

// finding is what the stream says of one vulnerability in one module.
type finding struct {
	osv, module, version, fixed string
	called                      []string // the vulnerable symbols the code calls
	packages                    []string
}

func run(in io.Reader, stdout, stderr io.Writer) int {
	dec := json.NewDecoder(in)
	goVersion := ""
	summaries := map[string]string{}
	found := map[string]*finding{} // by osv and module
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			fmt.Fprintf(stderr, "findings: reading govulncheck's JSON: %v\n", err)
			return 2
		}
		switch {
		case m.Config != nil:
			goVersion = m.Config.GoVersion
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil:
			if len(m.Finding.Trace) == 0 {
				fmt.Fprintf(stderr, "findings: finding %s has no trace\n", m.Finding.OSV)
				return 2
			}
			top := m.Finding.Trace[0] // the vulnerable symbol, package or module
			key := m.Finding.OSV + " " + top.Module
			f := found[key]
			if f == nil {
				f = &finding{osv: m.Finding.OSV, module: top.Module, version: top.Version}
				found[key] = f
			}
			if m.Finding.FixedVersion != "" {
				f.fixed = m.Finding.FixedVersion
			}
			if top.Package != "" && !contains(f.packages, top.Package) {
				f.packages = append(f.packages, top.Package)
			}
			if top.Function != "" {
				sym := top.Package + "." + top.Function
				if top.Receiver != "" {
					sym = top.Package + "." + strings.TrimPrefix(top.Receiver, "*") + "." + top.Function
				}
				if !contains(f.called, sym) {
					f.called = append(f.called, sym)
				}
			}
		}
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var failing, stdlibN, notes int
	for _, k := range keys {
		f := found[k]
		what := f.osv
		if s := summaries[f.osv]; s != "" {
			what += " (" + s + ")"
		}
		where := "imports " + strings.Join(f.packages, ", ")
		if len(f.packages) == 0 {
			where = "requires the module"
		}
		if len(f.called) > 0 {
			where = "calls " + shortList(f.called)
		}
		switch {
		case f.module == stdlib:
			stdlibN++
			fix := "no fixed Go release yet"
			if f.fixed != "" {
				fix = "fixed in go" + strings.TrimPrefix(f.fixed, "v")
			}
			fmt.Fprintf(stdout, "standard library: %s: %s; %s, this build uses %s: raise go.mod's go line and the Dockerfile's Go image\n",
				what, where, fix, goVersion)
		case len(f.called) > 0:
			failing++
			fix := "no fixed version yet: drop or replace the module"
			if f.fixed != "" {
				fix = "fixed in " + f.module + "@" + f.fixed
			}
			fmt.Fprintf(stdout, "module: %s: %s@%s: %s; %s\n", what, f.module, f.version, where, fix)
		default:
			notes++
			fmt.Fprintf(stdout, "note: %s: %s@%s: %s, but never calls its vulnerable code\n", what, f.module, f.version, where)
		}
	}
	fmt.Fprintf(stdout, "govulncheck: %d module finding(s) the code calls, %d in the standard library, %d imported but not called\n",
		failing, stdlibN, notes)
	if failing > 0 {
		return 1
	}
	return 0
}

// shortList names the first few symbols, sorted, and counts the rest: a vulnerability in
// net/http can be reached through dozens.
func shortList(syms []string) string {
	sort.Strings(syms)
	const most = 3
	if len(syms) <= most {
		return strings.Join(syms, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(syms[:most], ", "), len(syms)-most)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
