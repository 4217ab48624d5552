package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// The JSON Schema (examples/policy.schema.json) is what editors check a policy against as it is
// typed. It should refuse everything validate refuses, wherever a schema can say it, and accept
// everything validate accepts. These tests hold it to that with a real JSON Schema validator.

// schemaCannotExpress lists the rules of validate that the schema cannot express, and why. Each
// bad policy that the schema lets through must name one of them in schemaExempt.
var schemaCannotExpress = map[string]string{
	"yaml-syntax":  "a file that is not YAML has no instance for a schema to check; the YAML parser reports it",
	"one-document": "a schema checks one instance; a second YAML document in the file lies outside it",
	"duplicate-key": "the JSON data model has no duplicate keys: a parser keeps one of the values, so the " +
		"schema never sees the other",
	"merge-key": "<< is YAML's: the parser merges before any schema sees the mapping (validate refuses it " +
		"so that a policy reads as written)",
	"non-string-key": "JSON keys are strings: a YAML key 1 or true reaches a schema as the string \"1\" or \"true\"",
	"whole-float": "JSON Schema's integer is any number without a fraction, so 8.0 is one; validate wants the YAML " +
		"integer 8, since a float where a count belongs is a typo",
	"size": "a schema describes a value, not the bytes, YAML nodes and aliases it was written with " +
		"(1 MiB, 100,000 nodes once aliases are expanded, 250,000 separators)",
	"unique-region": "uniqueItems compares whole entries; no keyword makes one property unique across the items " +
		"of an array, so two entries for one region with different selectors pass",
	"match-all-class": "a class that matches every character has endless spellings ([^/-/], [^\\x00-.], ...); the " +
		"pattern lists ? and [^/], and validate reasons about what any class matches",
}

// schemaExempt names the bad policies the schema lets through (or has no instance for), each with
// the rule of schemaCannotExpress that explains it.
var schemaExempt = map[string]string{
	"parse/syntax":             "yaml-syntax",
	"parse/tab":                "yaml-syntax",
	"parse/two_documents":      "one-document",
	"parse/duplicate_key":      "duplicate-key",
	"parse/duplicate_protect":  "duplicate-key",
	"parse/merge_key":          "merge-key",
	"parse/alias_bomb":         "size",
	"hostile/billion laughs":   "size",
	"hostile/deep flow":        "size",
	"hostile/deep block":       "size",
	"hostile/many keys":        "size",
	"hostile/many nulls":       "size",
	"hostile/dense flow list":  "size",
	"hostile/dense flow map":   "size",
	"hostile/dense block list": "size",
	"hostile/spaced flow list": "size",
	"hostile/nested lists":     "size",
	"schema/region_twice":      "unique-region",
	"schema/whole_float":       "whole-float",
	"schema/int_tag_key":       "non-string-key",
	"schema/match_all_class":   "match-all-class",
}

