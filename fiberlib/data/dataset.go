package data

import (
	"fmt"
	"math"
)

// Task says what kind of targets a Dataset has.
type Task int

const (
	// Regression: real-valued targets Y [N, T].
	Regression Task = iota
	// Classification: integer class labels Labels [N] in [0, Classes).
	Classification
)

// String returns "regression" or "classification".
func (t Task) String() string {
	switch t {
	case Regression:
		return "regression"
	case Classification:
		return "classification"
	}
	return fmt.Sprintf("Task(%d)", int(t))
}

// Dataset is a set of N examples with D input features each, stored row-major as float32.
type Dataset struct {
	Name string
	Task Task

	N, D int
	// X holds the inputs, [N, D] row-major.
	X []float32
	// InputShape optionally gives the shape of one example (e.g. [28, 28, 1] for images); its product is D.
	InputShape []int

	// T is the number of regression targets (usually 1); Y holds them, [N, T] row-major. Regression only.
	T int
	Y []float32

	// Classes is the number of classes; Labels holds one class index in [0, Classes) per example.
	// Classification only.
	Classes int
	Labels  []int32
	// ClassNames optionally gives, for each class index, the label as written in the source file (e.g. "1" and
	// "2" for banana, whose labels are relabelled to 0 and 1). Loaders that relabel classes fill it in.
	ClassNames []string
}

// Validate checks shapes, finiteness and label ranges, and returns an error naming the first problem and
// how to fix it.
func (ds *Dataset) Validate() error {
	if ds == nil {
		return errNilDataset
	}
	name := ds.Name
	if name == "" {
		name = "data set"
	}
	if ds.N <= 0 {
		return fmt.Errorf("%s: empty (N=%d): check the file or the split indices", name, ds.N)
	}
	if ds.D <= 0 {
		return fmt.Errorf("%s: no input features (D=%d)", name, ds.D)
	}
	if len(ds.X) != ds.N*ds.D {
		return fmt.Errorf("%s: X has %d values, want N×D = %d×%d = %d", name, len(ds.X), ds.N, ds.D, ds.N*ds.D)
	}
	if len(ds.InputShape) > 0 {
		prod := 1
		for _, d := range ds.InputShape {
			prod *= d
		}
		if prod != ds.D {
			return fmt.Errorf("%s: InputShape %v has %d values per example, want D=%d", name, ds.InputShape, prod, ds.D)
		}
	}
	for i, v := range ds.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%s: input row %d, feature %d is %v: remove or impute non-finite values", name, i/ds.D, i%ds.D, v)
		}
	}
	switch ds.Task {
	case Regression:
		if ds.T <= 0 {
			return fmt.Errorf("%s: regression with T=%d targets, want T>=1", name, ds.T)
		}
		if len(ds.Y) != ds.N*ds.T {
			return fmt.Errorf("%s: Y has %d values, want N×T = %d×%d = %d", name, len(ds.Y), ds.N, ds.T, ds.N*ds.T)
		}
		for i, v := range ds.Y {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%s: target row %d is %v: remove or impute non-finite targets", name, i/ds.T, v)
			}
		}
	case Classification:
		if ds.Classes < 2 {
			return fmt.Errorf("%s: classification with %d classes, want at least 2", name, ds.Classes)
		}
		if len(ds.Labels) != ds.N {
			return fmt.Errorf("%s: %d labels for %d examples", name, len(ds.Labels), ds.N)
		}
		for i, l := range ds.Labels {
			if l < 0 || int(l) >= ds.Classes {
				return fmt.Errorf("%s: label %d of example %d is out of range [0, %d): relabel classes as 0..%d",
					name, l, i, ds.Classes, ds.Classes-1)
			}
		}
		if len(ds.ClassNames) != 0 && len(ds.ClassNames) != ds.Classes {
			return fmt.Errorf("%s: %d class names for %d classes", name, len(ds.ClassNames), ds.Classes)
		}
	default:
		return fmt.Errorf("%s: unknown task %v", name, ds.Task)
	}
	return nil
}

// Row returns the inputs of example i (a view, not a copy).
func (ds *Dataset) Row(i int) []float32 { return ds.X[i*ds.D : (i+1)*ds.D] }
