package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/credentials-go/credentials/providers"
	"go.uber.org/zap"
	"gopkg.in/ini.v1"
)

// The credential chain is credentials-go's default chain, in its order (providers.
// NewDefaultCredentialsProvider): environment variables, OIDC, the CLI profile in
// ~/.aliyun/config.json, the profile in ~/.alibabacloud/credentials, the ECS RAM role, the
// credentials URI. Its own errors quote a config file's content and a URI's query, so they
// never leave this file: each source is checked here first, and every error, at start or
// when a credential is refreshed during the run, is in our words: which source, which file,
// field or variable, and why; never a value read from a file, a variable or an answer.

// credentialSource is one source of the chain that is configured and passed its checks.
type credentialSource struct {
	kind     string      // what the log says: "env", "oidc", "profile NAME", "ram role", "credentials uri"
	fields   []zap.Field // where it came from: file, mode, uri; never a secret
	provider providers.CredentialsProvider
	explain  func(error) string // says why provider failed, in our words
}

// credentialProbe looks at one source: nil, nil when it is not configured at all; an error
// when it is configured but cannot be used.
type credentialProbe func() (*credentialSource, error)

// noCredentialError says why no source of the chain gave a credential.
type noCredentialError struct{ problems []string }

func (e *noCredentialError) Error() string {
	const hint = "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, a profile, a RAM role, OIDC or ALIBABA_CLOUD_CREDENTIALS_URI"
	if len(e.problems) == 0 {
		return hint
	}
	return strings.Join(e.problems, "; ") + " (fix or remove it: the sources after it in the chain are not tried, so that a broken configuration never runs as another identity)"
}

// loadCredential runs the standard credential chain and returns the first credential it
// yields, after fetching it once. It logs which kind of credential is used; its errors and
// the credential's own refresh errors never carry a secret, a file's content or a URI's query.
func loadCredential(log *zap.Logger) (credentials.Credential, error) {
	var problems []string
	for _, probe := range []credentialProbe{envCredential, oidcCredential, cliProfileCredential,
		iniProfileCredential, ramRoleCredential, uriCredential} {
		src, err := probe()
		if err != nil {
			// A source that is configured but broken stops the chain: falling through to the
			// next one could run the deletion as another identity, in another account.
			problems = append(problems, err.Error())
			break
		}
		if src == nil {
			continue
		}
		p := &ownWordsProvider{inner: src.provider, kind: src.kind, explain: src.explain}
		cc, err := p.GetCredentials()
		if err != nil {
			problems = append(problems, err.Error())
			break
		}
		fields := append([]zap.Field{zap.String("credential", src.kind)}, src.fields...)
		if id := maskKeyID(cc.AccessKeyId); id != "" {
			fields = append(fields, zap.String("access_key_id", id))
		}
		log.Info("using credentials", fields...)
		return credentials.FromCredentialsProvider(src.kind, p), nil
	}
	return nil, &noCredentialError{problems: problems}
}

// maskKeyID keeps the first four characters of an AccessKey ID, which say its kind (LTAI,
// STS.), and masks the rest; short IDs are not shown at all.
func maskKeyID(id string) string {
	if len(id) < 12 {
		return ""
	}
	return id[:4] + "****"
}

// ownWordsProvider replaces every error of the provider it wraps with its own explanation,
// so a refresh failing during the run says why without quoting the library.
type ownWordsProvider struct {
	inner   providers.CredentialsProvider
	kind    string
	explain func(error) string
}

func (p *ownWordsProvider) GetCredentials() (*providers.Credentials, error) {
	cc, err := p.inner.GetCredentials()
	if err != nil {
		return nil, fmt.Errorf("%s: %s", p.kind, p.explain(err))
	}
	return cc, nil
}

func (p *ownWordsProvider) GetProviderName() string { return p.inner.GetProviderName() }

// envCredential: ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and, for STS,
// ALIBABA_CLOUD_SECURITY_TOKEN.
func envCredential() (*credentialSource, error) {
	const (
		idVar     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
		secretVar = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
		tokenVar  = "ALIBABA_CLOUD_SECURITY_TOKEN"
	)
	id, secret, token := os.Getenv(idVar), os.Getenv(secretVar), os.Getenv(tokenVar)
	switch {
	case id == "" && secret == "" && token == "":
		return nil, nil
	case id == "":
		return nil, fmt.Errorf("env: %s is not set but %s", idVar, setNames(map[string]string{secretVar: secret, tokenVar: token}))
	case secret == "":
		return nil, fmt.Errorf("env: %s is set but %s is not", idVar, secretVar)
	}
	p, err := providers.NewEnvironmentVariableCredentialsProviderBuilder().Build()
	if err != nil {
		return nil, errors.New("env: the environment variables cannot be used")
	}
	return &credentialSource{kind: "env", provider: p, explain: func(error) string { return "the environment variables cannot be used" }}, nil
}

