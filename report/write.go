package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ecs-image-cleanup/ecs-image-cleanup/internal/files"
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
func WriteFile(path string, r *Report) error {
	if err := files.WriteAtomic(path, func(w io.Writer) error { return Write(w, r) }); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
