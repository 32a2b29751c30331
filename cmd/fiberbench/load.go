package main

import (
	"fmt"
	"strings"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// settingsFor returns the schedules of a study in quick or full mode.
func settingsFor(study string, quick bool) settings {
	s := settings{MAPSteps: 4000, MinEpochs: 40, Samples: 64, Members: 5, WalkSteps: 4000, Particles: 64,
		SWAGEpochs: 20, FlowSteps: 3000, Alpha: 1}
	if quick {
		s = settings{MAPSteps: 600, MinEpochs: 10, Samples: 32, Members: 5, WalkSteps: 400, Particles: 32,
			SWAGEpochs: 5, FlowSteps: 200, Alpha: 1}
	}
	if study == "fmnist" {
		s.LastLayerWalk = true
		s.MinEpochs, s.MaxEpochs = 5, 20
		if quick {
			s.MinEpochs, s.MaxEpochs = 2, 2
		}
	}
	return s
}

// setsFor returns the sets and the number of splits of a study.
func setsFor(study string, fl flags, quick bool) ([]string, int) {
	var sets []string
	splits := fl.splits
	switch study {
	case "uci-reg":
		sets = data.UCIRegressionNames
		if quick {
			sets = []string{"bostonHousing"}
		}
		if splits == 0 {
			splits = 20
		}
	case "uci-class":
		sets = data.UCIClassificationNames
		if quick {
			sets = []string{"australian"}
		}
		if splits == 0 {
			splits = 5
		}
	case "fmnist":
		sets = []string{"fmnist-mlp", "fmnist-cnn"}
		if quick {
			sets = []string{"fmnist-mlp"}
		}
		if splits == 0 {
			splits = 1
		}
	}
	if quick && fl.splits == 0 {
		splits = 1
	}
	if fl.sets != "" {
		var keep []string
		for _, s := range strings.Split(fl.sets, ",") {
			for _, known := range allSets(study) {
				if s == known {
					keep = append(keep, s)
				}
			}
		}
		sets = keep
	}
	return sets, splits
}

func allSets(study string) []string {
	switch study {
	case "uci-reg":
		return data.UCIRegressionNames
	case "uci-class":
		return data.UCIClassificationNames
	}
	return []string{"fmnist-mlp", "fmnist-cnn"}
}

// loadProblem loads split k of a set, standardised on its training part, with the study's network.
func loadProblem(study, set string, k int, fl flags) (*problem, error) {
	p := &problem{study: study, set: set, split: k, seed: fl.seed*1000 + uint64(k)}
	act := nets.Tanh
	if fl.act == "relu" {
		act = nets.ReLU
	}
	switch study {
	case "uci-reg":
		proto, err := data.LoadUCIRegressionProtocol(fl.dataDir, set)
		if err != nil {
			return nil, err
		}
		if k >= proto.NSplits {
			return nil, fmt.Errorf("%s has %d splits; split %d asked", set, proto.NSplits, k)
		}
		train, test, err := data.LoadUCIRegression(fl.dataDir, set, k)
		if err != nil {
			return nil, err
		}
		std, sets, err := data.Standardize(train, test)
		if err != nil {
			return nil, err
		}
		p.std, p.train, p.test = std, sets[0], sets[1]
		p.spec = nets.MLP(p.train.D, []int{proto.NHidden}, 1, act)
	case "uci-class":
		ds, err := data.LoadUCIClassification(fl.dataDir, set)
		if err != nil {
			return nil, err
		}
		train, valid, test, err := data.SplitUCIClassification(ds, p.seed)
		if err != nil {
			return nil, err
		}
		_, sets, err := data.Standardize(train, valid, test)
		if err != nil {
			return nil, err
		}
		p.train, p.valid, p.test = sets[0], sets[1], sets[2]
		p.spec = nets.MLP(p.train.D, []int{50}, p.train.Classes, nets.Tanh)
	case "fmnist":
		return loadFMNIST(p, set, fl)
	default:
		return nil, fmt.Errorf("unknown study %q", study)
	}
	return p, nil
}

// loadFMNIST loads a seeded subset of Fashion-MNIST (train) and the first rows of its test set and of MNIST's.
func loadFMNIST(p *problem, set string, fl flags) (*problem, error) {
	quick := fl.mode == "quick"
	nTrain, nTest := fl.fmnistTrain, fl.fmnistTest
	if nTrain == 0 {
		nTrain = map[bool]int{true: 1000, false: 10000}[quick]
	}
	if nTest == 0 {
		nTest = map[bool]int{true: 1000, false: 10000}[quick]
	}
	train, test, err := data.LoadFashionMNIST(data.FashionMNISTOptions{NoDownload: true})
	if err != nil {
		return nil, err
	}
	mnist, err := data.LoadMNISTTest(fl.dataDir)
	if err != nil {
		return nil, err
	}
	if train, err = firstRows(train, nTrain, p.seed); err != nil {
		return nil, err
	}
	if test, err = firstRows(test, nTest, 0); err != nil {
		return nil, err
	}
	if mnist, err = firstRows(mnist, nTest, 0); err != nil {
		return nil, err
	}
	fit, valid, err := data.ValidationSplit(train, 0.1, p.seed)
	if err != nil {
		return nil, err
	}
	p.train, p.valid, p.test, p.ood = fit, valid, test, mnist
	if set == "fmnist-cnn" {
		p.spec = nets.SmallCNN(28, 28, 1, 10)
	} else {
		// tanh, the activation of the UCI networks (the first runs could not walk ReLU networks; nets fixed that
		// since, in commit 42f42eb).
		p.spec = nets.MLP(784, []int{100}, 10, nets.Tanh)
	}
	return p, nil
}

// firstRows keeps n rows: a seeded random subset (seed > 0) or the first n (seed 0).
func firstRows(ds *data.Dataset, n int, seed uint64) (*data.Dataset, error) {
	if n >= ds.N {
		return ds, nil
	}
	if seed == 0 {
		rows := make([]int, n)
		for i := range rows {
			rows[i] = i
		}
		return posterior.SubsetRows(ds, rows)
	}
	_, sub, err := data.RandomSplit(ds, float64(n)/float64(ds.N), seed)
	return sub, err
}