// setNames lists the names of the variables that are set, "X is" or "X and Y are".
func setNames(vars map[string]string) string {
	var names []string
	for name, v := range vars {
		if v != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) == 1 {
		return names[0] + " is"
	}
	return strings.Join(names, " and ") + " are"
}

var (
	roleARN         = regexp.MustCompile(`^acs:ram::[0-9]+:role/[A-Za-z0-9._@-]+$`)
	oidcProviderARN = regexp.MustCompile(`^acs:ram::[0-9]+:oidc-provider/[A-Za-z0-9._@-]+$`)
)

// oidcCredential: ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and
// ALIBABA_CLOUD_OIDC_TOKEN_FILE (or ALIBABA_CLOUD_OIDC_TOKEN), as RRSA on ACK sets them.
func oidcCredential() (*credentialSource, error) {
	const (
		roleVar     = "ALIBABA_CLOUD_ROLE_ARN"
		providerVar = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"
		fileVar     = "ALIBABA_CLOUD_OIDC_TOKEN_FILE"
		tokenVar    = "ALIBABA_CLOUD_OIDC_TOKEN"
	)
	role, prov, file, token := os.Getenv(roleVar), os.Getenv(providerVar), os.Getenv(fileVar), os.Getenv(tokenVar)
	if role == "" && prov == "" && file == "" && token == "" {
		return nil, nil
	}
	var missing []string
	if role == "" {
		missing = append(missing, roleVar)
	}
	if prov == "" {
		missing = append(missing, providerVar)
	}
	if file == "" && token == "" {
		missing = append(missing, fileVar)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("oidc: %s not set (OIDC needs %s, %s and %s)", strings.Join(missing, " and "), roleVar, providerVar, fileVar)
	}
	if !roleARN.MatchString(role) {
		return nil, fmt.Errorf("oidc: %s is not a RAM role ARN (acs:ram::ACCOUNT_ID:role/NAME)", roleVar)
	}
	if !oidcProviderARN.MatchString(prov) {
		return nil, fmt.Errorf("oidc: %s is not an OIDC provider ARN (acs:ram::ACCOUNT_ID:oidc-provider/NAME)", providerVar)
	}
	if token == "" {
		if err := checkTokenFile(file); err != nil {
			return nil, fmt.Errorf("oidc: %s %s: %v", fileVar, file, err)
		}
	}
	p, err := providers.NewOIDCCredentialsProviderBuilder().Build()
	if err != nil {
		return nil, errors.New("oidc: the OIDC settings cannot be used")
	}
	sts := stsEndpoint()
	return &credentialSource{kind: "oidc", fields: []zap.Field{zap.String("role_arn", role)}, provider: p,
		explain: func(err error) string { return "AssumeRoleWithOIDC at " + sts + " " + describeRemote(err) }}, nil
}

// checkTokenFile says why an OIDC token file cannot be used, without its content.
func checkTokenFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fileProblem(err)
	}
	if strings.TrimSpace(string(data)) == "" {
		return errors.New("the file is empty")
	}
	return nil
}

// fileProblem says why a file could not be read; the os error's own text names the path,
// which the caller has already.
func fileProblem(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("no such file")
	case errors.Is(err, fs.ErrPermission):
		return errors.New("permission denied")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		var errno syscall.Errno
		if errors.As(pe.Err, &errno) {
			return errno
		}
	}
	return errors.New("cannot be read")
}

// stsEndpoint is the STS host the OIDC provider calls, as the library chooses it.
func stsEndpoint() string {
	prefix := "sts"
	if strings.EqualFold(os.Getenv("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED"), "true") {
		prefix = "sts-vpc"
	}
	if region := os.Getenv("ALIBABA_CLOUD_STS_REGION"); region != "" {
		return prefix + "." + region + ".aliyuncs.com"
	}
	return "sts.aliyuncs.com"
}

