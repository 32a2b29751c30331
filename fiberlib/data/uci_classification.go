package data

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// uciClassSpec describes one shipped UCI classification set: its folder, files and documented shape.
type uciClassSpec struct {
	folder string
	// presplit sets: file prefix of <prefix>_X_tr.csv etc.; X/Y sets: empty.
	presplit string
	// csv sets: the one file, last column the class.
	csv        string
	d, classes int
}

var uciClassSpecs = map[string]uciClassSpec{
	"australian":    {folder: "australian_presplit", presplit: "australian_scale", d: 14, classes: 2},
	"breast_cancer": {folder: "breast_cancer_scale_presplit", presplit: "breast_cancer_scale", d: 10, classes: 2},
	"glass":         {folder: "glass", d: 9, classes: 6},
	"ionosphere":    {folder: "ionosphere", csv: "ionosphere.data", d: 34, classes: 2},
	"vehicle":       {folder: "vehicle", d: 18, classes: 4},
	"waveform":      {folder: "waveform", d: 21, classes: 3},
}

// UCIClassificationNames lists the UCI classification sets of the Laplace literature (Immer et al. 2021) that
// the reference data directory ships, by the names those papers use.
var UCIClassificationNames = []string{"australian", "breast_cancer", "glass", "ionosphere", "vehicle", "waveform"}

func uciClassLookup(dir, name string) (uciClassSpec, string, error) {
	spec, ok := uciClassSpecs[name]
	if !ok {
		return spec, "", fmt.Errorf("unknown UCI classification set %q: known sets are %s", name, strings.Join(UCIClassificationNames, ", "))
	}
	setDir, err := uciSetDir(dir, "uci-classification", spec.folder)
	return spec, setDir, err
}

// LoadUCIClassification reads every example of UCI classification set name (see UCIClassificationNames)
// under dir (the reference data directory, see Dir, or a folder holding the set's folder). For the pre-split
// sets (australian, breast_cancer) the file's training rows come first, then its test rows. Class labels are
// relabelled to 0..K-1 in sorted order (glass's, vehicle's and waveform's Y.txt already hold 0..K-1, so
// nothing changes there; ionosphere's and the pre-split sets' 0/1 stay 0/1); ClassNames keeps the labels as
// written. Features are as in the files (the pre-split sets come scaled to [-1, 1]); standardise with
// FitStandardizer on the training part.
func LoadUCIClassification(dir, name string) (*Dataset, error) {
	spec, setDir, err := uciClassLookup(dir, name)
	if err != nil {
		return nil, err
	}
	switch {
	case spec.presplit != "":
		tr, te, err := loadPresplit(spec, setDir, name)
		if err != nil {
			return nil, err
		}
		return Concat(name, tr, te)
	case spec.csv != "":
		path := filepath.Join(setDir, spec.csv)
		ds, err := LoadClassificationTable(path, ',', name)
		if err != nil {
			return nil, err
		}
		if err := checkShape(ds, path, spec.d, spec.classes); err != nil {
			return nil, err
		}
		return ds, nil
	default:
		xPath, yPath := filepath.Join(setDir, "X.txt"), filepath.Join(setDir, "Y.txt")
		ds, err := LoadXYClassification(xPath, yPath, name)
		if err != nil {
			return nil, err
		}
		if err := checkShape(ds, xPath, spec.d, spec.classes); err != nil {
			return nil, err
		}
		return ds, nil
	}
}

// LoadUCIClassificationPresplit returns the train/test split shipped with australian or breast_cancer, as
// in the files. (Immer et al. pool and re-split these too; SplitUCIClassification does that.)
func LoadUCIClassificationPresplit(dir, name string) (train, test *Dataset, err error) {
	spec, setDir, err := uciClassLookup(dir, name)
	if err != nil {
		return nil, nil, err
	}
	if spec.presplit == "" {
		return nil, nil, fmt.Errorf("%s is not shipped pre-split (only australian and breast_cancer are): use LoadUCIClassification and SplitUCIClassification", name)
	}
	return loadPresplit(spec, setDir, name)
}

