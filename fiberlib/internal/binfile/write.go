package binfile

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// checkKind verifies that kind is 1..MaxKindLen bytes of printable ASCII without spaces.
func checkKind(kind string) error {
	if len(kind) == 0 || len(kind) > MaxKindLen {
		return fmt.Errorf("kind %q must have 1 to %d bytes", kind, MaxKindLen)
	}
	for i := 0; i < len(kind); i++ {
		if kind[i] < 0x21 || kind[i] > 0x7e {
			return fmt.Errorf("kind %q: byte %d (0x%02x) is not printable ASCII", kind, i, kind[i])
		}
	}
	return nil
}

// prepare validates f and returns the header bytes to write and the total file length.
func prepare(f *File) (header []byte, total int64, err error) {
	if err := checkKind(f.Kind); err != nil {
		return nil, 0, err
	}
	if f.Version < 1 || int64(f.Version) > math.MaxUint32 {
		return nil, 0, fmt.Errorf("%s: version %d out of range [1, %d]", f.Kind, f.Version, uint32(math.MaxUint32))
	}
	header = f.Header
	if len(header) == 0 {
		header = []byte("{}")
	}
	if !json.Valid(header) {
		return nil, 0, fmt.Errorf("%s: header is not valid JSON", f.Kind)
	}
	if len(header) > MaxHeader {
		return nil, 0, fmt.Errorf("%s: header has %d bytes, the maximum is %d: store bulk data as arrays", f.Kind, len(header), MaxHeader)
	}
	total = preludeSize + 2 + int64(len(f.Kind)) + 4 + 4 + int64(len(header)) + 4
	seen := make(map[string]bool, len(f.Arrays))
	for i := range f.Arrays {
		a := &f.Arrays[i]
		if err := a.check(); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", f.Kind, err)
		}
		if seen[a.Name] {
			return nil, 0, fmt.Errorf("%s: array name %q used twice", f.Kind, a.Name)
		}
		seen[a.Name] = true
		dt, _ := a.DType()
		total += 2 + int64(len(a.Name)) + 1 + 1 + 8*int64(len(a.Shape)) + int64(a.Len())*int64(dt.Size())
	}
	if len(f.Arrays) > math.MaxUint32 {
		return nil, 0, fmt.Errorf("%s: too many arrays (%d)", f.Kind, len(f.Arrays))
	}
	total += checksumSize
	return header, total, nil
}

// Encode writes f to w in the binfile layout. It validates f first and writes nothing if f is invalid.
func Encode(w io.Writer, f *File) error {
	header, total, err := prepare(f)
	if err != nil {
		return fmt.Errorf("binfile: %w", err)
	}
	h := newChecksum()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<16)
	var buf []byte
	buf = append(buf, Magic...)
	buf = binary.LittleEndian.AppendUint32(buf, ContainerVersion)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(total))
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(f.Kind)))
	buf = append(buf, f.Kind...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(f.Version))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(header)))
	buf = append(buf, header...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(f.Arrays)))
	if _, err := bw.Write(buf); err != nil {
		return fmt.Errorf("binfile: writing %s: %w", f.Kind, err)
	}
	for i := range f.Arrays {
		if err := writeArray(bw, &f.Arrays[i]); err != nil {
			return fmt.Errorf("binfile: writing %s array %q: %w", f.Kind, f.Arrays[i].Name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("binfile: writing %s: %w", f.Kind, err)
	}
	if _, err := w.Write(checksumBytes(h)); err != nil {
		return fmt.Errorf("binfile: writing %s checksum: %w", f.Kind, err)
	}
	return nil
}

// writeArray writes one array record (name, type, shape, elements).
func writeArray(w *bufio.Writer, a *Array) error {
	dt, _ := a.DType()
	var buf []byte
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(a.Name)))
	buf = append(buf, a.Name...)
	buf = append(buf, byte(dt), byte(len(a.Shape)))
	for _, d := range a.Shape {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(d))
	}
	if _, err := w.Write(buf); err != nil {
		return err
	}
	const chunk = 1 << 13 // elements per write
	buf = make([]byte, 0, chunk*8)
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	le := binary.LittleEndian
	switch d := a.Data.(type) {
	case []uint8:
		_, err := w.Write(d)
		return err
	case []float32:
		for i, v := range d {
			buf = le.AppendUint32(buf, math.Float32bits(v))
			if (i+1)%chunk == 0 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	case []float64:
		for i, v := range d {
			buf = le.AppendUint64(buf, math.Float64bits(v))
			if (i+1)%chunk == 0 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	case []int32:
		for i, v := range d {
			buf = le.AppendUint32(buf, uint32(v))
			if (i+1)%chunk == 0 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	case []int64:
		for i, v := range d {
			buf = le.AppendUint64(buf, uint64(v))
			if (i+1)%chunk == 0 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// Write stores f at path atomically: it writes a temporary file in the same directory, syncs it to disk,
// renames it over path and syncs the directory. On any error path is left as it was and the temporary file
// is removed. The file gets mode 0644.
func Write(path string, f *File) (err error) {
	if _, _, err := prepare(f); err != nil {
		return fmt.Errorf("binfile: %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("binfile: writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = Encode(tmp, f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("binfile: writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("binfile: syncing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("binfile: writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("binfile: renaming the temporary file onto %s: %w", path, err)
	}
	// Make the rename durable. Some systems cannot sync a directory; the file itself is already safe.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
