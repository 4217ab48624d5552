package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write encodes the report as indented JSON. The image entries are streamed one at a time, so
// that a report of a hundred thousand images is never held whole as JSON in memory.
func Write(w io.Writer, r *Report) error {
	head := *r
	head.Images = nil
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&head); err != nil {
		return err
	}
	before, after, ok := bytes.Cut(buf.Bytes(), []byte(`"images": null`))
	if !ok {
		return errors.New("write report: no images field")
	}
	bw := bufio.NewWriter(w)
	bw.Write(before)
	bw.WriteString(`"images": [`)
	for i := range r.Images {
		if i > 0 {
			bw.WriteByte(',')
		}
		e, err := json.MarshalIndent(&r.Images[i], "    ", "  ")
		if err != nil {
			return err
		}
		bw.WriteString("\n    ")
		bw.Write(e)
	}
	if len(r.Images) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteByte(']')
	bw.Write(after)
	return bw.Flush()
}

// WriteFile writes the report to path atomically: a temporary file in the same directory is
// written, synced and renamed over path, so a reader (or a crash) sees the previous complete
// report or the new one, never a torn file.
func WriteFile(path string, r *Report) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err = Write(f, r); err != nil {
		_ = f.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	// Sync the directory so the rename itself survives a crash.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
