package data

import (
	"fmt"
	"math"
)

// StandardizeOptions chooses what FitStandardizer standardises. The zero value standardises every input
// column and every regression target with the training split's mean and standard deviation, as the UCI
// regression protocol of Hernández-Lobato & Adams (2015) does (and Immer et al. 2021 for the inputs of the
// UCI classification sets).
type StandardizeOptions struct {
	// KeepBinaryInputs leaves input columns whose training values are all 0 or 1 (binary or one-hot
	// features) as they are. Default false: they are standardised like every other column.
	KeepBinaryInputs bool
	// KeepTargets leaves regression targets as they are. Default false: targets are standardised.
	KeepTargets bool
}

// Standardizer holds the affine map fitted on a training split: standardised = (original − Shift) / Scale,
// per input column and per regression target. Columns left alone have Shift 0 and Scale 1; so do columns that
// are constant on the training split (their Scale would be 0; the protocol's code sets it to 1 too).
type Standardizer struct {
	// XShift and XScale are the per-input mean and standard deviation on the training split, [D].
	XShift, XScale []float64
	// YShift and YScale are the per-target mean and standard deviation on the training split, [T]
	// (empty for classification).
	YShift, YScale []float64
}

// FitStandardizer computes the training split's per-column means and standard deviations (population
// standard deviation, dividing by N, as numpy.std) of the inputs and, for regression, of the targets.
func FitStandardizer(train *Dataset, opts StandardizeOptions) (*Standardizer, error) {
	if err := train.Validate(); err != nil {
		return nil, fmt.Errorf("fit standardizer: %w", err)
	}
	s := &Standardizer{}
	s.XShift, s.XScale = columnStats(train.X, train.N, train.D)
	if opts.KeepBinaryInputs {
		for j := 0; j < train.D; j++ {
			binary := true
			for i := 0; i < train.N && binary; i++ {
				v := train.X[i*train.D+j]
				binary = v == 0 || v == 1
			}
			if binary {
				s.XShift[j], s.XScale[j] = 0, 1
			}
		}
	}
	if train.Task == Regression {
		if opts.KeepTargets {
			s.YShift, s.YScale = make([]float64, train.T), make([]float64, train.T)
			for t := range s.YScale {
				s.YScale[t] = 1
			}
		} else {
			s.YShift, s.YScale = columnStats(train.Y, train.N, train.T)
		}
	}
	return s, nil
}

// columnStats returns per-column means and population standard deviations of a row-major [n, d] matrix,
// with a standard deviation of 0 replaced by 1.
func columnStats(v []float32, n, d int) (mean, std []float64) {
	mean, std = make([]float64, d), make([]float64, d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			mean[j] += float64(v[i*d+j])
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			dv := float64(v[i*d+j]) - mean[j]
			std[j] += dv * dv
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(n))
		if std[j] == 0 || math.IsNaN(std[j]) {
			std[j] = 1
		}
	}
	return mean, std
}

// Transform returns a standardised copy of ds (a split of the same set: same D, and same T for regression).
func (s *Standardizer) Transform(ds *Dataset) (*Dataset, error) {
	if err := s.check(ds); err != nil {
		return nil, err
	}
	out := ds.Clone()
	for i := range out.X {
		j := i % ds.D
		out.X[i] = float32((float64(ds.X[i]) - s.XShift[j]) / s.XScale[j])
	}
	if ds.Task == Regression {
		for i := range out.Y {
			t := i % ds.T
			out.Y[i] = float32((float64(ds.Y[i]) - s.YShift[t]) / s.YScale[t])
		}
	}
	return out, nil
}

// Inverse returns a copy of a standardised ds mapped back to original units (inputs and targets).
func (s *Standardizer) Inverse(ds *Dataset) (*Dataset, error) {
	if err := s.check(ds); err != nil {
		return nil, err
	}
	out := ds.Clone()
	for i := range out.X {
		j := i % ds.D
		out.X[i] = float32(float64(ds.X[i])*s.XScale[j] + s.XShift[j])
	}
	if ds.Task == Regression {
		copy(out.Y, s.mustInverseTargets(ds.Y))
	}
	return out, nil
}

