// Package examples holds the example policies and deployment files, which the tests load and
// validate, and embeds the two that the demo runs, so that `ecs-image-cleanup demo` works from
// any directory, and from a binary far from the repository.
package examples

import _ "embed" // for go:embed

// DemoPolicy is demo.yaml, the policy the demo runs.
//
//go:embed demo.yaml
var DemoPolicy []byte

// EmulatorState is emulator-state.yaml, the demo account the emulator starts from.
//
//go:embed emulator-state.yaml
var EmulatorState []byte

// The names the embedded files have in the repository, for messages and reports.
const (
	DemoPolicyName    = "examples/demo.yaml"
	EmulatorStateName = "examples/emulator-state.yaml"
)