func loadPresplit(spec uciClassSpec, setDir, name string) (train, test *Dataset, err error) {
	var xs [2]*Table
	var ys [2][]rawLabel
	for k, part := range []string{"tr", "te"} {
		xPath := filepath.Join(setDir, spec.presplit+"_X_"+part+".csv")
		yPath := filepath.Join(setDir, spec.presplit+"_y_"+part+".csv")
		if xs[k], err = ReadTable(xPath, 0); err != nil {
			return nil, nil, err
		}
		yb, err := readFileBytes(yPath)
		if err != nil {
			return nil, nil, err
		}
		if ys[k], err = parseLabelFile(bytes.NewReader(yb), yPath); err != nil {
			return nil, nil, err
		}
		if len(ys[k]) != xs[k].Rows {
			return nil, nil, fmt.Errorf("%s has %d rows but %s has %d labels: each row of features needs exactly one label",
				xPath, xs[k].Rows, yPath, len(ys[k]))
		}
		if xs[k].Cols != spec.d {
			return nil, nil, fmt.Errorf("%s: %d features per row, want %d for %s: wrong feature count; this is not the expected file",
				xPath, xs[k].Cols, spec.d, name)
		}
	}
	// Relabel train and test together so that both use one class numbering.
	labels, names, err := relabel(slices.Concat(ys[0], ys[1]))
	if err != nil {
		return nil, nil, err
	}
	if len(names) != spec.classes {
		return nil, nil, fmt.Errorf("%s: %d classes (%s) in the label files, want %d", setDir, len(names), strings.Join(names, ", "), spec.classes)
	}
	var out [2]*Dataset
	off := 0
	for k, part := range []string{"train", "test"} {
		t := xs[k]
		ds := &Dataset{Name: name + "/" + part, Task: Classification, N: t.Rows, D: t.Cols,
			Classes: len(names), ClassNames: slices.Clone(names), X: make([]float32, len(t.Values))}
		for i, v := range t.Values {
			ds.X[i] = float32(v)
		}
		ds.Labels = labels[off : off+t.Rows]
		off += t.Rows
		if err := ds.Validate(); err != nil {
			return nil, nil, err
		}
		out[k] = ds
	}
	return out[0], out[1], nil
}

// SplitUCIClassification splits a classification set as Immer et al. (2021) do for the UCI sets: a
// stratified 70 % / 30 % split into train and the rest, then the rest split stratified 50 / 50 into test
// and validation (so 70/15/15), all drawn with seed. The split sizes and per-class proportions follow their
// protocol; the exact rows differ from theirs (they draw with scikit-learn's generator).
func SplitUCIClassification(ds *Dataset, seed uint64) (train, valid, test *Dataset, err error) {
	train, rest, err := StratifiedSplit(ds, 0.3, seed)
	if err != nil {
		return nil, nil, nil, err
	}
	// The second split draws with a different stream so that it is not correlated with the first.
	test, valid, err = StratifiedSplit(rest, 0.5, seed^0x5bd1e995)
	if err != nil {
		return nil, nil, nil, err
	}
	train.Name, valid.Name, test.Name = ds.label()+"/train", ds.label()+"/valid", ds.label()+"/test"
	return train, valid, test, nil
}

// LoadBanana reads the 2-D banana set (toy/banana/banana.csv under dir: x1, x2, label) with its labels 1
// and 2 relabelled to classes 0 and 1 (ClassNames keeps "1", "2").
func LoadBanana(dir string) (*Dataset, error) {
	path := filepath.Join(dir, "toy", "banana", "banana.csv")
	ds, err := LoadClassificationTable(path, ',', "banana")
	if err != nil {
		return nil, err
	}
	if err := checkShape(ds, path, 2, 2); err != nil {
		return nil, err
	}
	return ds, nil
}
