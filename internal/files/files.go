// Package files owns how the job touches the file system: inputs read whole through one bounded
// reader that never blocks, and outputs checked before the first request and then written
// without ever replacing what is not a regular file.
//
// Every path is hostile until checked: a device, a FIFO, a directory, a symlink, the policy
// itself or another output of the same run. The checks run before the job sends anything, so
// that a report that cannot be written never follows a deletion.
package files

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Stdout is the path that names standard output.
const Stdout = "-"

// ReadInput reads a whole input file of at most limit bytes. It refuses what is not a regular
// file (or a symlink to one) with a message that names the path and what it is, and never blocks:
// a FIFO is refused, not opened for reading and waited on.
func ReadInput(path string, limit int64) ([]byte, error) {
	if path == "" {
		return nil, errors.New("no file named")
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, pathError(path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s, not a regular file", path, kind(st.Mode()))
	}
	// O_NONBLOCK: if the path was swapped for a FIFO since the Stat, opening it does not wait
	// for a writer, and the check below refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, pathError(path, err)
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, pathError(path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s, not a regular file", path, kind(st.Mode()))
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than the %s allowed", path, st.Size(), size(limit))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, pathError(path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: more than the %s allowed", path, size(limit))
	}
	return data, nil
}

// Output is one checked output: standard output, a regular file replaced atomically, or a
// character device or FIFO written through.
type Output struct {
	Name    string // as the user wrote it, for messages
	target  string // the file to replace atomically: the path, or the end of its symlinks; "" otherwise
	through *os.File
	stdout  io.Writer
	id      os.FileInfo // the existing file, for SameFile; nil when there is none
	remote  Remote      // a remote object (oss://BUCKET/KEY); nil otherwise
}

// Check makes an Output of path, or says why it cannot be one: a missing or unwritable parent
// directory, a directory, a socket, a block device, or a FIFO with no reader. "-" is stdout.
// A character device or FIFO is opened here, so that nothing is sent before it is known to be
// writable; Close releases it.
//
// With WithRemote, a path of the remote's scheme (oss://BUCKET/KEY) is a remote object, checked
// writable now by the remote and written in one request.
func Check(flagName, path string, stdout io.Writer, opts ...Option) (*Output, error) {
	var op options
	for _, fn := range opts {
		fn(&op)
	}
	if IsRemote(path) {
		return checkRemote(flagName, path, op)
	}
	o := &Output{Name: path}
	if path == Stdout {
		o.stdout = stdout
		if f, ok := stdout.(*os.File); ok {
			o.id, _ = f.Stat()
		}
		return o, nil
	}
	if path == "" {
		return nil, fmt.Errorf("%s: empty path (use - for standard output)", flagName)
	}
	st, err := os.Stat(path) // follows symlinks
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A new file, or a dangling symlink whose target will be created: the link stays a link.
		target, err := resolve(path)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", flagName, path, err)
		}
		if err := writableDir(filepath.Dir(target)); err != nil {
			return nil, fmt.Errorf("%s %s: %w", flagName, path, err)
		}
		o.target = target
		return o, nil
	case err != nil:
		return nil, fmt.Errorf("%s %s: %w", flagName, path, pathError(path, err))
	}
	o.id = st
	m := st.Mode()
	switch {
	case m.IsRegular() && !procOrDev(path):
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", flagName, path, pathError(path, err))
		}
		if err := writableDir(filepath.Dir(target)); err != nil {
			return nil, fmt.Errorf("%s %s: %w", flagName, path, err)
		}
		o.target = target
		return o, nil
	case m.IsRegular(), m&fs.ModeCharDevice != 0, m&fs.ModeNamedPipe != 0:
		// /dev/null, /dev/stdout, a terminal, a FIFO: written through, never replaced. A FIFO
		// with no reader fails here at once (ENXIO) rather than blocking the run.
		flags := os.O_WRONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY
		if m.IsRegular() {
			flags |= os.O_APPEND // another process's open file: add to it, never overwrite it
		}
		f, err := os.OpenFile(path, flags, 0)
		if err != nil {
			if errors.Is(err, syscall.ENXIO) {
				return nil, fmt.Errorf("%s %s: a FIFO with no reader", flagName, path)
			}
			return nil, fmt.Errorf("%s %s: %w", flagName, path, pathError(path, err))
		}
		// Writes may block from here on, as writes to a pipe do.
		if err := syscall.SetNonblock(int(f.Fd()), false); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s %s: %w", flagName, path, err)
		}
		o.through = f
		return o, nil
	default:
		return nil, fmt.Errorf("%s %s: %s, not a file the job can write", flagName, path, kind(m))
	}
}

