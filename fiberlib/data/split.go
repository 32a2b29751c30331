package data

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// newRand returns the generator every seeded function of this package uses: PCG seeded with seed (and a fixed
// stream constant), so the same seed gives the same numbers on every platform.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

// fracTol absorbs rounding in fraction·n (0.3·10 is 3.0000000000000004 in float64, which must count as 3).
const fracTol = 1e-9

// checkFraction validates a split fraction and returns the size of the held-out part, ceil(fraction·n) as in
// scikit-learn's train_test_split, insisting that both parts are non-empty.
func checkFraction(ds *Dataset, what string, fraction float64) (int, error) {
	if !(fraction > 0 && fraction < 1) {
		return 0, fmt.Errorf("%s: %s fraction %v is not in (0, 1): pass e.g. 0.3", ds.label(), what, fraction)
	}
	held := int(math.Ceil(fraction*float64(ds.N) - fracTol))
	if held < 1 || held >= ds.N {
		return 0, fmt.Errorf("%s: %s fraction %v of %d examples leaves an empty part (%d held out): use more data or another fraction",
			ds.label(), what, fraction, ds.N, held)
	}
	return held, nil
}

// RandomSplit splits ds into two parts: ceil(testFraction·N) examples drawn uniformly at random (seeded) go to
// test, the rest to train. Both keep the original order of the examples.
func RandomSplit(ds *Dataset, testFraction float64, seed uint64) (train, test *Dataset, err error) {
	if ds == nil {
		return nil, nil, fmt.Errorf("split: %w", errNilDataset)
	}
	nTest, err := checkFraction(ds, "test", testFraction)
	if err != nil {
		return nil, nil, err
	}
	perm := newRand(seed).Perm(ds.N)
	inTest := make([]bool, ds.N)
	for _, i := range perm[:nTest] {
		inTest[i] = true
	}
	return splitByMask(ds, inTest, "train", "test")
}

// StratifiedSplit splits a classification set so that each class is divided in the same proportion:
// ceil(testFraction·N) examples go to test, and each class c contributes floor or ceil of testFraction·N_c of
// them (largest remainders get the extra ones; ties go to the lower class index). Which examples of a class
// go to test is drawn at random with seed. Both parts keep the original order of the examples.
func StratifiedSplit(ds *Dataset, testFraction float64, seed uint64) (train, test *Dataset, err error) {
	if ds == nil {
		return nil, nil, fmt.Errorf("split: %w", errNilDataset)
	}
	if ds.Task != Classification {
		return nil, nil, fmt.Errorf("%s: stratified split needs a classification set (task is %v): use RandomSplit", ds.label(), ds.Task)
	}
	if err := ds.Validate(); err != nil {
		return nil, nil, err
	}
	nTest, err := checkFraction(ds, "test", testFraction)
	if err != nil {
		return nil, nil, err
	}
	byClass := make([][]int, ds.Classes)
	for i, l := range ds.Labels {
		byClass[l] = append(byClass[l], i)
	}
	take := make([]int, ds.Classes)
	type rem struct {
		class int
		frac  float64
	}
	var rems []rem
	total := 0
	for c, members := range byClass {
		exact := testFraction * float64(len(members))
		take[c] = int(math.Floor(exact + fracTol))
		total += take[c]
		rems = append(rems, rem{c, max(exact-float64(take[c]), 0)})
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return cmp.Compare(b.frac, a.frac) })
	for k := 0; total < nTest && k < len(rems); k++ {
		if c := rems[k].class; take[c] < len(byClass[c]) {
			take[c]++
			total++
		}
	}
	r := newRand(seed)
	inTest := make([]bool, ds.N)
	for c, members := range byClass {
		shuffled := slices.Clone(members)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for _, i := range shuffled[:take[c]] {
			inTest[i] = true
		}
	}
	return splitByMask(ds, inTest, "train", "test")
}

// ValidationSplit holds out a validation part of a training set: stratified (StratifiedSplit) for
// classification, uniformly random (RandomSplit) for regression. fraction is the validation share, e.g. 0.1.
func ValidationSplit(train *Dataset, fraction float64, seed uint64) (fit, valid *Dataset, err error) {
	if train == nil {
		return nil, nil, fmt.Errorf("split: %w", errNilDataset)
	}
	if train.Task == Classification {
		fit, valid, err = StratifiedSplit(train, fraction, seed)
	} else {
		fit, valid, err = RandomSplit(train, fraction, seed)
	}
	if err != nil {
		return nil, nil, err
	}
	fit.Name, valid.Name = train.label()+"/fit", train.label()+"/valid"
	return fit, valid, nil
}

// splitByMask returns the examples with mask false and those with mask true, named <name>/<a> and <name>/<b>.
func splitByMask(ds *Dataset, mask []bool, a, b string) (*Dataset, *Dataset, error) {
	var ia, ib []int
	for i, m := range mask {
		if m {
			ib = append(ib, i)
		} else {
			ia = append(ia, i)
		}
	}
	da, err := ds.Subset(ds.label()+"/"+a, ia)
	if err != nil {
		return nil, nil, err
	}
	db, err := ds.Subset(ds.label()+"/"+b, ib)
	if err != nil {
		return nil, nil, err
	}
	return da, db, nil
}
