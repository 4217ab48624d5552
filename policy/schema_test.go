package policy

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The examples this package owns; other files in examples/ are not policies.
var examplePolicies = []string{"nightly-ci.yaml", "one-off.yaml", "audit.yaml", "demo.yaml"}

// TestExamples loads and validates every example policy, and checks that each points editors at
// the schema on its first line.
func TestExamples(t *testing.T) {
	for _, name := range examplePolicies {
		t.Run(name, func(t *testing.T) {
			path := "../examples/" + name
			if _, err := Load(path); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			if first != "# yaml-language-server: $schema=./policy.schema.json" {
				t.Errorf("first line is %q", first)
			}
		})
	}
	p, err := Load("../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The emulator demo depends on exactly this policy.
	if len(p.Regions) != 3 || p.Regions[0].ID != "cn-hangzhou" || p.Regions[1].ID != "cn-shanghai" ||
		p.Regions[2].ID != "cn-beijing" || p.Regions[2].DeprecateFirst != 14*Day || p.Regions[2].Select.OlderThan != 30*Day ||
		p.Regions[2].Select.KeepLatest != 0 || p.Regions[2].DeleteSnapshots || p.Regions[0].DeprecateFirst != 0 || p.Regions[1].DeprecateFirst != 0 ||
		p.Regions[0].Select.Name != "ci-*" || p.Regions[1].Select.OlderThan != 30*Day ||
		p.Regions[0].Select.KeepLatest != 1 || p.Regions[0].Select.GroupBy != GroupByFamily ||
		p.Regions[1].Select.KeepLatest != 1 || p.Regions[1].Select.GroupBy != GroupByNamePrefix ||
		!p.Regions[0].DeleteSnapshots || !p.Regions[1].DeleteSnapshots ||
		!slices.Equal(p.Protect.Names, []string{"golden-*"}) || p.Protect.Tags["keep"] != "true" ||
		p.Limits.MaxDeletions != 50 {
		t.Errorf("demo policy changed: %+v", p)
	}
}

// TestSchemaMatchesTypes keeps examples/policy.schema.json in step with the file types: at every
// level, the schema's properties are exactly the yaml keys of the Go struct, objects forbid
// additional properties, and leaves have the Go field's type.
func TestSchemaMatchesTypes(t *testing.T) {
	data, err := os.ReadFile("../examples/policy.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	// deref follows $ref to $defs, merging the referring schema's own keywords over it.
	deref := func(s map[string]any) map[string]any {
		for i := 0; i < 10; i++ {
			ref, ok := s["$ref"].(string)
			if !ok {
				return s
			}
			target, ok := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			if !ok {
				t.Fatalf("unresolved $ref %s", ref)
			}
			merged := map[string]any{}
			for k, v := range target {
				merged[k] = v
			}
			for k, v := range s {
				if k != "$ref" {
					merged[k] = v
				}
			}
			s = merged
		}
		t.Fatal("$ref loop")
		return nil
	}
	var check func(ty reflect.Type, s map[string]any, at string)
	check = func(ty reflect.Type, s map[string]any, at string) {
		s = deref(s)
		if ty.Kind() == reflect.Pointer {
			ty = ty.Elem()
		}
		want := map[reflect.Kind]string{reflect.Struct: "object", reflect.Map: "object", reflect.Slice: "array",
			reflect.String: "string", reflect.Int: "integer", reflect.Bool: "boolean"}[ty.Kind()]
		if got, _ := s["type"].(string); got != want {
			t.Errorf("%s: schema type %q, Go type %s wants %q", at, got, ty, want)
		}
		switch ty.Kind() {
		case reflect.Struct:
			if s["additionalProperties"] != false {
				t.Errorf("%s: additionalProperties is not false", at)
			}
			props, _ := s["properties"].(map[string]any)
			var goKeys, schemaKeys []string
			for i := 0; i < ty.NumField(); i++ {
				f := ty.Field(i)
				name := yamlName(f)
				goKeys = append(goKeys, name)
				if ps, ok := props[name].(map[string]any); ok {
					check(f.Type, ps, join(at, name))
				}
			}
			for k := range props {
				schemaKeys = append(schemaKeys, k)
			}
			sort.Strings(goKeys)
			sort.Strings(schemaKeys)
			if !slices.Equal(goKeys, schemaKeys) {
				t.Errorf("%s: Go keys %v, schema properties %v", at, goKeys, schemaKeys)
			}
		case reflect.Map:
			elem, ok := s["additionalProperties"].(map[string]any)
			if !ok {
				t.Errorf("%s: map without an additionalProperties schema", at)
				return
			}
			check(ty.Elem(), elem, at+".*")
		case reflect.Slice:
			items, ok := s["items"].(map[string]any)
			if !ok {
				t.Errorf("%s: array without items", at)
				return
			}
			if _, isEnum := items["enum"]; isEnum && ty.Elem().Kind() == reflect.String {
				return
			}
			check(ty.Elem(), items, at+"[]")
		}
	}
	check(reflect.TypeOf(filePolicy{}), root, "")

	// The schema's enum of statuses is SelectableStatuses.
	sel := defs["select"].(map[string]any)["properties"].(map[string]any)["status"].(map[string]any)
	var enum []string
	for _, v := range sel["items"].(map[string]any)["enum"].([]any) {
		enum = append(enum, v.(string))
	}
	if !slices.Equal(enum, SelectableStatuses) {
		t.Errorf("schema status enum %v, want %v", enum, SelectableStatuses)
	}
}
