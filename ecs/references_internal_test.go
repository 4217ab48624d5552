package ecs

import "testing"

// TestESSEndpointOf: without an override, the central endpoint for the regions the ESS SDK maps
// to it, the regional one for the others; with Endpoint alone, ESS goes there too.
func TestESSEndpointOf(t *testing.T) {
	c, err := New(Config{Credential: StaticCredential("id", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	for region, want := range map[string]string{
		"cn-hangzhou":   "ess.aliyuncs.com",
		"us-east-1":     "ess.aliyuncs.com",
		"eu-central-1":  "ess.eu-central-1.aliyuncs.com",
		"cn-wulanchabu": "ess.cn-wulanchabu.aliyuncs.com",
	} {
		if host, proto := c.essEndpointOf(region); host != want || proto != "https" {
			t.Errorf("%s: %s://%s, want https://%s", region, proto, host, want)
		}
	}
	c, err = New(Config{Endpoint: "http://127.0.0.1:18080", Credential: StaticCredential("id", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	if host, proto := c.essEndpointOf("eu-central-1"); host != "127.0.0.1:18080" || proto != "http" {
		t.Errorf("with Endpoint: %s://%s", proto, host)
	}
}