// errorCode finds an API error code ("Code":"AuthenticationFail.OIDCToken.Invalid") in an
// answer the library quotes: the code is an identifier, never a secret.
var (
	errorCode  = regexp.MustCompile(`"Code"\s*:\s*"([A-Za-z][A-Za-z0-9._-]{0,99})"`)
	httpStatus = regexp.MustCompile(`httpStatus: ([0-9]{3})`)
)

// describeRemote explains why a call the library made for a credential failed: the service
// could not be reached, refused with an error code, or answered without a credential. It
// only reads the library's error, never repeats it.
func describeRemote(err error) string {
	msg := err.Error()
	var ue *url.Error
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout(), strings.Contains(msg, "Client.Timeout"), strings.Contains(msg, "i/o timeout"):
		return "did not answer in time"
	case errors.As(err, &ue), strings.Contains(msg, "dial tcp"), strings.Contains(msg, "no such host"),
		strings.Contains(msg, "connection refused"), strings.Contains(msg, "connection reset"):
		return "could not be reached"
	}
	if m := errorCode.FindStringSubmatch(msg); m != nil {
		return "was refused: " + m[1]
	}
	if m := httpStatus.FindStringSubmatch(msg); m != nil {
		return "was answered with HTTP " + m[1]
	}
	return "gave no usable credential"
}

// cliProfile is a profile of the Alibaba Cloud CLI's config.json, with the library's field
// names and types, so that it fails to decode exactly when the library's does.
type cliProfile struct {
	Name                   string `json:"name"`
	Mode                   string `json:"mode"`
	AccessKeyID            string `json:"access_key_id"`
	AccessKeySecret        string `json:"access_key_secret"`
	SecurityToken          string `json:"sts_token"`
	RegionID               string `json:"region_id"`
	RoleArn                string `json:"ram_role_arn"`
	RoleSessionName        string `json:"ram_session_name"`
	DurationSeconds        int    `json:"expired_seconds"`
	StsRegion              string `json:"sts_region"`
	EnableVpc              bool   `json:"enable_vpc"`
	SourceProfile          string `json:"source_profile"`
	RoleName               string `json:"ram_role_name"`
	OIDCTokenFile          string `json:"oidc_token_file"`
	OIDCToken              string `json:"oidc_token"`
	OIDCProviderARN        string `json:"oidc_provider_arn"`
	Policy                 string `json:"policy"`
	ExternalId             string `json:"external_id"`
	SignInUrl              string `json:"cloud_sso_sign_in_url"`
	AccountId              string `json:"cloud_sso_account_id"`
	AccessConfig           string `json:"cloud_sso_access_config"`
	AccessToken            string `json:"access_token"`
	AccessTokenExpire      int64  `json:"cloud_sso_access_token_expire"`
	OauthSiteType          string `json:"oauth_site_type"`
	OauthRefreshToken      string `json:"oauth_refresh_token"`
	OauthAccessToken       string `json:"oauth_access_token"`
	OauthAccessTokenExpire int64  `json:"oauth_access_token_expire"`
	StsExpire              int64  `json:"sts_expiration"`
	ProcessCommand         string `json:"process_command"`
}

type cliConfig struct {
	Current  string        `json:"current"`
	Profiles []*cliProfile `json:"profiles"`
}

// cliModes are the profile modes the library knows, each with the fields it cannot do without.
var cliModes = map[string][]string{
	"AK":                  {"access_key_id", "access_key_secret"},
	"StsToken":            {"access_key_id", "access_key_secret", "sts_token"},
	"RamRoleArn":          {"access_key_id", "access_key_secret", "ram_role_arn"},
	"EcsRamRole":          nil,
	"OIDC":                {"oidc_provider_arn", "ram_role_arn"},
	"ChainableRamRoleArn": {"source_profile", "ram_role_arn"},
	"CloudSSO":            {"cloud_sso_sign_in_url", "cloud_sso_account_id", "cloud_sso_access_config", "access_token"},
	"OAuth":               {"oauth_site_type"},
	"External":            {"process_command"},
}

func (p *cliProfile) field(name string) string {
	return map[string]string{
		"access_key_id": p.AccessKeyID, "access_key_secret": p.AccessKeySecret, "sts_token": p.SecurityToken,
		"ram_role_arn": p.RoleArn, "oidc_provider_arn": p.OIDCProviderARN, "source_profile": p.SourceProfile,
		"cloud_sso_sign_in_url": p.SignInUrl, "cloud_sso_account_id": p.AccountId,
		"cloud_sso_access_config": p.AccessConfig, "access_token": p.AccessToken,
		"oauth_site_type": p.OauthSiteType, "process_command": p.ProcessCommand,
	}[name]
}

