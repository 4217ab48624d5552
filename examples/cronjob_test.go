package examples

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// k8sObject is the part of a Kubernetes object the CronJob test reads.
type k8sObject struct {
	Kind     string
	Metadata struct {
		Name        string
		Annotations map[string]string
	}
	Spec struct {
		ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
		JobTemplate       struct {
			Spec struct {
				Template struct {
					Spec podSpec
				}
			}
		} `yaml:"jobTemplate"`
	}
}

type podSpec struct {
	ServiceAccountName            string `yaml:"serviceAccountName"`
	TerminationGracePeriodSeconds int    `yaml:"terminationGracePeriodSeconds"`
	Containers                    []struct {
		Args    []string
		Env     []struct{ Name, Value string }
		EnvFrom []any `yaml:"envFrom"`
		Mounts  []struct {
			Name      string
			MountPath string `yaml:"mountPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	}
	Volumes []struct {
		Name string
		PVC  *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
		Projected *struct {
			Sources []struct {
				Token *struct{ Path, Audience string } `yaml:"serviceAccountToken"`
			}
		}
	}
}

// TestCronJob holds examples/kubernetes/cronjob.yaml to what an unattended run needs: no overlap,
// RRSA credentials and no access keys, JSON logs alone on the console, the report and its journal
// on a persistent volume, and a grace period the SIGTERM path fits in.
func TestCronJob(t *testing.T) {
	data, err := os.ReadFile("kubernetes/cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string]k8sObject{} // by kind/name
	var cron *k8sObject
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var o k8sObject
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		objects[o.Kind+"/"+o.Metadata.Name] = o
		if o.Kind == "CronJob" {
			cron = &o
		}
	}
	if cron == nil {
		t.Fatal("no CronJob")
	}
	if cron.Spec.ConcurrencyPolicy != "Forbid" {
		t.Errorf("concurrencyPolicy %q, want Forbid", cron.Spec.ConcurrencyPolicy)
	}
	pod := cron.Spec.JobTemplate.Spec.Template.Spec

	sa, ok := objects["ServiceAccount/"+pod.ServiceAccountName]
	if !ok {
		t.Errorf("serviceAccountName %q names no ServiceAccount of the file", pod.ServiceAccountName)
	} else if sa.Metadata.Annotations["pod-identity.alibabacloud.com/role-name"] == "" {
		t.Errorf("ServiceAccount %s has no RRSA role annotation", sa.Metadata.Name)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]

	// RRSA: the three variables, the token file on a projected ServiceAccount token for STS.
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if strings.Contains(e.Name, "ACCESS_KEY") {
			t.Errorf("env %s: use RRSA, not access keys", e.Name)
		}
	}
	if len(c.EnvFrom) > 0 {
		t.Error("envFrom: the credentials come from RRSA, not a Secret")
	}
	for _, k := range []string{"ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE"} {
		if env[k] == "" {
			t.Errorf("env %s is not set", k)
		}
	}
	mountOf := func(file string) (volume string, readOnly bool) {
		for _, m := range c.Mounts {
			if path.Dir(file) == path.Clean(m.MountPath) {
				return m.Name, m.ReadOnly
			}
		}
		return "", false
	}
	volumes := map[string]int{}
	for i, v := range pod.Volumes {
		volumes[v.Name] = i
	}
	if name, _ := mountOf(env["ALIBABA_CLOUD_OIDC_TOKEN_FILE"]); name == "" {
		t.Errorf("the OIDC token file %s is on no volume", env["ALIBABA_CLOUD_OIDC_TOKEN_FILE"])
	} else if v := pod.Volumes[volumes[name]]; v.Projected == nil || len(v.Projected.Sources) != 1 || v.Projected.Sources[0].Token == nil ||
		v.Projected.Sources[0].Token.Audience != "sts.aliyuncs.com" || v.Projected.Sources[0].Token.Path != path.Base(env["ALIBABA_CLOUD_OIDC_TOKEN_FILE"]) {
		t.Errorf("volume %s is not a ServiceAccount token for sts.aliyuncs.com at %s", name, env["ALIBABA_CLOUD_OIDC_TOKEN_FILE"])
	}

	// The flags, as --name=value or --name value.
	flags := map[string]string{}
	for i := 0; i < len(c.Args); i++ {
		a := c.Args[i]
		if !strings.HasPrefix(a, "--") {
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok && name != "yes" && i+1 < len(c.Args) {
			value = c.Args[i+1]
			i++
		}
		flags[name] = value
	}
	if _, yes := flags["yes"]; len(c.Args) == 0 || c.Args[0] != "apply" || !yes {
		t.Errorf("args %q: want apply --yes (without a terminal, apply needs --yes)", c.Args)
	}
	if flags["log-format"] != "json" {
		t.Errorf("--log-format %q, want json", flags["log-format"])
	}
	// Only JSON logs on stdout and stderr: the report and the summary go to files.
	for _, f := range []string{"report", "summary"} {
		p := flags[f]
		if p == "" || p == "-" {
			t.Errorf("--%s %q: want a file on the reports volume", f, p)
			continue
		}
		name, readOnly := mountOf(p)
		if name == "" || readOnly {
			t.Errorf("--%s %s is on no writable volume", f, p)
			continue
		}
		v := pod.Volumes[volumes[name]]
		if v.PVC == nil {
			t.Errorf("--%s %s: volume %s is not a PersistentVolumeClaim", f, p, name)
		} else if _, ok := objects["PersistentVolumeClaim/"+v.PVC.ClaimName]; !ok {
			t.Errorf("claim %s is not in the file", v.PVC.ClaimName)
		}
	}
	// The journal is the report's name plus .journal, beside it, unless --journal moves it.
	if j, ok := flags["journal"]; ok && path.Dir(j) != path.Dir(flags["report"]) {
		t.Errorf("--journal %s is not beside the report", j)
	}

	timeout := 30 * time.Second // the job's default
	if s, ok := flags["request-timeout"]; ok {
		if timeout, err = time.ParseDuration(s); err != nil {
			t.Fatalf("--request-timeout %q: %v", s, err)
		}
	}
	if grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second; grace <= timeout {
		t.Errorf("terminationGracePeriodSeconds %v is not longer than --request-timeout %v", grace, timeout)
	}
}
