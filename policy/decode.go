package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The policy as it is written in the file. These types are the schema: their yaml tags are the
// key names, the structural check walks them by reflection, examples/policy.schema.json is tested
// against them, and the strict YAML decoder fills them. Optional scalars are pointers so that
// "absent" and "zero" differ.
type filePolicy struct {
	Version        *int         `yaml:"version"`
	Concurrency    *int         `yaml:"concurrency"`
	DeprecateFirst string       `yaml:"deprecate_first"`
	Regions        []fileRegion `yaml:"regions"`
	Protect        *fileProtect `yaml:"protect"`
	Limits         *fileLimits  `yaml:"limits"`
}

type fileRegion struct {
	Region          string       `yaml:"region"`
	ImageIDs        []string     `yaml:"image_ids"`
	Select          *fileSelect  `yaml:"select"`
	Force           *bool        `yaml:"force"`
	DeleteSnapshots *bool        `yaml:"delete_snapshots"`
	DeprecateFirst  string       `yaml:"deprecate_first"`
	Protect         *fileProtect `yaml:"protect"`
}

type fileSelect struct {
	Name       string            `yaml:"name"`
	Tags       map[string]string `yaml:"tags"`
	OlderThan  string            `yaml:"older_than"`
	Status     []string          `yaml:"status"`
	KeepLatest *int              `yaml:"keep_latest"`
	GroupBy    string            `yaml:"group_by"`
}

type fileProtect struct {
	ImageIDs   []string          `yaml:"image_ids"`
	Tags       map[string]string `yaml:"tags"`
	Names      []string          `yaml:"names"`
	Referenced *bool             `yaml:"referenced"`
}

type fileLimits struct {
	MaxDeletions       *int `yaml:"max_deletions"`
	MaxDeletionPercent *int `yaml:"max_deletion_percent"`
}

// decoder turns the bytes of one file into a Policy, collecting every problem on the way.
type decoder struct {
	file  string
	errs  []*Error
	nodes map[string]*yaml.Node // field path -> value node, for placing validation errors
	// broken are the fields with structural problems, which decode as absent; see validatePartial.
	broken []string
	// warnings are things worth a look that do not make the policy wrong, such as an unknown region.
	warnings []*Error
}

