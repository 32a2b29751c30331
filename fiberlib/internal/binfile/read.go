package binfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"slices"
	"unicode/utf8"
)

// Read reads the binfile at path, verifies its layout and checksum, and checks that it holds the given
// kind with a kind version in [1, maxVersion]. Errors are *Error values naming path; see the package doc.
func Read(path, kind string, maxVersion int) (*File, error) {
	f, err := ReadAny(path)
	if err != nil {
		return nil, err
	}
	if f.Kind != kind {
		return nil, &Error{Path: path, Err: ErrWrongKind, Detail: fmt.Sprintf("it holds %q, want %q", f.Kind, kind)}
	}
	if f.Version > maxVersion {
		return nil, &Error{Path: path, Err: ErrNewerVersion, Detail: fmt.Sprintf(
			"%s version %d, this build reads up to version %d: update fiberbnn", kind, f.Version, maxVersion)}
	}
	return f, nil
}

// ReadAny reads the binfile at path whatever its kind, and verifies its layout and checksum.
func ReadAny(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("binfile: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("binfile: %w", err)
	}
	d := newDecoder(bufio.NewReaderSize(fh, 1<<16), path, st.Size())
	f, err := d.decode()
	if err != nil {
		var be *Error
		if errors.As(err, &be) && be.Err == ErrCorrupt && d.total == st.Size() {
			// A structural inconsistency in a file of the declared length: tell damage from a bad writer.
			if ok, cerr := checksumOK(path); cerr == nil && !ok {
				return nil, &Error{Path: path, Err: ErrChecksum, Detail: "the file is damaged (" + be.Detail + ")"}
			}
		}
		return nil, err
	}
	f.Path = path
	return f, nil
}

// ReadHeader reads only the kind, kind version and JSON header of the binfile at path (Arrays stays nil).
// It is cheap for large files, and checks the magic bytes, container version and file length, but not the
// checksum: use Read to load and verify the data.
func ReadHeader(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("binfile: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("binfile: %w", err)
	}
	d := newDecoder(bufio.NewReaderSize(fh, 1<<16), path, st.Size())
	f, err := d.decodeHead()
	if err != nil {
		return nil, err
	}
	f.Path = path
	return f, nil
}

// Decode reads one binfile from r and verifies its layout and checksum. It reads exactly the file's bytes
// and never allocates much more than the bytes it has actually read, whatever the lengths in the input say.
func Decode(r io.Reader) (*File, error) {
	return newDecoder(r, "", -1).decode()
}

// checksumOK recomputes the checksum of a file whose length field matched its size.
func checksumOK(path string) (bool, error) {
	fh, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil || st.Size() < checksumSize {
		return false, fmt.Errorf("short file")
	}
	h := newChecksum()
	if _, err := io.CopyN(h, fh, st.Size()-checksumSize); err != nil {
		return false, err
	}
	want := make([]byte, checksumSize)
	if _, err := io.ReadFull(fh, want); err != nil {
		return false, err
	}
	return bytes.Equal(checksumBytes(h), want), nil
}

// decoder reads the layout field by field, hashing every byte it reads.
type decoder struct {
	r     io.Reader // tees into h
	h     hash.Hash32
	path  string
	size  int64 // actual size of the file, or -1 for a stream
	off   int64 // bytes read so far
	total int64 // declared total length (0 until read)
}

func newDecoder(r io.Reader, path string, size int64) *decoder {
	h := newChecksum()
	return &decoder{r: io.TeeReader(r, h), h: h, path: path, size: size}
}

func (d *decoder) fail(kind error, format string, args ...any) error {
	return &Error{Path: d.path, Err: kind, Detail: fmt.Sprintf(format, args...)}
}

// avail returns how many bytes may still be read before the checksum, per the declared total.
func (d *decoder) avail() int64 { return d.total - checksumSize - d.off }

// read reads exactly n bytes for the named field. n must fit within the declared length; a short read is
// reported as truncation. Large reads grow their buffer as data arrives.
func (d *decoder) read(n int64, what string) ([]byte, error) {
	if d.total > 0 && n > d.avail() {
		return nil, d.fail(ErrCorrupt, "%s at byte %d needs %d bytes but only %d remain before the checksum", what, d.off, n, d.avail())
	}
	var buf []byte
	if n <= 1<<20 || d.size >= 0 {
		buf = make([]byte, n)
		m, err := io.ReadFull(d.r, buf)
		d.off += int64(m)
		if err != nil {
			return nil, d.readErr(err, what)
		}
		return buf, nil
	}
	var bb bytes.Buffer
	m, err := io.CopyN(&bb, d.r, n)
	d.off += m
	if err != nil {
		return nil, d.readErr(err, what)
	}
	return bb.Bytes(), nil
}

func (d *decoder) readErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return d.fail(ErrTruncated, "the data ends at byte %d while reading %s: the write was interrupted or the copy is incomplete; write or copy it again", d.off, what)
	}
	return &Error{Path: d.path, Err: ErrCorrupt, Detail: fmt.Sprintf("reading %s: %v", what, err)}
}

