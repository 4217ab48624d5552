package runner_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a runner that leaves a
// dispatcher, a worker or a retry timer behind would leak one per run in a long-lived process.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
