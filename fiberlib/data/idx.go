package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// IDX is an array read from an IDX file (the format of MNIST and Fashion-MNIST): unsigned bytes only.
type IDX struct {
	// Dims is the array's shape, e.g. [10000, 28, 28] for images or [10000] for labels.
	Dims []int
	// Data holds the bytes, row-major, product(Dims) of them.
	Data []byte
}

// idxTypeUnsignedByte is the IDX element type code of unsigned bytes, the only one MNIST-style files use.
const idxTypeUnsignedByte = 0x08

// maxIDXBytes bounds the size an IDX header may announce (1 GiB), so a corrupt header cannot ask for an
// absurd allocation; the largest MNIST-style file holds 47 MB.
const maxIDXBytes = 1 << 30

// ReadIDXFile reads an IDX file, gzip-compressed (as distributed, .gz) or plain.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	defer f.Close()
	return ParseIDX(f, path)
}

// ParseIDX reads an IDX array from r, which may be gzip-compressed (detected from its first bytes) or plain;
// source names it in messages. It checks the magic number (two zero bytes, type 0x08, number of dimensions),
// that every dimension is positive, and that exactly product(dims) data bytes follow.
func ParseIDX(r io.Reader, source string) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: corrupt gzip header (%v): the file is damaged; download or copy it again", source, err)
		}
		defer zr.Close()
		idx, err := parseIDXPlain(gzipTagReader{zr}, source)
		if err != nil {
			return nil, err
		}
		// Read to the end so that the gzip checksum is verified.
		if n, err := io.Copy(io.Discard, gzipTagReader{zr}); err != nil {
			return nil, gzipError(source, err)
		} else if n > 0 {
			return nil, fmt.Errorf("%s: %d bytes of trailing data after the IDX array (dims %v): the file is not a valid IDX file",
				source, n, idx.Dims)
		}
		return idx, nil
	}
	idx, err := parseIDXPlain(br, source)
	if err != nil {
		return nil, err
	}
	if n, _ := io.Copy(io.Discard, br); n > 0 {
		return nil, fmt.Errorf("%s: %d bytes of trailing data after the IDX array (dims %v): the file is not a valid IDX file",
			source, n, idx.Dims)
	}
	return idx, nil
}

func gzipError(source string, err error) error {
	return fmt.Errorf("%s: gzip stream is corrupt or truncated (%v): the file is damaged; download or copy it again", source, err)
}

// parseIDXPlain reads the header and the data of an uncompressed IDX stream.
func parseIDXPlain(r io.Reader, source string) (*IDX, error) {
	var magic [4]byte
	if n, err := io.ReadFull(r, magic[:]); err != nil {
		if isGzipErr(err) {
			return nil, gzipError(source, err)
		}
		return nil, fmt.Errorf("%s: %d bytes, too short for an IDX header (4-byte magic number): the file is empty or truncated", source, n)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("%s: bad magic number % x: an IDX file starts with 00 00, a type byte and the number of dimensions (e.g. 00 00 08 03 for images); is this an IDX file?",
			source, magic[:])
	}
	if magic[2] != idxTypeUnsignedByte {
		return nil, fmt.Errorf("%s: IDX element type 0x%02x is not supported: only unsigned bytes (0x08), as in MNIST and Fashion-MNIST", source, magic[2])
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, fmt.Errorf("%s: IDX header announces 0 dimensions: the file is corrupt", source)
	}
	dimBytes := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, dimBytes); err != nil {
		if isGzipErr(err) {
			return nil, gzipError(source, err)
		}
		return nil, fmt.Errorf("%s: truncated IDX header: %d dimensions announced but their sizes are cut off", source, nd)
	}
	dims := make([]int, nd)
	total := 1
	for k := range dims {
		d := binary.BigEndian.Uint32(dimBytes[4*k:])
		if d == 0 {
			return nil, fmt.Errorf("%s: IDX dimension %d is 0 (dims %v): the file holds no data or is corrupt", source, k, dimsSoFar(dimBytes, nd))
		}
		if uint64(total)*uint64(d) > maxIDXBytes {
			return nil, fmt.Errorf("%s: IDX dims %v announce more than %d bytes: the header is corrupt", source, dimsSoFar(dimBytes, nd), maxIDXBytes)
		}
		dims[k] = int(d)
		total *= int(d)
	}
	// Read at most total bytes. The buffer is sized up front only up to 64 MiB and otherwise grows with what
	// actually arrives, so a corrupt header announcing a large size costs little unless the data is there.
	var buf bytes.Buffer
	buf.Grow(min(total, 64<<20))
	n, err := io.Copy(&buf, io.LimitReader(r, int64(total)))
	if err != nil {
		if isGzipErr(err) {
			return nil, gzipError(source, err)
		}
		return nil, fmt.Errorf("%s: read error: %w", source, err)
	}
	if int(n) != total {
		return nil, fmt.Errorf("%s: truncated IDX data: dims %v need %d bytes, the file has %d: download or copy it again",
			source, dims, total, n)
	}
	return &IDX{Dims: dims, Data: buf.Bytes()}, nil
}

func dimsSoFar(b []byte, nd int) string {
	parts := make([]string, nd)
	for k := range parts {
		parts[k] = fmt.Sprint(binary.BigEndian.Uint32(b[4*k:]))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// gzipTagReader marks the errors of a gzip stream (other than io.EOF) so that they are reported as a damaged
// compressed file rather than as a truncated IDX array.
type gzipTagReader struct{ r io.Reader }

// gzipStreamError is an error from the gzip layer.
type gzipStreamError struct{ err error }

func (e gzipStreamError) Error() string { return e.err.Error() }
func (e gzipStreamError) Unwrap() error { return e.err }

func (g gzipTagReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = gzipStreamError{err}
	}
	return n, err
}

func isGzipErr(err error) bool {
	var g gzipStreamError
	return errors.As(err, &g)
}
