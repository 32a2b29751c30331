package flow

import (
	"fmt"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/binfile"
)

// File format of a fitted flow: a binfile container (fiberlib/internal/binfile: magic bytes, versions,
// JSON header, named arrays, CRC-32C, written atomically) of kind "fiberbnn.flow", version 1
// (FormatVersion):
//
//	header (JSON)       {"options": Options, "p", "rank", "num_samples", "whitened", "variance_kept",
//	                     "mean_squared_displacement", "report": {steps, best step, losses, ...}}
//	"center"            float32 [P]        θ*
//	"basis"             float32 [P, r]     U
//	"scale"             float32 [r]        coordinate scales
//	"singular_values"   float64 [min(N,P)]
//	"loc", "spread"     float32 [r]        standardisation
//	"params"            float32 [nParams]  conditioner weights
//	"levels"            float32 [L]        optional: per-datum losses of the training samples (Flow.Levels)
//
// The suggested extension is ".fbf".
const (
	// Kind is the binfile kind of flow files.
	Kind = "fiberbnn.flow"
	// FormatVersion is the newest flow file version this build reads and the one it writes.
	FormatVersion = 1
)

type fileHeader struct {
	Options                 Options      `json:"options"`
	P                       int          `json:"p"`
	Rank                    int          `json:"rank"`
	NumSamples              int          `json:"num_samples"`
	Whitened                bool         `json:"whitened"`
	VarianceKept            float64      `json:"variance_kept"`
	MeanSquaredDisplacement float64      `json:"mean_squared_displacement"`
	Report                  reportOnDisk `json:"report"`
}

type reportOnDisk struct {
	Steps         int       `json:"steps"`
	BestStep      int       `json:"best_step"`
	NumTrain      int       `json:"num_train"`
	NumValid      int       `json:"num_valid"`
	TrainLoss     []float64 `json:"train_loss"`
	ValidLoss     []float64 `json:"valid_loss"`
	BestValidLoss float64   `json:"best_valid_loss"`
	SkippedSteps  int       `json:"skipped_steps"`
	EarlyStopped  bool      `json:"early_stopped"`
	Seconds       float64   `json:"seconds"`
	NonFiniteStep int       `json:"non_finite_step,omitempty"`
	Lambda        float64   `json:"lambda,omitempty"`
	LambdaTrace   []float64 `json:"lambda_trace,omitempty"`
	LevelTrace    []float64 `json:"level_trace,omitempty"`
}

// Save writes the flow to path atomically (temporary file, fsync, rename). Load gives it back bit for bit.
func (f *Flow) Save(path string) error {
	s := f.Subspace
	r := f.Report
	bf := &binfile.File{Kind: Kind, Version: FormatVersion}
	h := fileHeader{Options: f.Options, P: s.P, Rank: s.Rank, NumSamples: s.NumSamples, Whitened: s.Whitened,
		VarianceKept: s.VarianceKept, MeanSquaredDisplacement: s.MeanSquaredDisplacement,
		Report: reportToDisk(r)}
	if err := bf.SetHeader(h); err != nil {
		return fmt.Errorf("flow: not saving %s: %w", path, err)
	}
	for _, a := range []struct {
		name  string
		shape []int
		data  any
	}{
		{"center", []int{s.P}, s.Center},
		{"basis", []int{s.P, s.Rank}, s.Basis},
		{"scale", []int{s.Rank}, s.Scale},
		{"singular_values", []int{len(s.SingularValues)}, s.SingularValues},
		{"loc", []int{s.Rank}, f.Loc},
		{"spread", []int{s.Rank}, f.Spread},
		{"params", []int{len(f.Params)}, f.Params},
	} {
		if err := bf.Add(a.name, a.shape, a.data); err != nil {
			return fmt.Errorf("flow: not saving %s: %w", path, err)
		}
	}
	if f.Levels != nil {
		if err := bf.Add("levels", []int{len(f.Levels)}, f.Levels); err != nil {
			return fmt.Errorf("flow: not saving %s: %w", path, err)
		}
	}
	return binfile.Write(path, bf)
}

// MustSave is Save that panics on error, for notebooks.
func (f *Flow) MustSave(path string) {
	if err := f.Save(path); err != nil {
		panic(err)
	}
}

// Load reads a flow written by Save, verifying the checksum, kind and version, and that the arrays fit
// the architecture in the header.
func Load(path string) (*Flow, error) {
	bf, err := binfile.Read(path, Kind, FormatVersion)
	if err != nil {
		return nil, fmt.Errorf("flow.Load: %w", err)
	}
	var h fileHeader
	if err := bf.DecodeHeader(&h); err != nil {
		return nil, fmt.Errorf("flow.Load: %w", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("flow.Load: %s: %s", path, fmt.Sprintf(format, args...))
	}
	if h.P < 1 || h.Rank < 1 || h.Rank > h.P {
		return nil, bad("header has P=%d, rank=%d", h.P, h.Rank)
	}
	f32 := func(name string, want ...int) ([]float32, error) {
		v, shape, err := bf.Float32(name)
		if err != nil {
			return nil, fmt.Errorf("flow.Load: %w", err)
		}
		if len(want) > 0 && fmt.Sprint(shape) != fmt.Sprint(want) {
			return nil, bad("array %q has shape %v, want %v", name, shape, want)
		}
		return v, nil
	}
	sub := &Subspace{P: h.P, Rank: h.Rank, NumSamples: h.NumSamples, Whitened: h.Whitened,
		VarianceKept: h.VarianceKept, MeanSquaredDisplacement: h.MeanSquaredDisplacement}
	if sub.Center, err = f32("center", h.P); err != nil {
		return nil, err
	}
	if sub.Basis, err = f32("basis", h.P, h.Rank); err != nil {
		return nil, err
	}
	if sub.Scale, err = f32("scale", h.Rank); err != nil {
		return nil, err
	}
	if sub.SingularValues, _, err = bf.Float64("singular_values"); err != nil {
		return nil, fmt.Errorf("flow.Load: %w", err)
	}
	loc, err := f32("loc", h.Rank)
	if err != nil {
		return nil, err
	}
	spread, err := f32("spread", h.Rank)
	if err != nil {
		return nil, err
	}
	params, err := f32("params")
	if err != nil {
		return nil, err
	}
	f, err := New(sub, loc, spread, h.Options, params)
	if err != nil {
		return nil, fmt.Errorf("flow.Load: %s: %w", path, err)
	}
	if _, ok := bf.Lookup("levels"); ok {
		if f.Levels, err = f32("levels"); err != nil {
			return nil, err
		}
		if i := firstNonFinite(f.Levels); i >= 0 || len(f.Levels) == 0 {
			return nil, bad("array \"levels\" is empty or holds a non-finite value")
		}
	}
	f.Report = reportFromDisk(h.Report)
	return f, nil
}

// MustLoad is Load that panics on error, for notebooks.
func MustLoad(path string) *Flow {
	f, err := Load(path)
	if err != nil {
		panic(err)
	}
	return f
}
