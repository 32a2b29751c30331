package samples

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/binfile"
	"github.com/fiberbnn/fiberbnn/internal/fuzzcorpus"
)

// fileBytes returns the bytes Save writes for s.
func fileBytes(s *Set) []byte {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("fiberbnn-samples-seed-%d.fbs", os.Getpid()))
	defer os.Remove(path)
	if err := s.Save(path); err != nil {
		panic(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return b
}

// loadSeeds are the committed seed corpus of FuzzLoad: valid sample set files of several shapes (one with
// a network spec in its header) and broken ones: truncated, flipped bit, other kind, newer version, a header
// that disagrees with the arrays.
func loadSeeds() map[string][]byte {
	full := small()
	// A network description as nets.Spec marshals it (not imported: the fuzzer stays free of the GoMLX
	// packages, whose coverage counters slow fuzzing down a hundredfold).
	if err := full.SetNetwork(json.RawMessage(`{"input_shape":[1],"layers":[{"units":4,"activation":"tanh"},{"units":1}]}`)); err != nil {
		panic(err)
	}
	fullB := fileBytes(full)
	minimal := &Set{Meta: Meta{Method: "laplace"}, N: 1, P: 1, Theta: []float32{float32(math.Copysign(0, -1))}}
	enc := func(f *binfile.File) []byte {
		var b bytes.Buffer
		if err := binfile.Encode(&b, f); err != nil {
			panic(err)
		}
		return b.Bytes()
	}
	other := &binfile.File{Kind: "fiberbnn.flow", Version: 1}
	newer := &binfile.File{Kind: Kind, Version: FormatVersion + 1, Header: []byte(`{"n":1,"p":1}`)}
	_ = newer.Add(arrayTheta, []int{1, 1}, []float32{1})
	liar := &binfile.File{Kind: Kind, Version: FormatVersion, Header: []byte(`{"n":2,"p":1,"diagnostics":["d"]}`)}
	_ = liar.Add(arrayTheta, []int{1, 2}, []float32{1, 2})
	nan := &binfile.File{Kind: Kind, Version: FormatVersion, Header: []byte(`{"n":1,"p":2}`)}
	_ = nan.Add(arrayTheta, []int{1, 2}, []float32{float32(math.NaN()), 1})
	return map[string][]byte{
		"full":      fullB,
		"minimal":   fileBytes(minimal),
		"truncated": fullB[:len(fullB)*2/3],
		"flipped":   append(append(append([]byte{}, fullB[:60]...), fullB[60]^4), fullB[61:]...),
		"otherkind": enc(other),
		"newer":     enc(newer),
		"liar":      enc(liar),
		"nan":       enc(nan),
		"text":      []byte("n,p\n1,2\n"),
	}
}

// TestLoadSeedCorpus writes the seed corpus with -regen-corpus, and otherwise checks that the committed
// files exist and hold the current seeds, so the corpus follows format changes.
func TestLoadSeedCorpus(t *testing.T) {
	fuzzcorpus.Check(t, "FuzzLoad", loadSeeds())
}

// fixChecksum returns a copy of data with the binfile length field and the closing CRC-32C made to match
// its bytes, so that the fuzzer's mutations reach the header and array parsing behind the checksum.
func fixChecksum(data []byte) []byte {
	if len(data) < 24 {
		return nil
	}
	b := append([]byte{}, data...)
	binary.LittleEndian.PutUint64(b[12:20], uint64(len(b)))
	sum := crc32.Checksum(b[:len(b)-4], crc32.MakeTable(crc32.Castagnoli))
	binary.LittleEndian.PutUint32(b[len(b)-4:], sum)
	return b
}

// TestLoadSeeds loads every seed through Load from a file: the valid ones come back, each broken one is
// refused with a message that names the file and the problem.
func TestLoadSeeds(t *testing.T) {
	want := map[string]string{
		"full": "", "minimal": "",
		"truncated": "truncated file", "flipped": "checksum mismatch", "otherkind": "not a sample set file",
		"newer": "written by a newer version", "liar": `array "theta" has shape [1 2], the header says [2 1]`,
		"nan": "invalid set", "text": "not a fiberbnn binary file",
	}
	dir := t.TempDir()
	for name, data := range loadSeeds() {
		path := filepath.Join(dir, name+".fbs")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		w, ok := want[name]
		if !ok {
			t.Fatalf("seed %q has no expectation", name)
		}
		_, err := Load(path)
		switch {
		case w == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case w != "" && (err == nil || !strings.Contains(err.Error(), w) || !strings.Contains(err.Error(), path)):
			t.Errorf("%s: err = %v, want it to name the file and contain %q", name, err, w)
		}
	}
}

// FuzzLoad checks that decoding a sample set never panics on any bytes, that every error names the package
// and the file, and that whatever is accepted is a valid set that encodes and decodes back bit for bit.
// It runs in memory (binfile.Decode, then the checks Load makes), since file I/O would slow the fuzzer down
// a hundredfold; TestLoadSeeds covers the file path.
func FuzzLoad(f *testing.F) {
	for _, s := range loadSeeds() {
		f.Add(s)
	}
	const path = "fuzz.fbs"
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, fixChecksum(data)} {
			if in == nil {
				continue
			}
			file, err := binfile.Decode(bytes.NewReader(in))
			if err != nil || file.Kind != Kind || file.Version > FormatVersion {
				continue
			}
			file.Path = path
			s, err := fromFile(path, file)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "samples: ") || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %q does not name the package and the file", err)
				}
				continue
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("Load accepted an invalid set: %v", err)
			}
			file, err = s.toFile(path)
			if err != nil {
				t.Fatalf("Load accepted a set that Save rejects: %v", err)
			}
			var buf bytes.Buffer
			if err := binfile.Encode(&buf, file); err != nil {
				t.Fatalf("encoding an accepted set: %v", err)
			}
			file, err = binfile.Decode(&buf)
			if err != nil {
				t.Fatalf("decoding an accepted set: %v", err)
			}
			back, err := fromFile(path, file)
			if err != nil {
				t.Fatalf("loading what was saved: %v", err)
			}
			if back.N != s.N || back.P != s.P || !bitsEqual(back.Theta, s.Theta) || !bitsEqual(back.Loss, s.Loss) ||
				!bitsEqual(back.MAP, s.MAP) || len(back.Diagnostics) != len(s.Diagnostics) || back.Method != s.Method {
				t.Fatalf("round trip differs:\n got %+v\nwant %+v", back, s)
			}
			for k, v := range s.Diagnostics {
				if !bitsEqual(back.Diagnostics[k], v) {
					t.Fatalf("diagnostic %q differs after a round trip", k)
				}
			}
		}
	})
}
