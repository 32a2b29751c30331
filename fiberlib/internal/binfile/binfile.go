package binfile

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
)

// ContainerVersion is the layout version this package writes; it reads files with a version up to it.
const ContainerVersion = 1

// Magic is the 8-byte signature every binfile starts with.
const Magic = "\x89FBN\r\n\x1a\n"

// Limits of the layout, checked on write and on read.
const (
	MaxKindLen = 255     // longest kind string, in bytes
	MaxNameLen = 1024    // longest array name, in bytes
	MaxRank    = 16      // most dimensions of one array
	MaxHeader  = 1 << 30 // largest JSON header, in bytes
)

const (
	checksumSize = 4 // CRC-32C
	preludeSize  = 8 + 4 + 8
)

// castagnoli is the CRC-32C table (hardware-accelerated on amd64 and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// newChecksum returns the running checksum of the layout: CRC-32C.
func newChecksum() hash.Hash32 { return crc32.New(castagnoli) }

// checksumBytes returns the stored form of a checksum: its uint32 value, little-endian.
func checksumBytes(h hash.Hash32) []byte { return binary.LittleEndian.AppendUint32(nil, h.Sum32()) }

// DType is the element type of an array.
type DType uint8

// Element types. The codes are part of the file format and never change.
const (
	Float32 DType = 1
	Float64 DType = 2
	Int32   DType = 3
	Int64   DType = 4
	Uint8   DType = 5
)

// String returns the Go name of the element type ("float32", ...).
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Uint8:
		return "uint8"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size returns the number of bytes of one element, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Float64, Int64:
		return 8
	case Uint8:
		return 1
	}
	return 0
}

// Array is one named array. Data is a []float32, []float64, []int32, []int64 or []uint8 holding the
// elements in row-major order; its length is the product of Shape (1 for a scalar, Shape empty).
type Array struct {
	Name  string
	Shape []int
	Data  any
}

// DType returns the element type of a.Data, or an error if Data is not one of the supported slices.
func (a *Array) DType() (DType, error) {
	switch a.Data.(type) {
	case []float32:
		return Float32, nil
	case []float64:
		return Float64, nil
	case []int32:
		return Int32, nil
	case []int64:
		return Int64, nil
	case []uint8:
		return Uint8, nil
	}
	return 0, fmt.Errorf("array %q: Data is %T, want []float32, []float64, []int32, []int64 or []uint8", a.Name, a.Data)
}

// Len returns the number of elements in a.Data (0 for an unsupported type).
func (a *Array) Len() int {
	switch d := a.Data.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []int32:
		return len(d)
	case []int64:
		return len(d)
	case []uint8:
		return len(d)
	}
	return 0
}

// check verifies the name, the element type and that the shape matches the data length.
func (a *Array) check() error {
	if a.Name == "" || len(a.Name) > MaxNameLen {
		return fmt.Errorf("array name %q: must have 1 to %d bytes", a.Name, MaxNameLen)
	}
	if _, err := a.DType(); err != nil {
		return err
	}
	if len(a.Shape) > MaxRank {
		return fmt.Errorf("array %q: rank %d exceeds the maximum %d", a.Name, len(a.Shape), MaxRank)
	}
	n, err := numElements(a.Shape)
	if err != nil {
		return fmt.Errorf("array %q: %w", a.Name, err)
	}
	if n != a.Len() {
		return fmt.Errorf("array %q: shape %v has %d elements but Data has %d", a.Name, a.Shape, n, a.Len())
	}
	return nil
}

// numElements returns the product of shape, rejecting negative dimensions and overflow.
func numElements(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d != 0 && n > (1<<62)/d {
			return 0, fmt.Errorf("shape %v has too many elements", shape)
		}
		n *= d
	}
	return n, nil
}

// File is the content of one binfile.
type File struct {
	// Kind names what the file holds, e.g. "fiberbnn.samples": printable ASCII, 1 to 255 bytes.
	Kind string
	// Version is the version of the kind's schema, >= 1.
	Version int
	// Header is the kind's metadata, one JSON value. Empty means "{}".
	Header json.RawMessage
	// Arrays are the named arrays, in file order. Names are unique.
	Arrays []Array

	// Path is the file this was read from (set by Read; empty otherwise). Used in error messages.
	Path string
}

