package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// idxBytes encodes an unsigned-byte IDX array.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestParseIDX(t *testing.T) {
	data := []byte{0, 1, 2, 3, 4, 5, 250, 255, 9, 9, 9, 9}
	plain := idxBytes([]int{3, 2, 2}, data)
	for name, in := range map[string][]byte{"plain": plain, "gzip": gz(t, plain)} {
		idx, err := ParseIDX(bytes.NewReader(in), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(idx.Dims, []int{3, 2, 2}) || !bytes.Equal(idx.Data, data) {
			t.Fatalf("%s: dims %v data %v", name, idx.Dims, idx.Data)
		}
	}
}

func TestParseIDXErrors(t *testing.T) {
	good := idxBytes([]int{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	corrupt := gz(t, good)
	corrupt[len(corrupt)-6] ^= 0xff // a CRC byte of the gzip trailer
	for _, c := range []struct {
		name string
		in   []byte
		want []string
	}{
		{"empty", nil, []string{"too short for an IDX header", "empty or truncated"}},
		{"bad magic", []byte{1, 2, 8, 1, 0, 0, 0, 1, 7}, []string{"bad magic number 01 02 08 01", "is this an IDX file?"}},
		{"text file", []byte("1,2,3\n4,5,6\n"), []string{"bad magic number"}},
		{"float type", []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, []string{"element type 0x0d is not supported"}},
		{"no dims", []byte{0, 0, 8, 0}, []string{"0 dimensions"}},
		{"zero dim", idxBytes([]int{2, 0}, nil), []string{"dimension 1 is 0", "[2 0]"}},
		{"truncated header", good[:9], []string{"truncated IDX header", "2 dimensions"}},
		{"truncated data", good[:len(good)-2], []string{"truncated IDX data", "dims [2 3] need 6 bytes, the file has 4"}},
		{"trailing data", append(slices.Clone(good), 7, 7), []string{"2 bytes of trailing data"}},
		{"huge dims", idxBytes([]int{1 << 16, 1 << 16}, nil), []string{"announce more than", "header is corrupt"}},
		{"gzip truncated", gz(t, good)[:20], []string{"gzip stream is corrupt or truncated"}},
		{"gzip checksum", corrupt, []string{"gzip stream is corrupt or truncated", "checksum"}},
		{"gzip bad header", []byte{0x1f, 0x8b, 0, 0}, []string{"corrupt gzip header"}},
		{"gzip truncated data", gz(t, good[:len(good)-1]), []string{"truncated IDX data"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseIDX(bytes.NewReader(c.in), "f.idx")
			wantErr(t, err, append([]string{"f.idx: "}, c.want...)...)
		})
	}
}

func TestLoadIDXImages(t *testing.T) {
	imgs := idxBytes([]int{2, 2, 3}, []byte{0, 51, 255, 102, 0, 0, 1, 2, 3, 4, 5, 6})
	dir := writeFiles(t, map[string]string{
		"img.gz":     string(gz(t, imgs)),
		"lab":        string(idxBytes([]int{2}, []byte{9, 4})),
		"lab-bad":    string(idxBytes([]int{2}, []byte{9, 10})),
		"lab-3":      string(idxBytes([]int{3}, []byte{1, 2, 3})),
		"lab-2d":     string(idxBytes([]int{2, 1}, []byte{1, 2})),
		"not-images": string(idxBytes([]int{12}, make([]byte, 12))),
	})
	p := func(s string) string { return filepath.Join(dir, s) }
	ds, err := LoadIDXImages(p("img.gz"), p("lab"), "tiny", 10)
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 2 || ds.D != 6 || !slices.Equal(ds.InputShape, []int{2, 3, 1}) || !slices.Equal(ds.Labels, []int32{9, 4}) {
		t.Fatalf("dataset %+v", ds)
	}
	if ds.X[0] != 0 || ds.X[1] != 0.2 || ds.X[2] != 1 || ds.X[3] != 0.4 {
		t.Fatalf("pixels %v, want byte/255", ds.X[:4])
	}
	for _, c := range []struct {
		img, lab string
		want     []string
	}{
		{"img.gz", "lab-bad", []string{"lab-bad", "label 10 of example 1 is out of range [0, 10)"}},
		{"img.gz", "lab-3", []string{"has 2 images but", "has 3 labels"}},
		{"img.gz", "lab-2d", []string{"lab-2d", "want 1 dimension"}},
		{"not-images", "lab", []string{"not-images", "want 3 dimensions"}},
		{"missing", "lab", []string{"missing", "file not found"}},
	} {
		_, err := LoadIDXImages(p(c.img), p(c.lab), "tiny", 10)
		wantErr(t, err, c.want...)
	}
}

func TestLoadMNISTTest(t *testing.T) {
	dir := dataDir(t)
	ds, err := LoadMNISTTest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 10000 || ds.D != 784 || !slices.Equal(ds.InputShape, []int{28, 28, 1}) || ds.Classes != 10 {
		t.Fatalf("MNIST test: N=%d D=%d shape %v K=%d", ds.N, ds.D, ds.InputShape, ds.Classes)
	}
	// The MNIST test set's digit counts (documented with the data set).
	if c := ds.ClassCounts(); !slices.Equal(c, []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}) {
		t.Fatalf("digit counts %v", c)
	}
	lo, hi, sum := float32(1), float32(0), 0.0
	for _, v := range ds.X {
		lo, hi, sum = min(lo, v), max(hi, v), sum+float64(v)
	}
	// Pixels in [0, 1] reaching both ends; mean intensity 0.1325 (the usual normalisation constant of the
	// MNIST test set; 0.1307 for the training set).
	if lo != 0 || hi != 1 || !approx(sum/float64(len(ds.X)), 0.1325, 5e-4) {
		t.Fatalf("pixels in [%v, %v], mean %v", lo, hi, sum/float64(len(ds.X)))
	}
	// The same files, unpacked, in a user directory are read as well (dir holding the files directly).
	user := t.TempDir()
	for _, f := range []string{"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		idx, err := ReadIDXFile(filepath.Join(dir, "mnist-test", f+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(user, f), idxBytes(idx.Dims, idx.Data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	again, err := LoadMNISTTest(user)
	if err != nil || !slices.Equal(again.Labels, ds.Labels) || !slices.Equal(again.X[:784*3], ds.X[:784*3]) {
		t.Fatalf("plain copy differs: %v", err)
	}
	_, err = LoadMNISTTest(t.TempDir())
	wantErr(t, err, "t10k-images-idx3-ubyte.gz nor t10k-images-idx3-ubyte found")
}
