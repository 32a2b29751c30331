package binfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// sample returns a file exercising every element type, a scalar, an empty array and special floats.
func sample() *File {
	f := &File{Kind: "fiberbnn.test", Version: 3, Header: []byte(`{"method":"fiber","seed":42}`)}
	nanPayload := math.Float32frombits(0x7fc00123) // a NaN with a payload: must survive bit for bit
	must(f.Add("theta", []int{2, 3}, []float32{1, -2.5, float32(math.Inf(1)), nanPayload, float32(math.Copysign(0, -1)), 1e-45}))
	must(f.Add("loss", []int{2}, []float64{math.Pi, -math.SmallestNonzeroFloat64}))
	must(f.Add("labels", []int{4}, []int32{0, -1, math.MaxInt32, math.MinInt32}))
	must(f.Add("steps", []int{}, []int64{math.MinInt64}))
	must(f.Add("mask", []int{3}, []uint8{0, 1, 255}))
	must(f.Add("empty", []int{0, 5}, []float32{}))
	return f
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func encode(t *testing.T, f *File) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sameBits compares two files, floats by their bit patterns.
func sameBits(t *testing.T, got, want *File) {
	t.Helper()
	if got.Kind != want.Kind || got.Version != want.Version || !bytes.Equal(got.Header, want.Header) {
		t.Fatalf("head: got (%q, %d, %s), want (%q, %d, %s)", got.Kind, got.Version, got.Header, want.Kind, want.Version, want.Header)
	}
	if len(got.Arrays) != len(want.Arrays) {
		t.Fatalf("got %d arrays, want %d", len(got.Arrays), len(want.Arrays))
	}
	for i := range want.Arrays {
		g, w := got.Arrays[i], want.Arrays[i]
		if g.Name != w.Name || !reflect.DeepEqual(append([]int{}, g.Shape...), append([]int{}, w.Shape...)) {
			t.Fatalf("array %d: got %q %v, want %q %v", i, g.Name, g.Shape, w.Name, w.Shape)
		}
		switch wd := w.Data.(type) {
		case []float32:
			gd := g.Data.([]float32)
			if len(gd) != len(wd) {
				t.Fatalf("%s: len %d, want %d", w.Name, len(gd), len(wd))
			}
			for k := range wd {
				if math.Float32bits(gd[k]) != math.Float32bits(wd[k]) {
					t.Fatalf("%s[%d]: bits %08x, want %08x", w.Name, k, math.Float32bits(gd[k]), math.Float32bits(wd[k]))
				}
			}
		case []float64:
			gd := g.Data.([]float64)
			for k := range wd {
				if math.Float64bits(gd[k]) != math.Float64bits(wd[k]) {
					t.Fatalf("%s[%d]: %v, want %v", w.Name, k, gd[k], wd[k])
				}
			}
		default:
			if !reflect.DeepEqual(g.Data, w.Data) {
				t.Fatalf("%s: %v, want %v", w.Name, g.Data, w.Data)
			}
		}
	}
}

func TestRoundTripFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.fbin")
	want := sample()
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path, "fiberbnn.test", 3)
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, got, want)
	if got.Path != path {
		t.Errorf("Path = %q, want %q", got.Path, path)
	}
	var meta struct {
		Method string
		Seed   int
	}
	if err := got.DecodeHeader(&meta); err != nil || meta.Method != "fiber" || meta.Seed != 42 {
		t.Errorf("header = %+v, %v", meta, err)
	}
	// The file on disk is exactly Encode's bytes, and re-encoding what was read gives them again.
	disk, _ := os.ReadFile(path)
	if !bytes.Equal(disk, encode(t, want)) || !bytes.Equal(disk, encode(t, got)) {
		t.Error("file bytes differ from Encode's")
	}
	h, err := ReadHeader(path)
	if err != nil || h.Kind != "fiberbnn.test" || h.Version != 3 || h.Arrays != nil {
		t.Errorf("ReadHeader = %+v, %v", h, err)
	}
	x, shape, err := got.Float32("theta")
	if err != nil || len(x) != 6 || !reflect.DeepEqual(shape, []int{2, 3}) {
		t.Errorf("Float32(theta) = %v %v %v", x, shape, err)
	}
	if _, _, err := got.Float64("theta"); err == nil || !strings.Contains(err.Error(), "holds float32, want float64") {
		t.Errorf("Float64(theta) error = %v", err)
	}
	if _, _, err := got.Int32("nope"); err == nil || !strings.Contains(err.Error(), `no array "nope"`) || !strings.Contains(err.Error(), path) {
		t.Errorf("Int32(nope) error = %v", err)
	}
}