// cliProfileCredential: the profile named by ALIBABA_CLOUD_PROFILE, else the current one, in
// ALIBABA_CLOUD_CONFIG_FILE or ~/.aliyun/config.json.
func cliProfileCredential() (*credentialSource, error) {
	if strings.EqualFold(os.Getenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED"), "true") {
		return nil, nil
	}
	path, explicit := os.Getenv("ALIBABA_CLOUD_CONFIG_FILE"), true
	if path == "" {
		home := os.Getenv("HOME")
		if home == "" {
			return nil, nil
		}
		path, explicit = filepath.Join(home, ".aliyun", "config.json"), false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("profile: %s: %v", path, fileProblem(err))
	}
	var conf cliConfig
	if err := json.Unmarshal(data, &conf); err != nil {
		return nil, fmt.Errorf("profile: %s: %s", path, jsonProblem(data, err))
	}
	if len(conf.Profiles) == 0 {
		return nil, fmt.Errorf("profile: %s has no profiles", path)
	}
	name := os.Getenv("ALIBABA_CLOUD_PROFILE")
	switch {
	case name != "":
		if conf.profile(name) == nil {
			return nil, fmt.Errorf("profile: %s has no profile %q, which ALIBABA_CLOUD_PROFILE names (it has %s)", path, name, conf.names())
		}
	case conf.Current == "":
		return nil, fmt.Errorf("profile: %s: field current is empty and ALIBABA_CLOUD_PROFILE is not set (profiles: %s)", path, conf.names())
	case conf.profile(conf.Current) == nil:
		return nil, fmt.Errorf("profile: %s has no profile %q, which its field current names (it has %s)", path, conf.Current, conf.names())
	default:
		name = conf.Current
	}
	kind := "profile " + name
	if err := conf.check(name, nil); err != nil {
		return nil, fmt.Errorf("%s in %s: %v", kind, path, err)
	}
	p, err := providers.NewCLIProfileCredentialsProviderBuilder().WithProfileFile(path).WithProfileName(name).Build()
	if err != nil {
		return nil, fmt.Errorf("%s in %s: the profile cannot be used", kind, path)
	}
	mode := conf.profile(name).Mode
	return &credentialSource{kind: kind, fields: []zap.Field{zap.String("file", path), zap.String("mode", mode)}, provider: p,
		explain: func(err error) string {
			return fmt.Sprintf("%s (mode %s): getting the credential %s", path, mode, describeRemote(err))
		}}, nil
}

func (c *cliConfig) profile(name string) *cliProfile {
	for _, p := range c.Profiles {
		if p != nil && p.Name == name {
			return p
		}
	}
	return nil
}

func (c *cliConfig) names() string {
	var names []string
	for _, p := range c.Profiles {
		if p != nil {
			names = append(names, fmt.Sprintf("%q", p.Name))
		}
	}
	return strings.Join(names, ", ")
}

// check says what keeps a profile from giving a credential: an unknown mode, a missing field,
// an unreadable OIDC token file, a source profile that is missing or loops.
func (c *cliConfig) check(name string, seen []string) error {
	p := c.profile(name)
	if p == nil {
		return fmt.Errorf("no profile %q", name)
	}
	if slices.Contains(seen, name) {
		return fmt.Errorf("source_profile loops back to profile %q", name)
	}
	required, ok := cliModes[p.Mode]
	if !ok {
		modes := make([]string, 0, len(cliModes))
		for m := range cliModes {
			modes = append(modes, m)
		}
		slices.Sort(modes)
		if p.Mode == "" {
			return fmt.Errorf("field mode missing (use %s)", strings.Join(modes, ", "))
		}
		return fmt.Errorf("field mode: unknown mode %s (use %s)", safeWord(p.Mode), strings.Join(modes, ", "))
	}
	var missing []string
	for _, f := range required {
		if p.field(f) == "" {
			missing = append(missing, f)
		}
	}
	if p.Mode == "OIDC" && p.OIDCToken == "" && p.OIDCTokenFile == "" {
		missing = append(missing, "oidc_token_file")
	}
	if len(missing) > 0 {
		noun := "field"
		if len(missing) > 1 {
			noun = "fields"
		}
		return fmt.Errorf("mode %s: %s %s missing", p.Mode, noun, strings.Join(missing, ", "))
	}
	switch p.Mode {
	case "OIDC":
		if p.OIDCToken == "" {
			if err := checkTokenFile(p.OIDCTokenFile); err != nil {
				return fmt.Errorf("mode OIDC: field oidc_token_file %s: %v", p.OIDCTokenFile, err)
			}
		}
	case "OAuth":
		if s := strings.ToUpper(p.OauthSiteType); s != "CN" && s != "INTL" {
			return errors.New("mode OAuth: field oauth_site_type is not CN or INTL")
		}
	case "ChainableRamRoleArn":
		if err := c.check(p.SourceProfile, append(seen, name)); err != nil {
			return fmt.Errorf("source_profile %q: %v", p.SourceProfile, err)
		}
	}
	return nil
}

