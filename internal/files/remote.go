package files

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Remote stores outputs named by URL (oss://BUCKET/KEY): a report that outlives the machine
// it was written on, such as a Kubernetes pod's. internal/ossout is one.
type Remote interface {
	// CheckWritable proves that the object can be written and deleted, before any request to
	// the cloud API the job works on.
	CheckWritable(ctx context.Context, name string) error
	// Exists reports whether the object is there.
	Exists(ctx context.Context, name string) (bool, error)
	// Put writes the whole object.
	Put(ctx context.Context, name string, data []byte) error
	// Delete deletes the object.
	Delete(ctx context.Context, name string) error
}

// Option configures Check and CheckJournal.
type Option func(*options)

type options struct {
	remote Remote
	scheme string
}

// WithRemote makes paths that start with scheme (such as "oss://") outputs of r.
func WithRemote(scheme string, r Remote) Option {
	return func(o *options) { o.remote, o.scheme = r, scheme }
}

// IsRemote reports whether path names a remote object (a URL such as oss://BUCKET/KEY).
func IsRemote(path string) bool {
	return strings.Contains(path, "://")
}

// checkRemote makes an Output of a remote object: its store must take it now.
func checkRemote(flagName, path string, o options) (*Output, error) {
	if o.remote == nil || !strings.HasPrefix(path, o.scheme) {
		return nil, fmt.Errorf("%s %s: not a file, and no store for that scheme (oss://BUCKET/KEY is the one known)", flagName, path)
	}
	if err := o.remote.CheckWritable(context.Background(), path); err != nil {
		return nil, fmt.Errorf("%s %w", flagName, err)
	}
	return &Output{Name: path, remote: o.remote}, nil
}

// writeRemote writes the whole output with fn into memory, then puts it in one request: a
// reader sees the previous object or the whole new one.
func (o *Output) writeRemote(fn func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := fn(&buf); err != nil {
		return fmt.Errorf("write %s: %w", o.Name, err)
	}
	if err := o.remote.Put(context.Background(), o.Name, buf.Bytes()); err != nil {
		return fmt.Errorf("write %w", err)
	}
	return nil
}

// IsRemote reports whether the output is a remote object.
func (o *Output) IsRemote() bool { return o != nil && o.remote != nil }

// JournalTarget is where a run's journal is kept: a local file, or for a remote object a local
// spool file (in the temporary directory) whose content Publish puts in the object.
type JournalTarget struct {
	Name   string // as the user wrote it
	Local  string // the file the journal is written to
	remote Remote
	spool  string // the spool directory of a remote journal
}

// CheckJournal makes a JournalTarget of path. A remote journal that already exists is an
// earlier run's (killed before it wrote its report), reported as an *ExistingError; a local
// one is checked when it is created.
func CheckJournal(path string, opts ...Option) (*JournalTarget, error) {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	if !IsRemote(path) {
		return &JournalTarget{Name: path, Local: path}, nil
	}
	if o.remote == nil || !strings.HasPrefix(path, o.scheme) {
		return nil, fmt.Errorf("--journal %s: not a file, and no store for that scheme", path)
	}
	ok, err := o.remote.Exists(context.Background(), path)
	if err != nil {
		return nil, fmt.Errorf("journal %w", err)
	}
	if ok {
		return nil, &ExistingError{Name: path}
	}
	if err := o.remote.CheckWritable(context.Background(), path); err != nil {
		return nil, fmt.Errorf("journal %w", err)
	}
	dir, err := os.MkdirTemp("", "ecs-image-cleanup-journal-*")
	if err != nil {
		return nil, fmt.Errorf("journal %s: its local spool: %w", path, err)
	}
	return &JournalTarget{Name: path, Local: filepath.Join(dir, "journal"), remote: o.remote, spool: dir}, nil
}

// ExistingError is a remote journal found where a new run would keep its own.
type ExistingError struct{ Name string }

func (e *ExistingError) Error() string {
	return fmt.Sprintf("journal %s exists: an earlier run was killed before it wrote its report", e.Name)
}

// IsRemote reports whether the journal is mirrored to a remote object.
func (t *JournalTarget) IsRemote() bool { return t != nil && t.remote != nil }

// Publish puts the local journal's content in the remote object; for a local journal it does
// nothing, the file being the record.
func (t *JournalTarget) Publish() error {
	if !t.IsRemote() {
		return nil
	}
	data, err := os.ReadFile(t.Local)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := t.remote.Put(context.Background(), t.Name, data); err != nil {
		return fmt.Errorf("journal %w", err)
	}
	return nil
}

// Remove removes the journal once the report is written: the local file, and for a remote
// journal its object and spool.
func (t *JournalTarget) Remove() error {
	if !t.IsRemote() {
		if err := os.Remove(t.Local); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	_ = os.RemoveAll(t.spool)
	return t.remote.Delete(context.Background(), t.Name)
}

// Discard removes a remote journal's local spool only (the object stays, as the record).
func (t *JournalTarget) Discard() {
	if t.IsRemote() {
		_ = os.RemoveAll(t.spool)
	}
}