func (d *decoder) u16(what string) (uint64, error) {
	b, err := d.read(2, what)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint16(b)), nil
}

func (d *decoder) u32(what string) (uint64, error) {
	b, err := d.read(4, what)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint32(b)), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	b, err := d.read(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// decodeHead reads the prelude, kind, kind version and header.
func (d *decoder) decodeHead() (*File, error) {
	magic := make([]byte, len(Magic))
	m, err := io.ReadFull(d.r, magic)
	d.off += int64(m)
	if err != nil && m == 0 {
		return nil, d.fail(ErrNotBinfile, "the file is empty")
	}
	if !bytes.Equal(magic[:m], []byte(Magic)[:m]) {
		return nil, d.fail(ErrNotBinfile, "it starts with %q, a binfile starts with %q: is it the file you meant?", magic[:m], Magic)
	}
	if err != nil {
		return nil, d.readErr(err, "the magic bytes")
	}
	ver, err := d.u32("the container version")
	if err != nil {
		return nil, err
	}
	if ver > ContainerVersion {
		return nil, d.fail(ErrNewerVersion, "container version %d, this build reads up to %d: update fiberbnn", ver, ContainerVersion)
	}
	if ver == 0 {
		return nil, d.fail(ErrCorrupt, "container version 0 is invalid")
	}
	total, err := d.u64("the file length")
	if err != nil {
		return nil, err
	}
	const minTotal = preludeSize + 2 + 1 + 4 + 4 + 2 + 4 + checksumSize // one-byte kind, header "{}"
	if total < minTotal || total > math.MaxInt64 {
		return nil, d.fail(ErrCorrupt, "declared length %d is impossible (the smallest file has %d bytes)", total, minTotal)
	}
	if d.size >= 0 && d.size < int64(total) {
		return nil, d.fail(ErrTruncated, "the file has %d bytes but declares %d: the write was interrupted or the copy is incomplete; write or copy it again", d.size, total)
	}
	if d.size > int64(total) {
		return nil, d.fail(ErrCorrupt, "the file has %d bytes but declares %d: %d unexpected bytes at the end", d.size, total, d.size-int64(total))
	}
	d.total = int64(total)

	kl, err := d.u16("the kind length")
	if err != nil {
		return nil, err
	}
	kb, err := d.read(int64(kl), "the kind")
	if err != nil {
		return nil, err
	}
	f := &File{Kind: string(kb)}
	if err := checkKind(f.Kind); err != nil {
		return nil, d.fail(ErrCorrupt, "%v", err)
	}
	kv, err := d.u32("the kind version")
	if err != nil {
		return nil, err
	}
	if kv == 0 {
		return nil, d.fail(ErrCorrupt, "%s version 0 is invalid", f.Kind)
	}
	f.Version = int(kv)
	hl, err := d.u32("the header length")
	if err != nil {
		return nil, err
	}
	if hl > MaxHeader {
		return nil, d.fail(ErrCorrupt, "header length %d exceeds the maximum %d", hl, MaxHeader)
	}
	hb, err := d.read(int64(hl), "the JSON header")
	if err != nil {
		return nil, err
	}
	if !json.Valid(hb) {
		return nil, d.fail(ErrCorrupt, "the %s header is not valid JSON", f.Kind)
	}
	f.Header = hb
	return f, nil
}

// decode reads a whole file and verifies its checksum.
func (d *decoder) decode() (*File, error) {
	f, err := d.decodeHead()
	if err != nil {
		return nil, err
	}
	na, err := d.u32("the array count")
	if err != nil {
		return nil, err
	}
	// Each array record takes at least 4 bytes: a bound that stops absurd counts before any allocation.
	if int64(na)*4 > d.avail() {
		return nil, d.fail(ErrCorrupt, "%d arrays cannot fit in the %d bytes left", na, d.avail())
	}
	f.Arrays = make([]Array, 0, min(na, 1024)) // grows with records actually read
	seen := make(map[string]bool, min(na, 1024))
	for i := uint64(0); i < na; i++ {
		a, err := d.array(i)
		if err != nil {
			return nil, err
		}
		if seen[a.Name] {
			return nil, d.fail(ErrCorrupt, "array name %q appears twice", a.Name)
		}
		seen[a.Name] = true
		f.Arrays = append(f.Arrays, a)
	}
	if d.avail() != 0 {
		return nil, d.fail(ErrCorrupt, "%d unexplained bytes between the last array and the checksum", d.avail())
	}
	got := checksumBytes(d.h)
	// The stored checksum is read past the tee, so it is not hashed into itself; the tee has already hashed
	// every byte up to here.
	want := make([]byte, checksumSize)
	m, err := io.ReadFull(d.r, want)
	d.off += int64(m)
	if err != nil {
		return nil, d.readErr(err, "the checksum")
	}
	if !bytes.Equal(got, want) {
		return nil, d.fail(ErrChecksum, "the content does not match its CRC-32C (stored %x, computed %x): the file is damaged; restore or regenerate it", want, got)
	}
	return f, nil
}

// array reads the i-th array record.
func (d *decoder) array(i uint64) (Array, error) {
	var a Array
	nl, err := d.u16(fmt.Sprintf("the name length of array %d", i))
	if err != nil {
		return a, err
	}
	if nl == 0 || nl > MaxNameLen {
		return a, d.fail(ErrCorrupt, "array %d: name length %d out of range [1, %d]", i, nl, MaxNameLen)
	}
	nb, err := d.read(int64(nl), fmt.Sprintf("the name of array %d", i))
	if err != nil {
		return a, err
	}
	if !utf8.Valid(nb) {
		return a, d.fail(ErrCorrupt, "array %d: name %q is not UTF-8", i, nb)
	}
	a.Name = string(nb)
	tr, err := d.read(2, fmt.Sprintf("the type and rank of array %q", a.Name))
	if err != nil {
		return a, err
	}
	dt, rank := DType(tr[0]), int(tr[1])
	if dt.Size() == 0 {
		return a, d.fail(ErrCorrupt, "array %q: unknown element type code %d", a.Name, tr[0])
	}
	if rank > MaxRank {
		return a, d.fail(ErrCorrupt, "array %q: rank %d exceeds the maximum %d", a.Name, rank, MaxRank)
	}
	a.Shape = make([]int, rank)
	n := int64(1)
	for k := range a.Shape {
		v, err := d.u64(fmt.Sprintf("dimension %d of array %q", k, a.Name))
		if err != nil {
			return a, err
		}
		if v > math.MaxInt32*uint64(math.MaxInt32) {
			return a, d.fail(ErrCorrupt, "array %q: dimension %d is %d, too large", a.Name, k, v)
		}
		a.Shape[k] = int(v)
		if v != 0 && n > d.total/int64(v) { // more elements than the file has bytes
			return a, d.fail(ErrCorrupt, "array %q: shape %v does not fit in a %d-byte file", a.Name, a.Shape[:k+1], d.total)
		}
		n *= int64(v)
	}
	size := int64(dt.Size())
	if n > d.avail()/size {
		return a, d.fail(ErrCorrupt, "array %q: %d %s elements need %d bytes but only %d remain before the checksum",
			a.Name, n, dt, n*size, d.avail())
	}
	a.Data, err = d.elements(dt, n, a.Name)
	return a, err
}

// elements reads n elements of type dt in chunks, decoding each chunk into the typed slice. With a file of
// known size the slice is allocated at once (n is bounded by the file size); for a stream it grows with
// the data actually read.
func (d *decoder) elements(dt DType, n int64, name string) (any, error) {
	size := int64(dt.Size())
	const chunk = 1 << 20 // bytes per read
	capHint := n
	if d.size < 0 && capHint > chunk {
		capHint = chunk
	}
	var out any
	switch dt {
	case Float32:
		out = make([]float32, 0, capHint)
	case Float64:
		out = make([]float64, 0, capHint)
	case Int32:
		out = make([]int32, 0, capHint)
	case Int64:
		out = make([]int64, 0, capHint)
	default:
		out = make([]uint8, 0, capHint)
	}
	buf := make([]byte, min(n*size, chunk))
	for done := int64(0); done < n; {
		k := min(n-done, chunk/size)
		b := buf[:k*size]
		m, err := io.ReadFull(d.r, b)
		d.off += int64(m)
		if err != nil {
			return nil, d.readErr(err, fmt.Sprintf("the %d elements of array %q", n, name))
		}
		out = appendElements(out, dt, b)
		done += k
	}
	return out, nil
}

// appendElements decodes little-endian bytes b and appends them to out, a slice of type dt.
func appendElements(out any, dt DType, b []byte) any {
	le := binary.LittleEndian
	switch dt {
	case Float32:
		o := out.([]float32)
		n := len(o)
		o = slices.Grow(o, len(b)/4)[:n+len(b)/4]
		for i := range o[n:] {
			o[n+i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return o
	case Float64:
		o := out.([]float64)
		n := len(o)
		o = slices.Grow(o, len(b)/8)[:n+len(b)/8]
		for i := range o[n:] {
			o[n+i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
		return o
	case Int32:
		o := out.([]int32)
		n := len(o)
		o = slices.Grow(o, len(b)/4)[:n+len(b)/4]
		for i := range o[n:] {
			o[n+i] = int32(le.Uint32(b[4*i:]))
		}
		return o
	case Int64:
		o := out.([]int64)
		n := len(o)
		o = slices.Grow(o, len(b)/8)[:n+len(b)/8]
		for i := range o[n:] {
			o[n+i] = int64(le.Uint64(b[8*i:]))
		}
		return o
	default:
		return append(out.([]uint8), b...)
	}
}
