package data

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// rawLabel is one class label as read from a file, with where it came from.
type rawLabel struct {
	text   string
	source string
	line   int
}

// relabel maps the distinct labels to class indices 0..K-1 in sorted order: numerically when every label is a
// number (then each must be an integer, e.g. "1", "2.0", "1.000e+00"), as text otherwise (e.g. "b", "g").
// It returns the class index of each label and the class names (the sorted distinct labels, numbers written in
// their shortest form). This is how every loader that reads labels from text relabels them, and why
// Dataset.ClassNames exists.
func relabel(labels []rawLabel) ([]int32, []string, error) {
	if len(labels) == 0 {
		return nil, nil, fmt.Errorf("no labels")
	}
	numeric := true
	nums := make([]float64, len(labels))
	for i, l := range labels {
		v, err := strconv.ParseFloat(l.text, 64)
		if err != nil {
			numeric = false
			break
		}
		nums[i] = v
	}
	keys := make([]string, len(labels))
	if numeric {
		for i, v := range nums {
			if math.IsNaN(v) || math.IsInf(v, 0) || v != math.Trunc(v) || math.Abs(v) > 1<<31 {
				l := labels[i]
				return nil, nil, fmt.Errorf("%s:%d: class label %q is not an integer: class labels must be integers (or words)",
					l.source, l.line, clip(l.text))
			}
			if v == 0 {
				v = 0 // fold -0 into 0
			}
			keys[i] = strconv.FormatFloat(v, 'f', -1, 64)
		}
	} else {
		for i, l := range labels {
			keys[i] = l.text
		}
	}
	distinct := slices.Clone(keys)
	if numeric {
		slices.SortFunc(distinct, func(a, b string) int {
			x, _ := strconv.ParseFloat(a, 64)
			y, _ := strconv.ParseFloat(b, 64)
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		})
	} else {
		slices.Sort(distinct)
	}
	distinct = slices.Compact(distinct)
	index := make(map[string]int32, len(distinct))
	for k, name := range distinct {
		index[name] = int32(k)
	}
	out := make([]int32, len(labels))
	for i, k := range keys {
		out[i] = index[k]
	}
	return out, distinct, nil
}
