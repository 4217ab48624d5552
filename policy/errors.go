package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a policy file, placed at the YAML node that causes it so that editors
// and people can jump straight to it.
type Error struct {
	File   string
	Line   int    // 1-based; 0 when the problem has no place in the file (too large, empty)
	Column int    // 1-based; 0 when only the line is known (YAML syntax errors)
	Field  string // the path of the field, e.g. regions[1].select.older_than; may be empty
	Msg    string
}

// Error formats the problem as FILE:LINE:COL: field PATH: MESSAGE, dropping the parts that are
// unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString("field ")
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one policy file, sorted by position. Load and Parse report all
// of them at once, so that a user fixes a file in one pass rather than one error per run.
type Errors struct {
	List []*Error
}

// Error joins the problems, one a line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, err := range e.List {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each *Error to errors.As and errors.Is.
func (e *Errors) Unwrap() []error {
	errs := make([]error, len(e.List))
	for i, err := range e.List {
		errs[i] = err
	}
	return errs
}

// sortErrors orders problems by position; problems without a position come first because they
// concern the whole file. The sort is stable so that problems at one node keep the order in which
// the checks found them.
func sortErrors(list []*Error) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}