func (s *Standardizer) check(ds *Dataset) error {
	if ds == nil {
		return fmt.Errorf("standardize: %w", errNilDataset)
	}
	if ds.D != len(s.XShift) {
		return fmt.Errorf("standardize %s: D=%d, but the standardizer was fitted on D=%d inputs: fit it on this set's training split",
			ds.label(), ds.D, len(s.XShift))
	}
	if ds.Task == Regression && ds.T != len(s.YShift) {
		return fmt.Errorf("standardize %s: T=%d targets, but the standardizer was fitted on T=%d", ds.label(), ds.T, len(s.YShift))
	}
	return ds.Validate()
}

// InverseTargets maps standardised targets or predictive means, [n, T] row-major, back to original units:
// y·Scale + Shift.
func (s *Standardizer) InverseTargets(y []float32) ([]float32, error) {
	if len(s.YScale) == 0 || len(y)%len(s.YScale) != 0 {
		return nil, fmt.Errorf("inverse targets: %d values is not a multiple of T=%d targets", len(y), len(s.YScale))
	}
	return s.mustInverseTargets(y), nil
}

func (s *Standardizer) mustInverseTargets(y []float32) []float32 {
	out := make([]float32, len(y))
	T := len(s.YScale)
	for i, v := range y {
		out[i] = float32(float64(v)*s.YScale[i%T] + s.YShift[i%T])
	}
	return out
}

// InverseTargetStd maps standard deviations (or RMSEs, or any spread) of standardised targets, [n, T]
// row-major, back to original units: σ·Scale (no shift).
func (s *Standardizer) InverseTargetStd(std []float32) ([]float32, error) {
	if len(s.YScale) == 0 || len(std)%len(s.YScale) != 0 {
		return nil, fmt.Errorf("inverse target std: %d values is not a multiple of T=%d targets", len(std), len(s.YScale))
	}
	out := make([]float32, len(std))
	for i, v := range std {
		out[i] = float32(float64(v) * s.YScale[i%len(s.YScale)])
	}
	return out, nil
}

// TargetShift returns the shift (training mean) of target t; original = standardised·TargetScale + TargetShift.
func (s *Standardizer) TargetShift(t int) float64 { return s.YShift[t] }

// TargetScale returns the scale (training standard deviation) of target t.
func (s *Standardizer) TargetScale(t int) float64 { return s.YScale[t] }

// LogTargetScale returns Σ_t log TargetScale(t): the change of a per-example negative log density under the
// standardisation's Jacobian. A per-example NLL computed on standardised targets becomes the NLL in original
// units by adding it (NLL_orig = NLL_std + log scale, for T = 1).
func (s *Standardizer) LogTargetScale() float64 {
	var sum float64
	for _, sc := range s.YScale {
		sum += math.Log(sc)
	}
	return sum
}

// NLLToOriginal converts a per-example negative log-likelihood on standardised targets to original units.
func (s *Standardizer) NLLToOriginal(nllStd float64) float64 { return nllStd + s.LogTargetScale() }

// RMSEToOriginal converts an RMSE on standardised targets to original units (T = 1: RMSE·scale).
func (s *Standardizer) RMSEToOriginal(rmseStd float64) (float64, error) {
	if len(s.YScale) != 1 {
		return 0, fmt.Errorf("RMSE to original units: defined for T=1 target, the standardizer has T=%d: use InverseTargets and compute it", len(s.YScale))
	}
	return rmseStd * s.YScale[0], nil
}

// Standardize fits a Standardizer on train with the default options (all inputs and targets) and returns it
// with standardised copies of train and of each of others, in that order.
func Standardize(train *Dataset, others ...*Dataset) (*Standardizer, []*Dataset, error) {
	s, err := FitStandardizer(train, StandardizeOptions{})
	if err != nil {
		return nil, nil, err
	}
	out := make([]*Dataset, 0, 1+len(others))
	for _, ds := range append([]*Dataset{train}, others...) {
		t, err := s.Transform(ds)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, t)
	}
	return s, out, nil
}