// TestLayout builds the bytes of a small file by hand, following the table in the package doc, and checks
// that Encode writes exactly them and Decode reads them back.
func TestLayout(t *testing.T) {
	le := binary.LittleEndian
	var b []byte
	b = append(b, 0x89, 'F', 'B', 'N', '\r', '\n', 0x1a, '\n')
	b = le.AppendUint32(b, 1)
	// total = 20 prelude + 2+1 kind + 4 version + 4+2 header + 4 count + (2+1 name + 1+1 type,rank + 8 dim + 2·4 data) + 4 CRC
	const total = 20 + 3 + 4 + 6 + 4 + 21 + 4
	b = le.AppendUint64(b, total)
	b = le.AppendUint16(b, 1)
	b = append(b, 'k')
	b = le.AppendUint32(b, 7)
	b = le.AppendUint32(b, 2)
	b = append(b, "{}"...)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint16(b, 1)
	b = append(b, 'a', 1, 1) // name "a", float32, rank 1
	b = le.AppendUint64(b, 2)
	b = le.AppendUint32(b, math.Float32bits(1.5))
	b = le.AppendUint32(b, math.Float32bits(-2))
	b = le.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	if len(b) != total {
		t.Fatalf("hand-built file has %d bytes, want %d", len(b), total)
	}
	f := &File{Kind: "k", Version: 7}
	must(f.Add("a", []int{2}, []float32{1.5, -2}))
	if got := encode(t, f); !bytes.Equal(got, b) {
		t.Fatalf("Encode:\n got %x\nwant %x", got, b)
	}
	g, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	f.Header = []byte("{}")
	sameBits(t, g, f)
}

func writeBytes(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.fbin")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantErr checks that err is an *Error of the given class whose message names path and contains frag.
func wantErr(t *testing.T, err, class error, path, frag string) {
	t.Helper()
	if !errors.Is(err, class) {
		t.Fatalf("error %v, want %v", err, class)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), frag) {
		t.Fatalf("error %q should name %q and say %q", err, path, frag)
	}
}

func TestTruncated(t *testing.T) {
	full := encode(t, sample())
	for n := 1; n < len(full); n++ {
		path := writeBytes(t, full[:n])
		_, err := Read(path, "fiberbnn.test", 3)
		wantErr(t, err, ErrTruncated, path, "write was interrupted or the copy is incomplete")
		if _, err := Decode(bytes.NewReader(full[:n])); !errors.Is(err, ErrTruncated) {
			t.Fatalf("Decode of %d/%d bytes: %v, want ErrTruncated", n, len(full), err)
		}
	}
	path := writeBytes(t, nil)
	_, err := Read(path, "fiberbnn.test", 3)
	wantErr(t, err, ErrNotBinfile, path, "empty")
	// Extra bytes at the end are not silently ignored.
	path = writeBytes(t, append(append([]byte{}, full...), 0))
	_, err = Read(path, "fiberbnn.test", 3)
	wantErr(t, err, ErrCorrupt, path, "1 unexpected bytes at the end")
}

func TestForeign(t *testing.T) {
	path := writeBytes(t, []byte(`{"samples": [1, 2, 3]}`+"\n"))
	_, err := Read(path, "fiberbnn.samples", 1)
	wantErr(t, err, ErrNotBinfile, path, `it starts with "{\"sample", a binfile starts with`)

	// Text-mode line-ending conversion breaks the magic bytes.
	b := encode(t, sample())
	mangled := bytes.Replace(b[:8], []byte("\r\n"), []byte("\n"), 1)
	path = writeBytes(t, append(mangled, b[8:]...))
	_, err = Read(path, "fiberbnn.test", 3)
	wantErr(t, err, ErrNotBinfile, path, "a binfile starts with")

	// A valid binfile of another kind.
	path = writeBytes(t, b)
	_, err = Read(path, "fiberbnn.samples", 1)
	wantErr(t, err, ErrWrongKind, path, `it holds "fiberbnn.test", want "fiberbnn.samples"`)
}

func TestNewerVersion(t *testing.T) {
	b := encode(t, sample())
	path := writeBytes(t, b)
	_, err := Read(path, "fiberbnn.test", 2)
	wantErr(t, err, ErrNewerVersion, path, "fiberbnn.test version 3, this build reads up to version 2")

	// Container version 2 (then the checksum no longer matches either, but the version is reported first:
	// a newer layout cannot be parsed at all).
	c := append([]byte{}, b...)
	binary.LittleEndian.PutUint32(c[8:], 2)
	path = writeBytes(t, c)
	_, err = Read(path, "fiberbnn.test", 3)
	wantErr(t, err, ErrNewerVersion, path, "container version 2, this build reads up to 1")
}

