package data

import (
	"math"
	"testing"
)

func TestStandardizeByHand(t *testing.T) {
	// Column 0: 1, 3 → mean 2, population std 1. Column 1: constant 5 → scale 1. Column 2: binary 0/1.
	// Targets 10, 30 → mean 20, std 10.
	train := &Dataset{Name: "h", Task: Regression, N: 2, D: 3, T: 1, X: []float32{1, 5, 0, 3, 5, 1}, Y: []float32{10, 30}}
	test := &Dataset{Name: "h/test", Task: Regression, N: 1, D: 3, T: 1, X: []float32{4, 6, 1}, Y: []float32{0}}
	s, out, err := Standardize(train, test)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{-1, 0, -1, 1, 0, 1}
	for i, v := range want {
		if out[0].X[i] != v {
			t.Fatalf("train X = %v, want %v", out[0].X, want)
		}
	}
	// Test rows use the training statistics: (4−2)/1, (6−5)/1, (1−0.5)/0.5.
	if x := out[1].X; x[0] != 2 || x[1] != 1 || x[2] != 1 || out[1].Y[0] != -2 {
		t.Fatalf("test X %v Y %v", x, out[1].Y)
	}
	if s.TargetShift(0) != 20 || s.TargetScale(0) != 10 || !approx(s.LogTargetScale(), math.Log(10), 1e-12) {
		t.Fatalf("target shift/scale %v %v", s.TargetShift(0), s.TargetScale(0))
	}
	// The input sets are untouched.
	if train.X[0] != 1 || train.Y[0] != 10 {
		t.Fatal("Standardize modified its input")
	}
	// KeepBinaryInputs leaves column 2; KeepTargets leaves Y.
	s2, err := FitStandardizer(train, StandardizeOptions{KeepBinaryInputs: true, KeepTargets: true})
	if err != nil {
		t.Fatal(err)
	}
	if s2.XShift[2] != 0 || s2.XScale[2] != 1 || s2.XShift[0] != 2 || s2.YShift[0] != 0 || s2.YScale[0] != 1 {
		t.Fatalf("keep options: %+v", s2)
	}
	wrong := &Dataset{Name: "w", Task: Regression, N: 1, D: 2, T: 1, X: []float32{1, 2}, Y: []float32{0}}
	_, err = s.Transform(wrong)
	wantErr(t, err, "D=2", "fitted on D=3")
	_, err = s.InverseTargets([]float32{1, 2, 3})
	if err != nil {
		t.Fatal(err) // T=1: any length is fine
	}
}

// TestStandardizeUCI fits on Boston's training split 0: the standardised training inputs and targets have
// mean 0 and (population) standard deviation 1 per column, the inverse returns the original numbers, and a
// Gaussian NLL computed in standardised units plus log(scale) equals the NLL in original units.
func TestStandardizeUCI(t *testing.T) {
	dir := dataDir(t)
	train, test, err := LoadUCIRegression(dir, "bostonHousing", 0)
	if err != nil {
		t.Fatal(err)
	}
	s, out, err := Standardize(train, test)
	if err != nil {
		t.Fatal(err)
	}
	trS, teS := out[0], out[1]
	check := func(v []float32, n, d int, what string) {
		for j := 0; j < d; j++ {
			var m, sq float64
			for i := 0; i < n; i++ {
				m += float64(v[i*d+j])
			}
			m /= float64(n)
			for i := 0; i < n; i++ {
				dv := float64(v[i*d+j]) - m
				sq += dv * dv
			}
			sd := math.Sqrt(sq / float64(n))
			if math.Abs(m) > 1e-5 || math.Abs(sd-1) > 1e-5 {
				t.Fatalf("%s column %d: mean %g std %g after standardising, want 0 and 1", what, j, m, sd)
			}
		}
	}
	check(trS.X, trS.N, trS.D, "inputs")
	check(trS.Y, trS.N, trS.T, "targets")
	// Round trip on the test split (never used for fitting).
	back, err := s.Inverse(teS)
	if err != nil {
		t.Fatal(err)
	}
	for i := range test.X {
		if !approx(float64(back.X[i]), float64(test.X[i]), 1e-5*(1+math.Abs(float64(test.X[i])))) {
			t.Fatalf("inverse X[%d] = %v, want %v", i, back.X[i], test.X[i])
		}
	}
	yBack, err := s.InverseTargets(teS.Y)
	if err != nil {
		t.Fatal(err)
	}
	for i := range test.Y {
		if !approx(float64(yBack[i]), float64(test.Y[i]), 1e-4) {
			t.Fatalf("inverse Y[%d] = %v, want %v", i, yBack[i], test.Y[i])
		}
	}
	// NLL of a Gaussian predictive N(μ, σ²), μ = 0.3 and σ = 0.7 in standardised units, per test point.
	const mu, sigma = 0.3, 0.7
	gaussNLL := func(y, m, sd float64) float64 {
		return 0.5*math.Log(2*math.Pi*sd*sd) + (y-m)*(y-m)/(2*sd*sd)
	}
	sc, sh := s.TargetScale(0), s.TargetShift(0)
	var nllStd, nllOrig, sqStd, sqOrig float64
	for i := range teS.Y {
		nllStd += gaussNLL(float64(teS.Y[i]), mu, sigma)
		nllOrig += gaussNLL(float64(test.Y[i]), mu*sc+sh, sigma*sc)
		sqStd += math.Pow(float64(teS.Y[i])-mu, 2)
		sqOrig += math.Pow(float64(test.Y[i])-(mu*sc+sh), 2)
	}
	n := float64(teS.N)
	if got, want := s.NLLToOriginal(nllStd/n), nllOrig/n; !approx(got, want, 1e-5) {
		t.Fatalf("NLL in original units %v, want %v", got, want)
	}
	rmse, err := s.RMSEToOriginal(math.Sqrt(sqStd / n))
	if err != nil || !approx(rmse, math.Sqrt(sqOrig/n), 1e-4) {
		t.Fatalf("RMSE in original units %v, want %v (%v)", rmse, math.Sqrt(sqOrig/n), err)
	}
	stds, _ := s.InverseTargetStd([]float32{sigma})
	if !approx(float64(stds[0]), sigma*sc, 1e-5) {
		t.Fatalf("inverse std %v, want %v", stds[0], sigma*sc)
	}
	// Boston's CHAS column (3) is binary; KeepBinaryInputs keeps it as 0/1.
	sb, _ := FitStandardizer(train, StandardizeOptions{KeepBinaryInputs: true})
	if sb.XShift[3] != 0 || sb.XScale[3] != 1 || sb.XScale[0] == 1 {
		t.Fatalf("CHAS kept? shift %v scale %v; CRIM scale %v", sb.XShift[3], sb.XScale[3], sb.XScale[0])
	}
}
