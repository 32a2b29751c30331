package samples

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/binfile"
)

func bitsEqual(a, b []float32) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestSaveLoadRoundTrip(t *testing.T) {
	s := small()
	s.Theta[3] = float32(math.Copysign(0, -1)) // −0 must come back as −0
	s.Theta[4] = math.SmallestNonzeroFloat32   // a subnormal
	s.Diagnostics["distance"][1] = float32(math.NaN())
	if err := s.SetNetwork(map[string]any{"layers": []int{1, 50, 1}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.fbs")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.N != 3 || got.P != 2 || !bitsEqual(got.Theta, s.Theta) || !bitsEqual(got.Loss, s.Loss) || !bitsEqual(got.MAP, s.MAP) ||
		!bitsEqual(got.Diagnostics["distance"], s.Diagnostics["distance"]) || len(got.Diagnostics) != 1 {
		t.Fatalf("arrays differ:\n got %+v\nwant %+v", got, s)
	}
	if got.Method != "fiber" || got.Seed != 7 || got.Dataset != "toy" || got.FitSeconds != 2 || got.SampleSeconds != 0.5 ||
		string(got.Network) != `{"layers":[1,50,1]}` || !reflect.DeepEqual(got.Extras, map[string]any{"eps": 0.01}) {
		t.Fatalf("metadata differs: %+v", got.Meta)
	}
	info, err := Stat(path)
	if err != nil || info.N != 3 || info.P != 2 || info.Method != "fiber" || info.Seed != 7 || len(info.Diagnostics) != 1 || info.Diagnostics[0] != "distance" {
		t.Errorf("Stat = %+v, %v", info, err)
	}
	// Saving what was loaded gives the same bytes.
	path2 := filepath.Join(t.TempDir(), "s2.fbs")
	got.MustSave(path2)
	b1, _ := os.ReadFile(path)
	b2, _ := os.ReadFile(path2)
	if string(b1) != string(b2) {
		t.Error("re-saved file differs")
	}
	// Optional parts absent stay absent.
	bare := &Set{N: 1, P: 1, Theta: []float32{4}}
	bare.MustSave(path)
	if g := MustLoad(path); g.Loss != nil || g.MAP != nil || g.Diagnostics != nil || g.Extras != nil || g.Network != nil {
		t.Errorf("bare set came back as %+v", g)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.fbs")
	small().MustSave(path)
	full, _ := os.ReadFile(path)

	check := func(name string, data []byte, class error, frag string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p)
		if err == nil || (class != nil && !errors.Is(err, class)) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), frag) {
			t.Errorf("%s: error %v, want %v naming the file and saying %q", name, err, class, frag)
		}
	}
	check("truncated", full[:len(full)-10], binfile.ErrTruncated, "write was interrupted or the copy is incomplete")
	check("foreign", []byte("N,P\n3,2\n"), binfile.ErrNotBinfile, "not a fiberbnn binary file")
	flipped := append([]byte{}, full...)
	flipped[len(flipped)-12] ^= 4
	check("flipped", flipped, binfile.ErrChecksum, "the file is damaged")

	// Another kind of binfile, and a newer sample set version.
	other := &binfile.File{Kind: "fiberbnn.flow", Version: 1}
	p := filepath.Join(dir, "other.fbin")
	if err := binfile.Write(p, other); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	check("kind", data, binfile.ErrWrongKind, `it holds "fiberbnn.flow", want "fiberbnn.samples": not a sample set file`)
	if _, err := Stat(p); !errors.Is(err, binfile.ErrWrongKind) || !strings.Contains(err.Error(), p) {
		t.Errorf("Stat of another kind: %v", err)
	}
	newer := &binfile.File{Kind: Kind, Version: FormatVersion + 1}
	if err := binfile.Write(p, newer); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(p)
	check("newer", data, binfile.ErrNewerVersion, "fiberbnn.samples version 2, this build reads up to version 1: update fiberbnn")
	if _, err := Stat(p); !errors.Is(err, binfile.ErrNewerVersion) {
		t.Errorf("Stat of a newer version: %v", err)
	}

	// A well-formed file whose content disagrees with its header, or holds an invalid set.
	write := func(name string, edit func(f *binfile.File)) []byte {
		f := &binfile.File{Kind: Kind, Version: 1}
		if err := f.SetHeader(map[string]any{"n": 2, "p": 1, "method": "hmc"}); err != nil {
			t.Fatal(err)
		}
		if err := f.Add("theta", []int{2, 1}, []float32{1, 2}); err != nil {
			t.Fatal(err)
		}
		edit(f)
		p := filepath.Join(dir, name+".src")
		if err := binfile.Write(p, f); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		return b
	}
	check("shape", write("shape", func(f *binfile.File) { f.Arrays[0].Shape = []int{1, 2} }), nil, `array "theta" has shape [1 2], the header says [2 1]`)
	check("extra", write("extra", func(f *binfile.File) { _ = f.Add("junk", nil, []float32{1}) }), nil, `unexpected array "junk"`)
	check("nan", write("nan", func(f *binfile.File) { f.Arrays[0].Data = []float32{1, float32(math.NaN())} }), nil,
		"holds an invalid set: hmc sample set: 1 of 2 samples have NaN or infinite parameters (rows [1])")
	check("missing", write("missing", func(f *binfile.File) { f.Arrays = nil }), nil, `no array "theta"`)

	if _, err := Load(filepath.Join(dir, "nope.fbs")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestSaveRefusesInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.fbs")
	s := small()
	s.Theta[0] = float32(math.NaN())
	if err := s.Save(path); err == nil || !strings.Contains(err.Error(), "not saving "+path) || !strings.Contains(err.Error(), "rows [0]") {
		t.Errorf("Save of NaN rows: %v", err)
	}
	s = small()
	s.Extras["bad"] = math.Inf(1)
	if err := s.Save(path); err == nil || !strings.Contains(err.Error(), "cannot be stored as JSON") {
		t.Errorf("Save of Inf extra: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused Save left a file")
	}
}

func BenchmarkSaveLoad(b *testing.B) {
	// 100 samples of a 100k-parameter network: 40 MB.
	s := &Set{Meta: Meta{Method: "fiber"}, N: 100, P: 100000, Theta: make([]float32, 100*100000), Loss: make([]float32, 100)}
	path := filepath.Join(b.TempDir(), "b.fbs")
	b.SetBytes(int64(4 * len(s.Theta)))
	for b.Loop() {
		s.MustSave(path)
		MustLoad(path)
	}
}