var word = regexp.MustCompile(`^[A-Za-z_]{1,32}$`)

// safeWord quotes a value read from a file only when it looks like a word (a mode name), so
// that a secret pasted into the wrong field is not repeated.
func safeWord(s string) string {
	if word.MatchString(s) {
		return fmt.Sprintf("%q", s)
	}
	return "(not a mode name)"
}

// jsonProblem says where a JSON document is broken, without any of its content.
func jsonProblem(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset counts the offending byte.
		line, col := position(data, se.Offset-1)
		return fmt.Sprintf("not valid JSON at line %d, column %d", line, col)
	case errors.As(err, &te):
		line, _ := position(data, te.Offset)
		if te.Field != "" {
			return fmt.Sprintf("field %s at line %d is a JSON %s, want %s", te.Field, line, te.Value, te.Type)
		}
		return fmt.Sprintf("a JSON %s at line %d, want %s", te.Value, line, te.Type)
	}
	return "not valid JSON"
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = 1 + strings.Count(string(before), "\n")
	col = int(offset) - strings.LastIndexByte(string(before), '\n')
	return line, col
}

// iniProfileCredential: the profile named by ALIBABA_CLOUD_PROFILE, else "default", in
// ALIBABA_CLOUD_CREDENTIALS_FILE or ~/.alibabacloud/credentials.
func iniProfileCredential() (*credentialSource, error) {
	path, explicit := os.Getenv("ALIBABA_CLOUD_CREDENTIALS_FILE"), true
	if path == "" {
		home := os.Getenv("HOME")
		if home == "" {
			return nil, nil
		}
		path, explicit = filepath.Join(home, ".alibabacloud", "credentials"), false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("profile: %s: %v", path, fileProblem(err))
	}
	f, err := ini.Load(data)
	if err != nil {
		return nil, fmt.Errorf("profile: %s: %s", path, iniProblem(data, err))
	}
	name := os.Getenv("ALIBABA_CLOUD_PROFILE")
	if name == "" {
		name = "default"
	}
	kind := "profile " + name
	sec, err := f.GetSection(name)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: no section [%s]", kind, path, name)
	}
	typ := sec.Key("type").String()
	required, ok := map[string][]string{
		"access_key":   {"access_key_id", "access_key_secret"},
		"ecs_ram_role": {"role_name"},
		"ram_role_arn": {"access_key_id", "access_key_secret", "role_arn", "role_session_name"},
	}[typ]
	if !ok {
		if typ == "" {
			return nil, fmt.Errorf("%s in %s: key type missing (use access_key, ecs_ram_role or ram_role_arn)", kind, path)
		}
		return nil, fmt.Errorf("%s in %s: key type: unknown type %s (use access_key, ecs_ram_role or ram_role_arn)", kind, path, safeWord(typ))
	}
	for _, k := range required {
		if !sec.HasKey(k) || (typ != "ecs_ram_role" && sec.Key(k).String() == "") {
			return nil, fmt.Errorf("%s in %s: type %s: key %s missing", kind, path, typ, k)
		}
	}
	p, err := providers.NewProfileCredentialsProviderBuilder().WithProfileName(name).Build()
	if err != nil {
		return nil, fmt.Errorf("%s in %s: the profile cannot be used", kind, path)
	}
	return &credentialSource{kind: kind, fields: []zap.Field{zap.String("file", path), zap.String("type", typ)}, provider: p,
		explain: func(err error) string {
			return fmt.Sprintf("%s (type %s): getting the credential %s", path, typ, describeRemote(err))
		}}, nil
}

