package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// commandHelp is what --help prints for each subcommand: a usage line, what it does, and two
// examples; the flags follow, with double dashes as the README writes them.
var commandHelp = map[string]struct{ usage, about, examples string }{
	"validate": {
		"ecs-image-cleanup validate --policy FILE",
		`Check a policy file offline: no credentials, no network. When the policy is valid, prints a
one-line summary, then one line a region saying in words what it selects, with older_than as the
time it is now, and exits 0; prints every problem, FILE:LINE:COL first, and exits 1 when it is not.`,
		`  ecs-image-cleanup validate --policy policy.yaml
  ecs-image-cleanup validate --policy examples/nightly-ci.yaml`,
	},
	"plan": {
		"ecs-image-cleanup plan --policy FILE [--report FILE] [flags]",
		`List, select and DryRun-delete the images the policy selects; deletes nothing. The report
(JSON) says what apply would do to each image and why; the summary goes to stderr.`,
		`  ecs-image-cleanup plan --policy policy.yaml --report plan.json
  ecs-image-cleanup plan --policy policy.yaml --report plan.json --format markdown --summary plan.md`,
	},
	"apply": {
		"ecs-image-cleanup apply (--policy FILE | --plan PLAN) [--report FILE] [--yes] [flags]",
		`Plan, then delete the images whose DryRun passed, after the policy's guards and a
confirmation (a terminal, or --yes). With --plan, only the images a reviewed plan would delete.`,
		`  ecs-image-cleanup apply --plan plan.json --report apply.json
  ecs-image-cleanup apply --policy nightly.yaml --yes --report /var/log/ecs-image-cleanup/apply.json`,
	},
	"restore": {
		"ecs-image-cleanup restore --policy FILE [--image-ids ID,...] [--since DURATION] [--report FILE] [--yes] [flags]",
		`Undo staged retention's first step: set the images apply deprecated (the account's own, in
the policy's regions, Deprecated and tagged ecs-image-cleanup/deprecated-at) back to Available,
DryRun first, and remove the tag, after a confirmation (a terminal, or --yes). Protection rules
do not apply; an image deprecated by hand (no tag) is never touched.`,
		`  ecs-image-cleanup restore --policy nightly.yaml --report restore.json
  ecs-image-cleanup restore --policy nightly.yaml --image-ids m-abc,m-def --since 2d --yes --report restore.json`,
	},
	"recover": {
		"ecs-image-cleanup recover --journal FILE --policy FILE [--report FILE] [flags]",
		`Turn the journal a killed plan, apply or restore left (FILE.journal beside its --report) into
that run's report, status interrupted: each image whose real delete, or staged retention's status
change or tag, was sent is looked up by id (credentials needed then). apply --retry-from takes
a recovered apply's report.`,
		`  ecs-image-cleanup recover --journal apply.json.journal --policy nightly.yaml --report apply.json
  ecs-image-cleanup apply --policy nightly.yaml --retry-from apply.json --report apply-2.json --yes`,
	},
	"demo": {
		"ecs-image-cleanup demo [flags]",
		`Run plan, then apply --yes, against the bundled ECS emulator through the real SDK over real
HTTP: no cloud account needed. Both reports are left in --report-dir.`,
		`  ecs-image-cleanup demo
  ecs-image-cleanup demo --format markdown --report-dir ./demo-reports`,
	},
}

// wantsHelp reports whether args ask for help (-h, -help, --help) before any "--": the help is
// then printed on stdout and the command exits 0, where the flag package would print it on
// stderr.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--h", "--help":
			return true
		}
	}
	return false
}

// setUsage makes fs print its command's help.
func setUsage(fs *flag.FlagSet, command string) {
	fs.Usage = func() { printHelp(fs.Output(), fs, command) }
}

func printHelp(w io.Writer, fs *flag.FlagSet, command string) {
	h := commandHelp[command]
	fmt.Fprintf(w, "usage: %s\n\n%s\n\nexamples:\n%s\n\nflags:\n", h.usage, h.about, h.examples)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" && !strings.Contains(usage, "(default") {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// commands are the subcommands, for the suggestion on a typo.
var commands = []string{"validate", "plan", "apply", "restore", "recover", "demo", "version", "help"}

// suggest returns the command nearest to s, or "" when none is near: within two edits, or s a
// prefix of it.
func suggest(s string) string {
	best, bestD := "", 3
	for _, c := range commands {
		if strings.HasPrefix(c, s) && len(s) >= 2 {
			return c
		}
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (optimal string alignment): a swap of two
// neighbours (plna) counts as one edit.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// version is the module version, VCS revision and Go version the binary was built with.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "ecs-image-cleanup (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	rev, dirty, at := "", "", ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		case "vcs.time":
			at = " " + s.Value
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	return fmt.Sprintf("ecs-image-cleanup %s, revision %s%s%s, %s %s/%s", v, rev, dirty, at, bi.GoVersion, runtime.GOOS, runtime.GOARCH)
}
