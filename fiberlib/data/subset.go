package data

import (
	"errors"
	"fmt"
	"slices"
)

// Subset returns a new Dataset holding the examples idx, in that order (copies, not views). It returns an error
// when an index is out of range [0, N).
func (ds *Dataset) Subset(name string, idx []int) (*Dataset, error) {
	if ds == nil {
		return nil, errNilDataset
	}
	for k, i := range idx {
		if i < 0 || i >= ds.N {
			return nil, fmt.Errorf("%s: subset index %d (position %d) is out of range [0, %d)", ds.label(), i, k, ds.N)
		}
	}
	out := &Dataset{
		Name:       name,
		Task:       ds.Task,
		N:          len(idx),
		D:          ds.D,
		InputShape: slices.Clone(ds.InputShape),
		T:          ds.T,
		Classes:    ds.Classes,
		ClassNames: slices.Clone(ds.ClassNames),
		X:          make([]float32, 0, len(idx)*ds.D),
	}
	for _, i := range idx {
		out.X = append(out.X, ds.Row(i)...)
	}
	if ds.Task == Regression && ds.T > 0 && len(ds.Y) == ds.N*ds.T {
		out.Y = make([]float32, 0, len(idx)*ds.T)
		for _, i := range idx {
			out.Y = append(out.Y, ds.Y[i*ds.T:(i+1)*ds.T]...)
		}
	}
	if ds.Task == Classification && len(ds.Labels) == ds.N {
		out.Labels = make([]int32, len(idx))
		for k, i := range idx {
			out.Labels[k] = ds.Labels[i]
		}
	}
	return out, nil
}

// Clone returns a deep copy of ds.
func (ds *Dataset) Clone() *Dataset {
	out := *ds
	out.X = slices.Clone(ds.X)
	out.Y = slices.Clone(ds.Y)
	out.Labels = slices.Clone(ds.Labels)
	out.InputShape = slices.Clone(ds.InputShape)
	out.ClassNames = slices.Clone(ds.ClassNames)
	return &out
}

// ClassCounts returns the number of examples of each class, [Classes]. Labels out of range are not counted
// (Validate reports them).
func (ds *Dataset) ClassCounts() []int {
	counts := make([]int, max(ds.Classes, 0))
	for _, l := range ds.Labels {
		if l >= 0 && int(l) < len(counts) {
			counts[l]++
		}
	}
	return counts
}

// Concat returns the examples of a followed by those of b, named name. Both must have the same task, D, T,
// Classes and ClassNames.
func Concat(name string, a, b *Dataset) (*Dataset, error) {
	if a == nil || b == nil {
		return nil, fmt.Errorf("concat: %w", errNilDataset)
	}
	if a.Task != b.Task || a.D != b.D || a.T != b.T || a.Classes != b.Classes {
		return nil, fmt.Errorf("concat %s and %s: shapes differ (task %v/%v, D %d/%d, T %d/%d, classes %d/%d)",
			a.label(), b.label(), a.Task, b.Task, a.D, b.D, a.T, b.T, a.Classes, b.Classes)
	}
	if !slices.Equal(a.ClassNames, b.ClassNames) {
		return nil, fmt.Errorf("concat %s and %s: class names differ (%q vs %q)", a.label(), b.label(), a.ClassNames, b.ClassNames)
	}
	out := a.Clone()
	out.Name = name
	out.N = a.N + b.N
	out.X = append(out.X, b.X...)
	if a.Task == Regression {
		out.Y = append(out.Y, b.Y...)
	} else {
		out.Labels = append(out.Labels, b.Labels...)
	}
	return out, nil
}

// label returns the data set's name for messages.
// errNilDataset is the error of functions given a nil *Dataset.
var errNilDataset = errors.New("nil data set: load or build one first (e.g. with a Load function, or check the error it returned)")

func (ds *Dataset) label() string {
	if ds == nil {
		return "nil data set"
	}
	if ds.Name == "" {
		return "data set"
	}
	return ds.Name
}
