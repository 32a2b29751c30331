package flow

import (
	"os"
	"strconv"
	"testing"
)

func envF(k string, d float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(k), 64); err == nil {
		return v
	}
	return d
}

func TestDbgBanana(t *testing.T) {
	train := banana(3000, 1, 1)
	test := banana(2000, 1, 2)
	c := Coupling(os.Getenv("C"))
	f, err := Fit([]float32{0, 0}, train, SubspaceOptions{Rank: 2}, Options{Coupling: c, Seed: 3, Layers: int(envF("L", 4)), Bins: int(envF("K", 8)), Bound: envF("BD", 4)},
		TrainOptions{MaxSteps: int(envF("S", 600)), Seed: 4, LearningRate: envF("LR", 2e-3), ClipNorm: envF("CLIP", 10), BatchSize: int(envF("B", 256)), Patience: -1, CosineDecay: os.Getenv("COS") != ""})
	if err != nil {
		t.Fatal(err)
	}
	lq, _, _ := f.LogProb(test)
	nll := 0.0
	for _, v := range lq {
		nll -= float64(v)
	}
	t.Logf("%s NLL %.4f dur %v skipped %d", c, nll/float64(len(lq)), f.Report.Duration, f.Report.SkippedSteps)
	lt, _, _ := f.LogProb(train)
	nt := 0.0
	for _, v := range lt {
		nt -= float64(v)
	}
	t.Logf("NLL on all training samples %.4f", nt/float64(len(lt)))
	t.Logf("train %.3f", f.Report.TrainLoss)
	t.Logf("valid %.3f", f.Report.ValidLoss)
}
