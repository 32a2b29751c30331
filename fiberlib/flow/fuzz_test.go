package flow

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/binfile"
	"github.com/fiberbnn/fiberbnn/internal/fuzzcorpus"
)

// tinyFlow is a flow with P = 3, r = 2, one affine layer of width 2: a small valid file.
func tinyFlow() *Flow {
	sub, err := FitSubspace([]float32{0, 0, 0}, []float32{1, 0, 0, 0, 2, 0, 1, 1, 0, -1, 0.5, 0}, SubspaceOptions{Rank: 2})
	if err != nil {
		panic(err)
	}
	f, err := New(sub, []float32{0.1, -0.2}, []float32{1, 2}, Options{Coupling: Affine, Layers: 1, Hidden: []int{2}, Seed: 1}, nil)
	if err != nil {
		panic(err)
	}
	f.Levels = []float32{1.5, 1.6}
	return f
}

// loadSeeds are the inputs of the committed seed corpus: a valid file, files with a valid container but
// contents that contradict each other (each must be refused by Load's checks, not by the checksum), and
// broken containers.
func loadSeeds() map[string][]byte {
	dir, err := os.MkdirTemp("", "flowfuzz")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "f.fbf")
	if err := tinyFlow().Save(path); err != nil {
		panic(err)
	}
	valid, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	// mutate re-encodes the valid file after changing its header or arrays (with a correct checksum).
	mutate := func(edit func(h map[string]any, bf *binfile.File)) []byte {
		bf, err := binfile.Decode(bytes.NewReader(valid))
		if err != nil {
			panic(err)
		}
		var h map[string]any
		if err := bf.DecodeHeader(&h); err != nil {
			panic(err)
		}
		edit(h, bf)
		if err := bf.SetHeader(h); err != nil {
			panic(err)
		}
		var b bytes.Buffer
		if err := binfile.Encode(&b, bf); err != nil {
			panic(err)
		}
		return b.Bytes()
	}
	array := func(bf *binfile.File, name string) *binfile.Array {
		a, ok := bf.Lookup(name)
		if !ok {
			panic(name)
		}
		return a
	}
	return map[string][]byte{
		"valid":     valid,
		"truncated": valid[:len(valid)/2],
		"flipped":   append(append(append([]byte{}, valid[:60]...), valid[60]^4), valid[61:]...),
		"rank":      mutate(func(h map[string]any, _ *binfile.File) { h["rank"] = 3 }),
		"p-zero":    mutate(func(h map[string]any, _ *binfile.File) { h["p"] = 0 }),
		"coupling":  mutate(func(h map[string]any, _ *binfile.File) { h["options"].(map[string]any)["Coupling"] = "cubic" }),
		"hidden": mutate(func(h map[string]any, _ *binfile.File) {
			h["options"].(map[string]any)["Hidden"] = []int{1 << 40, 1 << 40}
		}),
		"nan-param": mutate(func(_ map[string]any, bf *binfile.File) {
			array(bf, "params").Data.([]float32)[0] = float32(math.NaN())
		}),
		"spread": mutate(func(_ map[string]any, bf *binfile.File) { array(bf, "spread").Data.([]float32)[1] = 0 }),
		"levels": mutate(func(_ map[string]any, bf *binfile.File) {
			array(bf, "levels").Data.([]float32)[1] = float32(math.Inf(1))
		}),
		"basis": mutate(func(_ map[string]any, bf *binfile.File) {
			a := array(bf, "basis")
			a.Shape = []int{2, 3}
		}),
		"foreign": []byte("{\"not\": \"a flow\"}\n"),
	}
}

// TestLoadSeedCorpus writes the seed corpus with -regen-corpus and otherwise checks that the committed
// files hold the current seeds; every seed but "valid" must be refused with an error.
func TestLoadSeedCorpus(t *testing.T) {
	fuzzcorpus.Check(t, "FuzzLoad", loadSeeds())
	for name, data := range loadSeeds() {
		_, err := loadBytes(t, data)
		if (err == nil) != (name == "valid") {
			t.Errorf("seed %q: Load error %v", name, err)
		}
	}
}

func loadBytes(t *testing.T, data []byte) (*Flow, error) {
	path := filepath.Join(t.TempDir(), "in.fbf")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(path)
}

// FuzzLoad: Load on any bytes returns a flow or an error, never panics; a flow it returns is consistent
// (saving it again and loading gives the same parameters).
func FuzzLoad(f *testing.F) {
	for _, data := range loadSeeds() {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := loadBytes(t, data)
		if err != nil {
			return
		}
		if fl.Rank() < 1 || len(fl.Subspace.Basis) != fl.Subspace.P*fl.Rank() || len(fl.Params) != fl.arch.nParams {
			t.Fatalf("inconsistent flow accepted: r=%d, P=%d, %d basis values, %d params", fl.Rank(), fl.Subspace.P, len(fl.Subspace.Basis), len(fl.Params))
		}
		path := filepath.Join(t.TempDir(), "again.fbf")
		if err := fl.Save(path); err != nil {
			t.Fatalf("a loaded flow does not save: %v", err)
		}
		g, err := Load(path)
		if err != nil || len(g.Params) != len(fl.Params) {
			t.Fatalf("a re-saved flow does not load: %v", err)
		}
	})
}
