package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary stand in for the real command: testscript puts it on PATH as
// ecs-image-cleanup, and running it under that name runs main's run.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ecs-image-cleanup": func() {
			os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs every testdata/*.txtar script against the real command, end to end. Scripts
// start in a fresh $WORK with HOME pointing into it, so nothing reads the developer's own
// configuration or credentials, and with $EXAMPLES naming the repository's examples directory.
func TestScripts(t *testing.T) {
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Cmds:                scriptCmds,
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", env.WorkDir+"/home")
			// Scripts find the repository's example files through $EXAMPLES.
			env.Setenv("EXAMPLES", examples)
			// Credentials in the developer's environment must never reach a script.
			for _, k := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
				"ALIBABA_CLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_PROFILE", "ALIBABA_CLOUD_CREDENTIALS_FILE",
				"ALIBABA_CLOUD_ROLE_ARN", "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY"} {
				env.Setenv(k, "")
			}
			// No script may reach for the ECS metadata service (100.100.100.200) for a RAM role.
			env.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
			return os.MkdirAll(env.WorkDir+"/home", 0o700)
		},
	})
}