// Write writes the output with fn: through the device or to stdout as it is, or for a regular
// file into a temporary file beside the target, synced and renamed over it, so that a reader or
// a crash sees the whole previous file or the whole new one.
func (o *Output) Write(fn func(io.Writer) error) error {
	switch {
	case o.remote != nil:
		return o.writeRemote(fn)
	case o.stdout != nil:
		return fn(o.stdout)
	case o.through != nil:
		if err := fn(o.through); err != nil {
			return fmt.Errorf("write %s: %w", o.Name, err)
		}
		return nil
	}
	return WriteAtomic(o.target, fn)
}

// Close releases a device or FIFO opened by Check.
func (o *Output) Close() error {
	if o == nil || o.through == nil {
		return nil
	}
	err := o.through.Close()
	o.through = nil
	return err
}

// IsStdout reports whether the output is standard output.
func (o *Output) IsStdout() bool { return o.stdout != nil }

// Path is the file a regular output is written to (after its symlinks); "" for stdout and devices.
func (o *Output) Path() string { return o.target }

// Same reports whether the output is the same file as the existing file at path, or as another
// output. Two character devices are never the same for this purpose: writing twice to
// /dev/null or to a terminal loses nothing.
func (o *Output) Same(other *Output) bool {
	if o.remote != nil || other.remote != nil {
		return o.Name == other.Name
	}
	if o.stdout != nil && other.stdout != nil {
		return true
	}
	if o.target != "" && o.target == other.target {
		return true
	}
	if o.id == nil || other.id == nil || o.id.Mode()&fs.ModeCharDevice != 0 {
		return false
	}
	return os.SameFile(o.id, other.id)
}

// SameAsFile reports whether the output would overwrite the existing file at path.
func (o *Output) SameAsFile(path string) bool {
	if o.remote != nil {
		return false
	}
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if o.id != nil && os.SameFile(o.id, st) {
		return true
	}
	if o.target != "" {
		if p, err := filepath.EvalSymlinks(path); err == nil && p == o.target {
			return true
		}
	}
	return false
}

// SameAsPath reports whether the output is the file at path, whether or not it exists yet.
func (o *Output) SameAsPath(path string) bool {
	if o == nil || o.stdout != nil {
		return false
	}
	if o.remote != nil || IsRemote(path) {
		return o.Name == path
	}
	if o.SameAsFile(path) {
		return true
	}
	target, err := resolve(path)
	if err != nil {
		return false
	}
	a, err1 := filepath.Abs(target)
	b, err2 := filepath.Abs(o.target)
	return err1 == nil && err2 == nil && o.target != "" && a == b
}

// WriteAtomic writes path with fn through a temporary file in the same directory that is synced
// and renamed over path, then syncs the directory, so that the rename survives a crash.
func WriteAtomic(path string, fn func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err = fn(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// resolve follows the symlinks of a path that does not exist yet (a new file, or a dangling
// link), so that the file is created where the last link points and the links stay links.
func resolve(path string) (string, error) {
	for range 40 {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", pathError(path, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		link, err := os.Readlink(path)
		if err != nil {
			return "", pathError(path, err)
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(path), link)
		}
		path = link
	}
	return "", errors.New("too many levels of symbolic links")
}

// writableDir checks that dir exists, is a directory, and takes a new file.
func writableDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("directory %s does not exist", dir)
	}
	if err != nil {
		return pathError(dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".ecs-image-cleanup-check-*")
	if err != nil {
		return fmt.Errorf("directory %s is not writable: %w", dir, unwrapPath(err))
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	return nil
}

// procOrDev reports whether a regular file is reached through /dev or /proc (such as
// /dev/stdout redirected to a file): it is another process's open file, written through.
func procOrDev(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	return strings.HasPrefix(abs, "/dev/") || strings.HasPrefix(abs, "/proc/")
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "a regular file"
}

func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// pathError says what went wrong with path without repeating the operation's jargon; the os
// error stays underneath, for errors.Is.
func pathError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &plainError{path + " does not exist", err}
	case errors.Is(err, fs.ErrPermission):
		return &plainError{path + ": permission denied", err}
	}
	return &plainError{fmt.Sprintf("%s: %v", path, unwrapPath(err)), err}
}

// plainError is a message of our own over the error it explains.
type plainError struct {
	msg string
	err error
}

func (e *plainError) Error() string { return e.msg }
func (e *plainError) Unwrap() error { return e.err }

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
