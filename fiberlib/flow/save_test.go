package flow

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/binfile"
	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
)

// A saved flow loads back bit for bit and draws the same samples for the same seed; damage and files of
// another kind are refused with the binfile errors.
func TestSaveLoadRoundTrip(t *testing.T) {
	f := warpedFlow(t, Mixed, 6, 3)
	f.Report = TrainReport{Steps: 300, BestStep: 200, NumTrain: 160, NumValid: 40, TrainLoss: []float64{1, 0.5},
		ValidLoss: []float64{1.2, 0.7}, BestValidLoss: 0.7}
	dir := t.TempDir()
	path := filepath.Join(dir, "f.fbf")
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Params {
		if f.Params[i] != g.Params[i] {
			t.Fatalf("param %d: %g → %g", i, f.Params[i], g.Params[i])
		}
	}
	for i := range f.Subspace.Basis {
		if f.Subspace.Basis[i] != g.Subspace.Basis[i] {
			t.Fatalf("basis %d differs after load", i)
		}
	}
	if want := "flow: r=3 of P=6"; !strings.HasPrefix(g.String(), want) || !strings.Contains(g.String(), "300 Adam steps (best at 200)") {
		t.Errorf("String() = %q", g.String())
	}
	if g.Options.Coupling != Mixed || g.Report.BestValidLoss != 0.7 || g.Subspace.VarianceKept != f.Subspace.VarianceKept {
		t.Errorf("header not restored: %+v / %+v", g.Options, g.Report)
	}
	a, _ := f.Sample(50, 3)
	b, err := g.Sample(50, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Theta {
		if a.Theta[i] != b.Theta[i] {
			t.Fatalf("draw %d differs after load: %g vs %g", i, a.Theta[i], b.Theta[i])
		}
	}

	// A flipped byte is caught by the checksum.
	raw, _ := os.ReadFile(path)
	raw[len(raw)/2] ^= 0x10
	bad := filepath.Join(dir, "bad.fbf")
	os.WriteFile(bad, raw, 0o644)
	if _, err := Load(bad); !errors.Is(err, binfile.ErrChecksum) {
		t.Errorf("damaged file: error %v, want a checksum error", err)
	}
	// A sample set is not a flow.
	set := samples.MustNew(2, 2, []float32{1, 2, 3, 4}, samples.Meta{Method: "hmc"})
	sp := filepath.Join(dir, "s.fbs")
	set.MustSave(sp)
	if _, err := Load(sp); !errors.Is(err, binfile.ErrWrongKind) {
		t.Errorf("sample set file: error %v, want a wrong-kind error", err)
	}
}

// FitSamples needs the set's MAP; SampleSet returns a valid set of method "flow" with log q per sample.
func TestSampleSetAdapters(t *testing.T) {
	set := samples.MustNew(3, 2, []float32{1, 2, 3, 4, 5, 6}, samples.Meta{Method: "fiber"})
	if _, err := FitSamples(set, SubspaceOptions{}, Options{}, TrainOptions{}); err == nil || !strings.Contains(err.Error(), "no MAP") {
		t.Errorf("set without MAP: error %v, want one about the MAP", err)
	}
	f := warpedFlow(t, Affine, 5, 2)
	out, err := f.SampleSet(40, 9)
	if err != nil {
		t.Fatal(err)
	}
	if out.Method != "flow" || out.N != 40 || out.P != 5 || len(out.Diagnostics["log_q"]) != 40 || len(out.MAP) != 5 {
		t.Errorf("SampleSet: method %q, N=%d, P=%d, %d log q, MAP %d", out.Method, out.N, out.P, len(out.Diagnostics["log_q"]), len(out.MAP))
	}
	if err := out.Validate(); err != nil {
		t.Error(err)
	}
}
