package files

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("version: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink("good.yaml", link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "p.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{good, link} {
		if data, err := ReadInput(path, 100); err != nil || string(data) != "version: 1\n" {
			t.Errorf("%s: %q %v", path, data, err)
		}
	}
	for _, tc := range []struct{ path, want string }{
		{fifo, "a FIFO, not a regular file"},
		{"/dev/zero", "a character device, not a regular file"},
		{dir, "a directory, not a regular file"},
		{filepath.Join(dir, "none"), "does not exist"},
		{"", "no file named"},
	} {
		if _, err := ReadInput(tc.path, 100); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.path, err, tc.want)
		}
	}
	if _, err := ReadInput(good, 5); err == nil || !strings.Contains(err.Error(), "11 bytes, more than the 5 bytes allowed") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := ReadInput(filepath.Join(dir, "none"), 5); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(ErrNotExist) lost: %v", err)
	}
}

func write(t *testing.T, o *Output, s string) {
	t.Helper()
	if err := o.Write(func(w io.Writer) error { _, err := io.WriteString(w, s); return err }); err != nil {
		t.Fatal(err)
	}
}

func TestCheckAndWrite(t *testing.T) {
	dir := t.TempDir()
	var stdout bytes.Buffer
	o, err := Check("--report", Stdout, &stdout)
	if err != nil || !o.IsStdout() {
		t.Fatalf("stdout: %v", err)
	}
	write(t, o, "to stdout")
	if stdout.String() != "to stdout" {
		t.Errorf("stdout got %q", stdout.String())
	}

	// A symlink chain to a file that does not exist yet: the file is created at the end, and
	// every link stays a link.
	if err := os.Symlink("b", filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("c.json", filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	o, err = Check("--report", filepath.Join(dir, "a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	write(t, o, "new")
	if data, _ := os.ReadFile(filepath.Join(dir, "c.json")); string(data) != "new" {
		t.Errorf("c.json = %q", data)
	}
	// Now the chain resolves: replaced atomically at its end.
	o, err = Check("--report", filepath.Join(dir, "a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	write(t, o, "again")
	for _, l := range []string{"a", "b"} {
		if st, err := os.Lstat(filepath.Join(dir, l)); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a link", l)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "c.json")); string(data) != "again" {
		t.Errorf("c.json = %q", data)
	}

	// A link loop is an error, not a hang.
	if err := os.Symlink("loop2", filepath.Join(dir, "loop1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop1", filepath.Join(dir, "loop2")); err != nil {
		t.Fatal(err)
	}
	if _, err := Check("--report", filepath.Join(dir, "loop1"), nil); err == nil {
		t.Error("a symlink loop was accepted")
	}

	// /dev/null: written through and still a device.
	o, err = Check("--report", os.DevNull, nil)
	if err != nil {
		t.Fatal(err)
	}
	write(t, o, "gone")
	_ = o.Close()
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device")
	}

	// Same and SameAsFile.
	f1 := filepath.Join(dir, "r.json")
	if err := os.WriteFile(f1, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("r.json", filepath.Join(dir, "r-link.json")); err != nil {
		t.Fatal(err)
	}
	a, _ := Check("--report", f1, nil)
	b, _ := Check("--summary", filepath.Join(dir, "r-link.json"), nil)
	if !a.Same(b) || !a.SameAsFile(filepath.Join(dir, "r-link.json")) {
		t.Error("a file and a link to it are not the same")
	}
	n1, _ := Check("--report", os.DevNull, nil)
	n2, _ := Check("--summary", os.DevNull, nil)
	defer n1.Close()
	defer n2.Close()
	if n1.Same(n2) {
		t.Error("/dev/null twice counts as one file: writing twice to a device loses nothing")
	}
}
