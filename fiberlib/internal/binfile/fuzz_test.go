package binfile

import (
	"bytes"
	"testing"

	"github.com/fiberbnn/fiberbnn/internal/fuzzcorpus"
)

// seeds are the inputs of the committed seed corpus: valid files of several shapes and a few broken ones.
func seeds() map[string][]byte {
	var b bytes.Buffer
	enc := func(f *File) []byte {
		b.Reset()
		must(Encode(&b, f))
		return append([]byte{}, b.Bytes()...)
	}
	full := enc(sample())
	small := &File{Kind: "k", Version: 1}
	must(small.Add("a", []int{2}, []float32{1.5, -2}))
	scalars := &File{Kind: "fiberbnn.samples", Version: 1, Header: []byte(`{"n":1,"p":[]}`)}
	must(scalars.Add("x", nil, []float64{1}))
	must(scalars.Add("y", []int{0}, []int64{}))
	out := map[string][]byte{
		"full":      full,
		"small":     enc(small),
		"scalars":   enc(scalars),
		"empty":     enc(&File{Kind: "e", Version: 9}),
		"truncated": full[:len(full)/2],
		"foreign":   []byte("{\"not\": \"a binfile\"}\n"),
		"flipped":   append(append(append([]byte{}, full[:40]...), full[40]^1), full[41:]...),
	}
	return out
}

// TestSeedCorpus writes the seed corpus with -regen-corpus, and otherwise checks that the committed files
// exist and hold the current seeds, so the corpus follows format changes.
func TestSeedCorpus(t *testing.T) {
	fuzzcorpus.Check(t, "FuzzDecode", seeds())
}

// FuzzDecode checks that Decode never panics nor over-allocates on any input, and that whatever it accepts
// re-encodes to exactly the bytes it read.
func FuzzDecode(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(bytes.NewReader(data))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Decode returned %T (%v), want *Error", err, err)
			}
			return
		}
		var b bytes.Buffer
		if err := Encode(&b, got); err != nil {
			t.Fatalf("Decode accepted a file that Encode rejects: %v", err)
		}
		if !bytes.HasPrefix(data, b.Bytes()) {
			t.Fatalf("re-encoding differs from the input:\n got %x\nwant %x", b.Bytes(), data)
		}
	})
}