// errorf records a problem at a node.
func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	e := &Error{File: d.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// errorAt records a problem with a field, placed at the field's value or, when the field is
// absent, at the closest enclosing node that is present.
func (d *decoder) errorAt(field, format string, args ...any) {
	d.errorf(d.node(field), field, format, args...)
}

// warnAt records a warning about a field, placed like errorAt's problems.
func (d *decoder) warnAt(field, format string, args ...any) {
	e := &Error{File: d.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n := d.node(field); n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.warnings = append(d.warnings, e)
}

// node finds the value node of a field path, or of its closest present ancestor.
func (d *decoder) node(field string) *yaml.Node {
	for {
		if n, ok := d.nodes[field]; ok {
			return n
		}
		if field == "" {
			return nil
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			field = ""
		} else {
			field = field[:i]
		}
	}
}

// parse runs every stage; a stage runs only if the ones before it found nothing, because later
// stages rely on what earlier ones guarantee (a bounded tree, the right shapes).
func (d *decoder) parse(data []byte) *Policy {
	if len(data) > MaxFileSize {
		d.errorf(nil, "", "policy is larger than %d bytes", MaxFileSize)
		return nil
	}
	if separators(data) > maxSeparators {
		d.errorf(nil, "", "policy has too many YAML elements (more than %d separators)", maxSeparators)
		return nil
	}
	root := d.document(data)
	if root == nil {
		return nil
	}
	if n := countNodes(root, MaxNodes); n > MaxNodes {
		d.errorf(nil, "", "policy has more than %d YAML nodes once aliases are expanded", MaxNodes)
		return nil
	}
	d.nodes = map[string]*yaml.Node{}
	d.walk(root, reflect.TypeOf(filePolicy{}), "")
	if len(d.errs) > 0 {
		d.validatePartial(data)
		return nil
	}
	// The structural walk has checked every key and type, so the strict decoder should find
	// nothing more. It still runs, with KnownFields, as a second and independent check: if the
	// two ever disagree, the file is refused rather than half understood.
	var fp filePolicy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fp); err != nil {
		d.yamlError(err)
		return nil
	}
	return d.validate(&fp)
}

// validatePartial runs the value checks on a file that has structural problems too, so that one
// run reports all of them. yaml.v3 fills what it can around type errors; a value problem is kept
// only when it concerns no field that has a structural problem, because such a field decodes as
// absent and would raise false alarms (a region whose image_ids is a string "selects nothing").
func (d *decoder) validatePartial(data []byte) {
	structural := d.errs
	for _, e := range structural {
		d.broken = append(d.broken, e.Field)
	}
	var fp filePolicy
	_ = yaml.NewDecoder(bytes.NewReader(data)).Decode(&fp) // its errors are the walk's, already reported
	d.errs = nil
	d.validate(&fp)
	values := d.errs
	d.errs = structural
	for _, v := range values {
		related := false
		for _, b := range d.broken {
			if nested(b, v.Field) || nested(v.Field, b) {
				related = true
				break
			}
		}
		if !related {
			d.errs = append(d.errs, v)
		}
	}
}

// nested reports whether field b is field a or lies inside it.
func nested(a, b string) bool {
	return a == "" || a == b || strings.HasPrefix(b, a+".") || strings.HasPrefix(b, a+"[")
}

// document parses the bytes into a tree and returns the content of its one document.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(nil, "", "policy is empty")
		} else {
			d.yamlError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.yamlError(err)
		return nil
	default:
		// A second document is most often a stray "---" from a pasted file; taking the first
		// and ignoring the rest would silently drop rules someone meant.
		d.errorf(&next, "", "policy must be one YAML document, found a second")
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		d.errorf(nil, "", "policy is empty")
		return nil
	}
	return doc.Content[0]
}

// separators counts the bytes that can start or delimit a YAML node: flow indicators, block
// indicators and line breaks. Almost every node needs at least one of its own, so the count is a
// cheap upper estimate of the tree's size that needs no parsing; a real policy has far fewer.
func separators(data []byte) int {
	n := 0
	for _, c := range data {
		switch c {
		case ',', '[', ']', '{', '}', ':', '-', '?', '\n':
			n++
		}
	}
	return n
}

// yamlLine matches the position yaml.v3 puts in its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError records an error from yaml.v3, moving its "line N" into the FILE:LINE form. yaml.v3
// does not give the column of syntax errors, so those carry the line only.
func (d *decoder) yamlError(err error) {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for _, msg := range msgs {
		e := &Error{File: d.file, Msg: strings.TrimPrefix(msg, "yaml: ")}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = m[2]
		}
		d.errs = append(d.errs, e)
	}
}

// countNodes counts the nodes of a tree as a decoder would see them, each alias standing for a
// full copy of what it names, and stops as soon as the count passes limit. Sizes are memoized per
// node, so the count is linear in the file even when the expansion is exponential; an alias that
// contains itself counts as over the limit.
func countNodes(root *yaml.Node, limit int) int {
	const inProgress = -1
	sizes := map[*yaml.Node]int{}
	var count func(n *yaml.Node) int
	count = func(n *yaml.Node) int {
		if n == nil {
			return 0
		}
		if s, ok := sizes[n]; ok {
			if s == inProgress {
				return limit + 1
			}
			return s
		}
		sizes[n] = inProgress
		total := 1
		if n.Kind == yaml.AliasNode {
			total += count(n.Alias)
		}
		for _, c := range n.Content {
			total += count(c)
			if total > limit {
				break
			}
		}
		if total > limit {
			total = limit + 1
		}
		sizes[n] = total
		return total
	}
	return count(root)
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// describe names what a node holds, for "want X, found Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("string %q", v)
		case "!!int":
			return "integer " + v
		case "!!float":
			return "number " + v
		case "!!bool":
			return "boolean " + v
		case "!!null":
			return "nothing"
		case "!!timestamp":
			return "timestamp " + v
		}
		return fmt.Sprintf("%s %q", n.ShortTag(), v)
	}
	return "an unexpected node"
}

