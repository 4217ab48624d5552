// Package ossout stores the job's outputs (report, summary, journal) as Alibaba Cloud OSS
// objects named oss://BUCKET/KEY, through the official SDK, signed with the job's own
// credential chain. It implements files.Remote.
package ossout

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscred "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/aliyun/credentials-go/credentials"
)

// Scheme prefixes an output that is an OSS object.
const Scheme = "oss://"

// IsURL reports whether an output path names an OSS object.
func IsURL(s string) bool { return strings.HasPrefix(s, Scheme) }

// Parse splits oss://BUCKET/KEY. The bucket name follows OSS's rules (3 to 63 lower-case
// letters, digits and hyphens); the key is not empty and does not end in "/".
func Parse(s string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return "", "", fmt.Errorf("%s: not an oss:// URL", s)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if !validBucket(bucket) {
		return "", "", fmt.Errorf("%s: %q is not a bucket name (3 to 63 lower-case letters, digits and hyphens)", s, bucket)
	}
	if key == "" || strings.HasSuffix(key, "/") || strings.HasPrefix(key, "/") {
		return "", "", fmt.Errorf("%s: want oss://BUCKET/KEY, with a key that names an object, not a folder", s)
	}
	return bucket, key, nil
}

func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || b[0] == '-' || b[len(b)-1] == '-' {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Config configures a Store.
type Config struct {
	// Credential signs every request: the job's credential chain (credentials-go).
	Credential credentials.Credential
	// Region is the bucket's region, e.g. cn-hangzhou; it picks the endpoint and signs (V4).
	Region string
	// Endpoint overrides the SDK's endpoint for Region: "https://host[:port]", or
	// "http://host:port" for a loopback host only.
	Endpoint string
	// Timeout bounds one request; 0 means 30 s.
	Timeout time.Duration
}

// Store reads nothing: it checks, puts and deletes objects.
type Store struct {
	c       *oss.Client
	timeout time.Duration
	secrets func() []string
}

// New makes a Store; no request is sent.
func New(cfg Config) (*Store, error) {
	if cfg.Region == "" {
		return nil, errors.New("OSS: no region (give --oss-region)")
	}
	if cfg.Credential == nil {
		return nil, errors.New("OSS: no credential")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	prov := &provider{cred: cfg.Credential}
	c := oss.LoadDefaultConfig().
		WithCredentialsProvider(prov).
		WithRegion(cfg.Region).
		WithConnectTimeout(5 * time.Second).
		WithReadWriteTimeout(cfg.Timeout).
		WithRetryMaxAttempts(3)
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("--oss-endpoint %q: want https://host[:port] (or http:// for a loopback host)", cfg.Endpoint)
		}
		if u.Scheme == "http" && !loopback(u.Hostname()) {
			return nil, fmt.Errorf("--oss-endpoint %q: plain http is allowed only for loopback hosts", cfg.Endpoint)
		}
		c = c.WithEndpoint(u.Scheme + "://" + u.Host)
	}
	return &Store{c: oss.NewClient(c), timeout: cfg.Timeout, secrets: prov.known}, nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	return strings.HasPrefix(host, "127.") || host == "::1"
}

// provider adapts a credentials-go credential to the OSS SDK's CredentialsProvider: each
// request asks the chain, so a rotated STS token or an RRSA role is picked up as it changes.
type provider struct {
	cred credentials.Credential
	mu   sync.Mutex
	last []string
}

func (p *provider) GetCredentials(context.Context) (osscred.Credentials, error) {
	m, err := p.cred.GetCredential()
	if err != nil {
		return osscred.Credentials{}, fmt.Errorf("obtaining the credential: %w", err)
	}
	if m == nil || deref(m.AccessKeyId) == "" || deref(m.AccessKeySecret) == "" {
		return osscred.Credentials{}, errors.New("obtaining the credential: the chain gave no access key")
	}
	p.mu.Lock()
	p.last = []string{deref(m.AccessKeySecret), deref(m.SecurityToken)}
	p.mu.Unlock()
	return osscred.Credentials{AccessKeyID: deref(m.AccessKeyId), AccessKeySecret: deref(m.AccessKeySecret), SecurityToken: deref(m.SecurityToken)}, nil
}