// schemaOnlyBad are bad policies that no other test of the package has, one for each rule the
// schema cannot express that the package's own cases do not show.
var schemaOnlyBad = []struct{ name, src string }{
	{"region_twice", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n  - region: cn-hangzhou\n    select: {name: ci-*}\n"},
	{"whole_float", "version: 1\nconcurrency: 8.0\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\n"},
	{"int_tag_key", "version: 1\nregions:\n  - region: cn-hangzhou\n    select: {name: ci-*, tags: {1: x}}\n"},
	{"match_all_class", matchAllHead + "\"[^/-/]*\"\n"},
	{"duration_too_long", "version: 1\nregions:\n  - region: cn-hangzhou\n    select: {older_than: 15251w}\n"},
	{"glob_open_class", matchAllHead + "\"ci-[a-\"\n"},
	{"glob_trailing_escape", "version: 1\nregions:\n  - region: cn-hangzhou\n    image_ids: [m-a]\nprotect:\n  names: [\"ci-\\\\\"]\n"},
}

type namedPolicy struct{ name, src string }

// badPolicies are every bad policy of the package's tests.
func badPolicies() []namedPolicy {
	var out []namedPolicy
	for _, tt := range parseErrorTests {
		out = append(out, namedPolicy{"parse/" + tt.name, tt.src})
	}
	for _, tt := range retentionErrorTests {
		out = append(out, namedPolicy{"retention/" + tt.name, retentionHead + tt.src})
	}
	for _, tt := range referencedErrorTests {
		out = append(out, namedPolicy{"referenced/" + tt.name, tt.src})
	}
	for _, g := range matchAllNames {
		out = append(out, namedPolicy{"match_all/" + g, matchAllHead + `"` + g + `"` + "\n"})
	}
	for _, tt := range hostileInputs() {
		if !tt.ok {
			out = append(out, namedPolicy{"hostile/" + tt.name, tt.src})
		}
	}
	for _, tt := range schemaOnlyBad {
		out = append(out, namedPolicy{"schema/" + tt.name, tt.src})
	}
	return out
}

// goodPolicies are the policies people read: the examples, every yaml block of README.md and of
// docs/, the CronJob's, and the package's own valid ones.
func goodPolicies(t *testing.T) []namedPolicy {
	t.Helper()
	var out []namedPolicy
	for _, name := range examplePolicies {
		data, err := os.ReadFile("../examples/" + name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, namedPolicy{"examples/" + name, string(data)})
	}
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := 0
	for _, md := range append([]string{"../README.md"}, docs...) {
		data, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		for i, block := range yamlBlocks(string(data)) {
			out = append(out, namedPolicy{fmt.Sprintf("%s yaml block %d", strings.TrimPrefix(md, "../"), i+1), block})
			blocks++
		}
	}
	if blocks == 0 {
		t.Error("README.md has no yaml block: the test no longer sees its policy")
	}
	out = append(out, namedPolicy{"examples/kubernetes/cronjob.yaml ConfigMap", cronJobPolicy(t)})
	out = append(out, namedPolicy{"valid", valid}, namedPolicy{"fullPolicy", fullPolicy})
	for _, g := range narrowingNames {
		out = append(out, namedPolicy{"narrowing/" + g, matchAllHead + `'` + g + `'` + "\n"})
	}
	for _, g := range matchAllNames {
		out = append(out, namedPolicy{"match_all_narrowed/" + g, matchAllHead + `"` + g + `"` + "\n      older_than: 30d\n"})
	}
	return out
}

// yamlBlocks returns the bodies of the markdown's ```yaml code blocks; such a block is a policy
// by convention (a YAML block that is not one would take another info string).
func yamlBlocks(md string) []string {
	var blocks []string
	for rest := md; ; {
		_, after, ok := strings.Cut(rest, "\n```yaml\n")
		if !ok {
			return blocks
		}
		body, next, ok := strings.Cut(after, "\n```\n")
		if !ok {
			return blocks
		}
		blocks = append(blocks, body+"\n")
		rest = "\n" + next
	}
}

// cronJobPolicy returns the policy the example CronJob's ConfigMap holds.
func cronJobPolicy(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../examples/kubernetes/cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc struct {
			Kind string
			Data map[string]string
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if doc.Kind == "ConfigMap" && doc.Data["policy.yaml"] != "" {
			return doc.Data["policy.yaml"]
		}
	}
	t.Fatal("examples/kubernetes/cronjob.yaml has no ConfigMap with a policy.yaml")
	return ""
}

// compileSchema compiles examples/policy.schema.json.
func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("../examples/policy.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("policy.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("policy.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// noInstance is a file the schema has no JSON instance for, with the rule of schemaCannotExpress
// that says why.
type noInstance struct {
	rule string
	err  error
}

func (e *noInstance) Error() string { return e.rule + ": " + e.err.Error() }

// schemaInstance turns a policy file into the JSON instance an editor checks against the schema,
// or says why there is none. The bounds come first, as in Parse, so that no hostile input is
// expanded.
func schemaInstance(data []byte) (any, error) {
	if len(data) > MaxFileSize || separators(data) > maxSeparators {
		return nil, &noInstance{"size", errors.New("too large")}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil // an empty file: the instance is null
	} else if err != nil {
		return nil, &noInstance{"yaml-syntax", err}
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, &noInstance{"one-document", errors.New("a second document")}
	} else if !errors.Is(err, io.EOF) {
		return nil, &noInstance{"yaml-syntax", err}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	if countNodes(doc.Content[0], MaxNodes) > MaxNodes {
		return nil, &noInstance{"size", errors.New("too many nodes")}
	}
	v, err := jsonValue(doc.Content[0])
	if err != nil {
		return nil, err
	}
	// Through JSON text, so that numbers reach the validator as they would from a file.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// jsonValue converts a YAML node to the value JSON has for it.
func jsonValue(n *yaml.Node) (any, error) {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			switch {
			case k.ShortTag() == "!!merge":
				return nil, &noInstance{"merge-key", fmt.Errorf("line %d", k.Line)}
			case k.Kind != yaml.ScalarNode:
				return nil, &noInstance{"non-string-key", fmt.Errorf("line %d", k.Line)}
			}
			if _, dup := m[k.Value]; dup {
				return nil, &noInstance{"duplicate-key", fmt.Errorf("line %d: %s", k.Line, k.Value)}
			}
			v, err := jsonValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v // a scalar key of any type becomes its text, as in JSON
		}
		return m, nil
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			v, err := jsonValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	}
	var v any
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool", "!!int":
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		return v, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, err
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return n.Value, nil // JSON has no such number; the value stays text
		}
		return f, nil
	}
	return n.Value, nil
}

// TestSchemaAcceptsGoodPolicies: every policy validate accepts that people read or the tests
// hold, the schema accepts too.
func TestSchemaAcceptsGoodPolicies(t *testing.T) {
	sch := compileSchema(t)
	for _, p := range goodPolicies(t) {
		if _, err := Parse(p.name, []byte(p.src)); err != nil {
			t.Errorf("%s: validate refuses it: %v", p.name, err)
		}
		inst, err := schemaInstance([]byte(p.src))
		if err != nil {
			t.Errorf("%s: %v", p.name, err)
			continue
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: the schema refuses it: %v", p.name, err)
		}
	}
}

// TestSchemaRefusesBadPolicies runs every bad policy of the package's tests through validate and
// the schema: both must refuse it, unless schemaExempt names the rule the schema cannot express.
func TestSchemaRefusesBadPolicies(t *testing.T) {
	sch := compileSchema(t)
	seen := map[string]bool{}
	for _, p := range badPolicies() {
		seen[p.name] = true
		t.Run(p.name, func(t *testing.T) {
			t.Parallel() // the hostile inputs take a while under -race
			checkBadPolicy(t, sch, p)
		})
	}
	used := map[string]bool{}
	for name, rule := range schemaExempt {
		if !seen[name] {
			t.Errorf("schemaExempt names %s, which is no bad policy", name)
		}
		if _, ok := schemaCannotExpress[rule]; !ok {
			t.Errorf("schemaExempt: %s names rule %q, which schemaCannotExpress does not explain", name, rule)
		}
		used[rule] = true
	}
	for rule := range schemaCannotExpress {
		if !used[rule] {
			t.Errorf("schemaCannotExpress explains %q, which no bad policy shows", rule)
		}
	}
}

// checkBadPolicy runs one bad policy through validate and the schema.
func checkBadPolicy(t *testing.T, sch *jsonschema.Schema, p namedPolicy) {
	if _, err := Parse("p.yaml", []byte(p.src)); err == nil {
		t.Errorf("%s: validate accepts it", p.name)
	}
	inst, err := schemaInstance([]byte(p.src))
	var ni *noInstance
	switch {
	case errors.As(err, &ni):
	case err != nil:
		t.Fatalf("%s: %v", p.name, err)
	default:
		err = sch.Validate(inst)
	}
	rule, exempt := schemaExempt[p.name]
	switch {
	case exempt && ni != nil && ni.rule != rule:
		t.Errorf("%s: no schema instance (%v), but schemaExempt says %s", p.name, ni, rule)
	case exempt && ni == nil && err != nil:
		t.Errorf("%s: the schema refuses it now; take it out of schemaExempt: %v", p.name, err)
	case !exempt && ni != nil:
		t.Errorf("%s: no schema instance (%v); add it to schemaExempt", p.name, ni)
	case !exempt && err == nil:
		t.Errorf("%s: validate refuses it but the schema accepts it: make the schema refuse it, or name the rule it cannot express in schemaExempt", p.name)
	}
}

// schemaPattern returns the pattern of a $defs entry or of a select property.
func schemaPattern(t *testing.T, at ...string) *regexp.Regexp {
	t.Helper()
	data, err := os.ReadFile("../examples/policy.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	for _, k := range at {
		switch v := s.(type) {
		case map[string]any:
			s = v[k]
		case []any:
			var i int
			fmt.Sscan(k, &i)
			s = v[i]
		}
	}
	p, ok := s.(string)
	if !ok {
		t.Fatalf("no pattern at %v", at)
	}
	return regexp.MustCompile(p)
}

// TestSchemaGlobPatternIsPathMatch: the schema's glob pattern accepts exactly the patterns
// path.Match accepts, over every string of up to five characters from path.Match's syntax.
func TestSchemaGlobPatternIsPathMatch(t *testing.T) {
	re := schemaPattern(t, "$defs", "glob", "pattern")
	alphabet := []string{"a", "*", "?", "[", "]", "^", "-", "\\", "/"}
	n := 0
	var walk func(g string, depth int)
	walk = func(g string, depth int) {
		if g != "" {
			_, err := path.Match(g, "")
			if ok := err == nil; ok != re.MatchString(g) {
				t.Errorf("%q: path.Match error %v, schema pattern matches %v", g, err, re.MatchString(g))
			}
			n++
		}
		if depth == 0 {
			return
		}
		for _, c := range alphabet {
			walk(g+c, depth-1)
		}
	}
	walk("", 5)
	t.Logf("%d globs", n)
}

// TestSchemaMatchAllPattern: a name the schema's pattern calls match-all matches every name
// (it never refuses a name that narrows), and over globs of *, ? and [^/] it finds every one
// that does.
func TestSchemaMatchAllPattern(t *testing.T) {
	re := schemaPattern(t, "$defs", "matchAllName", "pattern")
	terms := []string{"*", "?", "[^/]", "a", "[a]", `\*`, "[^a]"}
	var walk func(g string, wild bool, depth int)
	walk = func(g string, wild bool, depth int) {
		if g != "" {
			_, all := matchesEveryName(g)
			if re.MatchString(g) && !all {
				t.Errorf("%q: the schema refuses it, but it narrows", g)
			}
			if wild && all && !re.MatchString(g) {
				t.Errorf("%q: matches every name, but the schema's pattern misses it", g)
			}
		}
		if depth == 0 {
			return
		}
		for i, term := range terms {
			walk(g+term, wild && i < 3, depth-1)
		}
	}
	walk("", true, 5)
}

// TestSchemaDurationPatterns: a select.older_than passes the schema exactly when ParseDuration
// takes it, up to the longest duration Go holds in each unit.
func TestSchemaDurationPatterns(t *testing.T) {
	sch := compileSchema(t)
	var values []string
	for _, u := range []struct {
		unit string
		max  int64
	}{{"min", math.MaxInt64 / int64(60e9)}, {"h", math.MaxInt64 / int64(3600e9)}, {"d", math.MaxInt64 / int64(Day)}, {"w", math.MaxInt64 / int64(Week)}} {
		for _, n := range []int64{0, 1, 9, 10, 99, u.max / 10, u.max - 1, u.max, u.max + 1, u.max * 10, u.max*10 + 9, math.MaxInt64 / 2} {
			values = append(values, fmt.Sprint(n)+u.unit, "00"+fmt.Sprint(n)+u.unit)
		}
		// Every number with the digits of the bound, one changed by one either way.
		s := fmt.Sprint(u.max)
		for i := range s {
			for _, d := range []int{-1, 1} {
				c := int(s[i]-'0') + d
				if c >= 0 && c <= 9 {
					values = append(values, s[:i]+fmt.Sprint(c)+s[i+1:]+u.unit)
				}
			}
		}
	}
	values = append(values, "", "d", "30", "30x", "-1d", "1.5d", "1d12h", " 1d", "30s", "30D", "6m", "0m", "min",
		"6mins", "6mo", "6M", "6 min", "99999999999999999999w", "99999999999999999999min")
	for _, s := range values {
		_, perr := ParseDuration(s)
		inst := map[string]any{"version": 1, "regions": []any{map[string]any{"region": "cn-hangzhou", "select": map[string]any{"older_than": s}}}}
		b, _ := json.Marshal(inst)
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		serr := sch.Validate(v)
		if (perr == nil) != (serr == nil) {
			t.Errorf("older_than %q: ParseDuration error %v, schema error %v", s, perr, serr)
		}
	}
}