var boolLiterals = map[string]bool{"true": true, "True": true, "TRUE": true, "false": false, "False": false, "FALSE": false}

// walk checks that a node has the shape of a Go type from the schema and records the value node
// of every field path. It reports every unknown or duplicate key, every wrong type and every
// empty value, and descends only into nodes of the right shape.
func (d *decoder) walk(n *yaml.Node, t reflect.Type, field string) {
	n = resolve(n)
	if n == nil {
		return
	}
	d.nodes[field] = n
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		// A key with nothing after it is usually a mis-indented block, whose keys would then
		// load as something else or not at all.
		d.errorf(n, field, "has no value")
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, field, "want a mapping, found %s", describe(n))
			return
		}
		known := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			name := yamlName(t.Field(i))
			known[name] = t.Field(i).Type
			names = append(names, name)
		}
		d.mapping(n, field, func(key string, k, v *yaml.Node) {
			ft, ok := known[key]
			if !ok {
				d.errorf(k, join(field, key), "unknown field (want one of %s)", strings.Join(names, ", "))
				return
			}
			d.walk(v, ft, join(field, key))
		})
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, field, "want a mapping, found %s", describe(n))
			return
		}
		d.mapping(n, field, func(key string, k, v *yaml.Node) {
			// The only maps in the schema are tags, and ECS has no tag with an empty key.
			if key == "" {
				d.errorf(k, field, "tag key is empty")
			}
			d.walk(v, t.Elem(), join(field, key))
		})
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, field, "want a list, found %s", describe(n))
			return
		}
		for i, c := range n.Content {
			d.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", field, i))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			hint := ""
			if n.Kind == yaml.ScalarNode {
				hint = fmt.Sprintf(" (quote it: %q)", n.Value)
			}
			d.errorf(n, field, "want a string, found %s%s", describe(n), hint)
		}
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.errorf(n, field, "want an integer, found %s", describe(n))
			return
		}
		var v int
		if err := n.Decode(&v); err != nil {
			d.errorf(n, field, "integer %s is out of range", n.Value)
		}
	case reflect.Bool:
		// Only a literal YAML boolean: yaml.v3 would also take yes, on, y and their opposites into
		// a bool, and force deletion must never be switched on by anything but "true".
		if _, ok := boolLiterals[n.Value]; n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || !ok {
			d.errorf(n, field, "want true or false, found %s", describe(n))
		}
	default:
		panic("policy: schema type not handled: " + t.String())
	}
}

// mapping checks the keys of a mapping node, rejecting non-string, merge and duplicate keys, and
// calls f for each remaining pair.
func (d *decoder) mapping(n *yaml.Node, field string, f func(key string, k, v *yaml.Node)) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode || (k.ShortTag() != "!!str" && k.ShortTag() != "!!merge") {
			at := k
			if at == nil {
				at = n
			}
			d.errorf(at, field, "keys must be strings, found %s", describe(at))
			continue
		}
		if k.ShortTag() == "!!merge" {
			// Merge keys hide where a value comes from; a deletion policy should be read as written.
			d.errorf(k, field, "merge keys (<<) are not supported")
			continue
		}
		if first, ok := seen[k.Value]; ok {
			// yaml.v3 decodes nothing of a mapping with a duplicate key.
			d.broken = append(d.broken, field)
			d.errorf(k, join(field, k.Value), "duplicate key, first at %d:%d", first.Line, first.Column)
			continue
		}
		seen[k.Value] = k
		f(k.Value, k, v)
	}
}

// join appends a key to a field path.
func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

// yamlName is the key a struct field has in the file.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}