func TestChecksum(t *testing.T) {
	b := encode(t, sample())
	headerEnd := bytes.Index(b, []byte(`"seed":42}`)) + len(`"seed":42}`)
	// Flip one bit in each byte in turn: every corruption must be caught. Past the kind and its version
	// fields (whose corruption reads as another kind or version) the error must be a checksum mismatch,
	// so the user learns that the file is damaged.
	for i := range b {
		c := append([]byte{}, b...)
		c[i] ^= 0x10
		path := writeBytes(t, c)
		_, err := Read(path, "fiberbnn.test", 3)
		if err == nil {
			t.Fatalf("flipped byte %d: no error", i)
		}
		if i >= headerEnd && !errors.Is(err, ErrChecksum) {
			t.Fatalf("flipped byte %d (of %d): %v, want a checksum mismatch", i, len(b), err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("error %q does not name the file", err)
		}
	}
	c := append([]byte{}, b...)
	c[len(c)-8] ^= 1 // inside the last array's data
	path := writeBytes(t, c)
	_, err := Read(path, "fiberbnn.test", 3)
	wantErr(t, err, ErrChecksum, path, "the file is damaged")
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.fbin")
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	// An invalid file is rejected before anything is written; the old file stays.
	bad := sample()
	bad.Arrays[0].Shape = []int{4, 4}
	err := Write(path, bad)
	if err == nil || !strings.Contains(err.Error(), `array "theta": shape [4 4] has 16 elements but Data has 6`) {
		t.Fatalf("Write(bad) error = %v", err)
	}
	// A failing writer mid-file leaves the old file and no temporary file.
	if now, _ := os.ReadFile(path); !bytes.Equal(now, old) {
		t.Fatal("old file changed after a failed Write")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want 1 (temporary files left behind?)", len(entries))
	}
	// Replacing works and leaves no temporary file.
	g := sample()
	g.Version = 4
	if err := Write(path, g); err != nil {
		t.Fatal(err)
	}
	if h, err := ReadHeader(path); err != nil || h.Version != 4 {
		t.Fatalf("after replace: %+v, %v", h, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("directory holds %d entries after replace, want 1", len(entries))
	}
	if err := Write(filepath.Join(dir, "missing", "x.fbin"), sample()); err == nil {
		t.Fatal("Write into a missing directory succeeded")
	}
}

func TestInvalidFile(t *testing.T) {
	cases := []struct {
		name string
		f    *File
		frag string
	}{
		{"no kind", &File{Version: 1}, `kind "" must have 1 to 255 bytes`},
		{"space in kind", &File{Kind: "a b", Version: 1}, "byte 1 (0x20) is not printable ASCII"},
		{"version 0", &File{Kind: "k"}, "version 0 out of range"},
		{"bad header", &File{Kind: "k", Version: 1, Header: []byte("{")}, "header is not valid JSON"},
		{"bad data", &File{Kind: "k", Version: 1, Arrays: []Array{{Name: "a", Data: []string{"x"}}}}, "Data is []string"},
		{"negative dim", &File{Kind: "k", Version: 1, Arrays: []Array{{Name: "a", Shape: []int{-1}, Data: []float32{}}}}, "negative dimension"},
		{"duplicate", &File{Kind: "k", Version: 1, Arrays: []Array{{Name: "a", Data: []int32{1}}, {Name: "a", Data: []int32{1}}}}, `array name "a" used twice`},
	}
	for _, c := range cases {
		var b bytes.Buffer
		err := Encode(&b, c.f)
		if err == nil || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.frag)
		}
		if b.Len() != 0 {
			t.Errorf("%s: %d bytes written for an invalid file", c.name, b.Len())
		}
	}
	f := &File{Kind: "k", Version: 1}
	must(f.Add("a", nil, []float64{1}))
	if err := f.Add("a", nil, []float64{1}); err == nil || !strings.Contains(err.Error(), `"a" added twice`) {
		t.Errorf("Add twice: %v", err)
	}
}

// TestHugeLengthsStream checks that a stream declaring enormous lengths fails without allocating them.
func TestHugeLengthsStream(t *testing.T) {
	le := binary.LittleEndian
	var b []byte
	b = append(b, Magic...)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint64(b, 1<<62) // claims an exabyte
	b = le.AppendUint16(b, 1)
	b = append(b, 'k')
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, 2)
	b = append(b, "{}"...)
	withCount := le.AppendUint32(append([]byte{}, b...), 1<<31) // claims 2^31 arrays
	b = le.AppendUint32(b, 1)
	b = le.AppendUint16(b, 1)
	b = append(b, 'a', 1, 2)
	b = le.AppendUint64(b, 1<<30)
	b = le.AppendUint64(b, 1<<28) // 2^58 float32 elements
	b = append(b, make([]byte, 100)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Decode(bytes.NewReader(b))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("error %v, want ErrTruncated", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("Decode allocated %d bytes for a 150-byte input", alloc)
	}
	runtime.ReadMemStats(&before)
	_, err = Decode(bytes.NewReader(withCount))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("error %v, want ErrTruncated", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("Decode allocated %d bytes for a 40-byte input claiming 2^31 arrays", alloc)
	}
}

func BenchmarkReadWrite(b *testing.B) {
	// A sample set of 100 particles × 100k parameters (40 MB).
	f := &File{Kind: "bench", Version: 1}
	must(f.Add("x", []int{100, 100000}, make([]float32, 100*100000)))
	path := filepath.Join(b.TempDir(), "b.fbin")
	b.SetBytes(4 * 100 * 100000)
	for b.Loop() {
		if err := Write(path, f); err != nil {
			b.Fatal(err)
		}
		if _, err := Read(path, "bench", 1); err != nil {
			b.Fatal(err)
		}
	}
}
