package examples

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestEmbedded: the embedded files are the ones on disk, under the names the package gives.
func TestEmbedded(t *testing.T) {
	for name, data := range map[string][]byte{DemoPolicyName: DemoPolicy, EmulatorStateName: EmulatorState} {
		disk, err := os.ReadFile(strings.TrimPrefix(name, "examples/"))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) == 0 || !bytes.Equal(data, disk) {
			t.Errorf("the embedded %s is not the file on disk", name)
		}
	}
}