// SetHeader stores v, encoded as JSON, as the header.
func (f *File) SetHeader(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("binfile: encoding the %s header: %w", f.Kind, err)
	}
	f.Header = b
	return nil
}

// DecodeHeader decodes the JSON header into v (fields unknown to v are ignored).
func (f *File) DecodeHeader(v any) error {
	h := f.Header
	if len(h) == 0 {
		h = json.RawMessage("{}")
	}
	if err := json.Unmarshal(h, v); err != nil {
		return &Error{Path: f.Path, Err: ErrCorrupt, Detail: fmt.Sprintf("decoding the %s header: %v", f.Kind, err)}
	}
	return nil
}

// Add appends an array. It returns an error if the name is already used or the array is inconsistent.
func (f *File) Add(name string, shape []int, data any) error {
	if _, ok := f.Lookup(name); ok {
		return fmt.Errorf("binfile: array %q added twice", name)
	}
	a := Array{Name: name, Shape: append([]int(nil), shape...), Data: data}
	if err := a.check(); err != nil {
		return fmt.Errorf("binfile: %w", err)
	}
	f.Arrays = append(f.Arrays, a)
	return nil
}

// Lookup returns the array with the given name.
func (f *File) Lookup(name string) (*Array, bool) {
	for i := range f.Arrays {
		if f.Arrays[i].Name == name {
			return &f.Arrays[i], true
		}
	}
	return nil, false
}

// Float32 returns the float32 array with the given name and its shape; a missing array or another element
// type is an error naming the file.
func (f *File) Float32(name string) ([]float32, []int, error) {
	a, err := f.get(name, Float32)
	if err != nil {
		return nil, nil, err
	}
	return a.Data.([]float32), a.Shape, nil
}

// Float64 returns the float64 array with the given name and its shape.
func (f *File) Float64(name string) ([]float64, []int, error) {
	a, err := f.get(name, Float64)
	if err != nil {
		return nil, nil, err
	}
	return a.Data.([]float64), a.Shape, nil
}

// Int32 returns the int32 array with the given name and its shape.
func (f *File) Int32(name string) ([]int32, []int, error) {
	a, err := f.get(name, Int32)
	if err != nil {
		return nil, nil, err
	}
	return a.Data.([]int32), a.Shape, nil
}

func (f *File) get(name string, want DType) (*Array, error) {
	a, ok := f.Lookup(name)
	if !ok {
		return nil, &Error{Path: f.Path, Err: ErrCorrupt, Detail: fmt.Sprintf("%s file has no array %q", f.Kind, name)}
	}
	if got, _ := a.DType(); got != want {
		return nil, &Error{Path: f.Path, Err: ErrCorrupt, Detail: fmt.Sprintf("array %q holds %s, want %s", name, got, want)}
	}
	return a, nil
}

// Errors returned (wrapped in *Error) when reading. Test with errors.Is.
var (
	ErrNotBinfile   = errors.New("not a fiberbnn binary file")
	ErrTruncated    = errors.New("truncated file")
	ErrWrongKind    = errors.New("wrong kind of file")
	ErrNewerVersion = errors.New("written by a newer version")
	ErrChecksum     = errors.New("checksum mismatch")
	ErrCorrupt      = errors.New("corrupt file")
)

// Error is a read error: which file, which of the Err* values, and the details.
type Error struct {
	Path   string // the file; empty when decoding a stream
	Err    error  // one of ErrNotBinfile, ErrTruncated, ErrWrongKind, ErrNewerVersion, ErrChecksum, ErrCorrupt
	Detail string // what exactly is wrong and what to do
}

// Error formats as "path: problem: details".
func (e *Error) Error() string {
	p := e.Path
	if p == "" {
		p = "binfile stream"
	}
	if e.Detail == "" {
		return p + ": " + e.Err.Error()
	}
	return p + ": " + e.Err.Error() + ": " + e.Detail
}

// Unwrap returns the Err* value.
func (e *Error) Unwrap() error { return e.Err }