// iniProblem says where an INI file is broken; the ini errors quote the offending line, so
// only its number is kept.
func iniProblem(data []byte, err error) string {
	var line string
	var de ini.ErrDelimiterNotFound
	var ke ini.ErrEmptyKeyName
	switch {
	case errors.As(err, &de):
		line = de.Line
	case errors.As(err, &ke):
		line = ke.Line
	}
	if line != "" {
		for i, l := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(l) == strings.TrimSpace(line) {
				return fmt.Sprintf("not a valid INI file at line %d", i+1)
			}
		}
	}
	return "not a valid INI file"
}

// ramRoleCredential: the RAM role of the ECS instance, from its metadata service, unless
// ALIBABA_CLOUD_ECS_METADATA_DISABLED is true.
func ramRoleCredential() (*credentialSource, error) {
	p, err := providers.NewECSRAMRoleCredentialsProviderBuilder().Build()
	if err != nil {
		return nil, nil // disabled
	}
	var fields []zap.Field
	if name := os.Getenv("ALIBABA_CLOUD_ECS_METADATA"); name != "" {
		fields = append(fields, zap.String("role_name", name))
	}
	return &credentialSource{kind: "ram role", fields: fields, provider: p,
		explain: func(err error) string {
			return "the instance metadata service (100.100.100.200) " + describeRemote(err) + " (is this an ECS instance with a RAM role?)"
		}}, nil
}

// uriCredential: ALIBABA_CLOUD_CREDENTIALS_URI. The URI often carries a token in its query,
// which the library quotes in its errors, so the URI is fetched by uriProvider instead.
func uriCredential() (*credentialSource, error) {
	const uriVar = "ALIBABA_CLOUD_CREDENTIALS_URI"
	raw := os.Getenv(uriVar)
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("credentials uri: %s is not an http:// or https:// URL", uriVar)
	}
	shown := u.Scheme + "://" + u.Host + u.EscapedPath()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	p := &uriProvider{url: raw, shown: shown, client: &http.Client{Transport: tr, Timeout: 15 * time.Second}}
	return &credentialSource{kind: "credentials uri", fields: []zap.Field{zap.String("uri", shown)}, provider: p,
		explain: func(err error) string { return err.Error() }}, nil // uriProvider speaks in our words already
}

// uriProvider gets a credential from a credentials URI, as the library's URLCredentialsProvider
// does (a GET answering AccessKeyId, AccessKeySecret, SecurityToken and Expiration, fetched
// again three minutes before it expires), with errors that show the URI without its query.
type uriProvider struct {
	url    string
	shown  string // scheme://host/path
	client *http.Client

	mu      sync.Mutex
	cur     *providers.Credentials
	expires time.Time
}

func (p *uriProvider) GetProviderName() string { return "credential_uri" }

func (p *uriProvider) GetCredentials() (*providers.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil || time.Until(p.expires) <= 3*time.Minute {
		cc, exp, err := p.fetch()
		if err != nil {
			return nil, err
		}
		p.cur, p.expires = cc, exp
	}
	cc := *p.cur
	return &cc, nil
}

func (p *uriProvider) fetch() (*providers.Credentials, time.Time, error) {
	res, err := p.client.Get(p.url)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s %s", p.shown, describeTransport(err))
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, time.Time{}, fmt.Errorf("%s answered HTTP %d", p.shown, res.StatusCode)
	}
	var body struct {
		AccessKeyId, AccessKeySecret, SecurityToken, Expiration *string
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&body); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s answered HTTP 200 with a body that is not a JSON credential", p.shown)
	}
	var missing []string
	for _, f := range []struct {
		name string
		v    *string
	}{{"AccessKeyId", body.AccessKeyId}, {"AccessKeySecret", body.AccessKeySecret}, {"SecurityToken", body.SecurityToken}, {"Expiration", body.Expiration}} {
		if f.v == nil || *f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, time.Time{}, fmt.Errorf("%s answered without %s", p.shown, strings.Join(missing, ", "))
	}
	exp, err := time.Parse("2006-01-02T15:04:05Z", *body.Expiration)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s answered an Expiration that is not a time like 2006-01-02T15:04:05Z", p.shown)
	}
	return &providers.Credentials{AccessKeyId: *body.AccessKeyId, AccessKeySecret: *body.AccessKeySecret,
		SecurityToken: *body.SecurityToken, ProviderName: p.GetProviderName()}, exp, nil
}

// describeTransport explains a failed request without the url.Error's text, which quotes the
// whole URL.
func describeTransport(err error) string {
	var ne net.Error
	var dns *net.DNSError
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "did not answer in time"
	case errors.As(err, &dns):
		return "names a host that was not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused the connection"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset the connection"
	}
	return "could not be reached"
}