func (p *provider) known() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// CheckWritable proves that the object can be written and deleted, before the job sends
// anything to ECS: it puts a small marker object beside it (under the key's prefix, which is
// what a prefix-scoped RAM policy grants) and deletes it. A HEAD or GetBucketInfo would prove
// only read access; this proves the two rights the run needs, oss:PutObject for the report and
// oss:DeleteObject for the journal, in the place it needs them.
func (s *Store) CheckWritable(ctx context.Context, name string) error {
	bucket, key, err := Parse(name)
	if err != nil {
		return err
	}
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	marker := path.Join(path.Dir(key), ".ecs-image-cleanup-write-check-"+hex.EncodeToString(nonce[:]))
	if path.Dir(key) == "." {
		marker = strings.TrimPrefix(marker, "./")
	}
	if err := s.put(ctx, bucket, marker, []byte("ecs-image-cleanup write check\n"), "text/plain"); err != nil {
		return s.wrap(name, "write check (PutObject)", err)
	}
	if err := s.del(ctx, bucket, marker); err != nil {
		return s.wrap(name, "write check (DeleteObject of "+marker+")", err)
	}
	return nil
}

// Exists reports whether the object is there (HeadObject).
func (s *Store) Exists(ctx context.Context, name string) (bool, error) {
	bucket, key, err := Parse(name)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ok, err := s.c.IsObjectExist(ctx, bucket, key)
	if err != nil {
		return false, s.wrap(name, "HeadObject", err)
	}
	return ok, nil
}

// Put writes the whole object in one PutObject.
func (s *Store) Put(ctx context.Context, name string, data []byte) error {
	bucket, key, err := Parse(name)
	if err != nil {
		return err
	}
	ct := "application/octet-stream"
	switch {
	case strings.HasSuffix(key, ".json"):
		ct = "application/json"
	case strings.HasSuffix(key, ".journal"):
		ct = "application/x-ndjson"
	case strings.HasSuffix(key, ".md"):
		ct = "text/markdown; charset=utf-8"
	case strings.HasSuffix(key, ".txt"):
		ct = "text/plain; charset=utf-8"
	}
	if err := s.put(ctx, bucket, key, data, ct); err != nil {
		return s.wrap(name, "PutObject", err)
	}
	return nil
}

// Delete deletes the object (DeleteObject); a missing object is no error.
func (s *Store) Delete(ctx context.Context, name string) error {
	bucket, key, err := Parse(name)
	if err != nil {
		return err
	}
	if err := s.del(ctx, bucket, key); err != nil {
		return s.wrap(name, "DeleteObject", err)
	}
	return nil
}

func (s *Store) put(ctx context.Context, bucket, key string, data []byte, contentType string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.c.PutObject(ctx, &oss.PutObjectRequest{
		Bucket: oss.Ptr(bucket), Key: oss.Ptr(key), Body: bytes.NewReader(data),
		ContentType: oss.Ptr(contentType), ContentLength: oss.Ptr(int64(len(data))),
	})
	return err
}

func (s *Store) del(ctx context.Context, bucket, key string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.c.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: oss.Ptr(bucket), Key: oss.Ptr(key)})
	return err
}

// wrap says what failed in our words: the service's status, code and message, or the
// transport's error, scrubbed of the credential's secrets.
func (s *Store) wrap(name, op string, err error) error {
	var se *oss.ServiceError
	msg := err.Error()
	if errors.As(err, &se) {
		msg = fmt.Sprintf("%d %s: %s (request id %s)", se.StatusCode, se.Code, se.Message, se.RequestID)
	}
	for _, secret := range s.secrets() {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "***")
		}
	}
	return fmt.Errorf("%s: %s: %s", name, op, msg)
}
