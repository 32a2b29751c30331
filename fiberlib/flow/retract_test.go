package flow

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// gaussianSamples draws n points of N(0, diag(sd²)) [n, len(sd)].
func gaussianSamples(n int, sd []float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, 0, n*len(sd))
	for i := 0; i < n; i++ {
		for _, s := range sd {
			x = append(x, float32(s*rng.NormFloat64()))
		}
	}
	return x
}

// SampleOnLevels against the closed form for U = ½ θᵀAθ (no data, so ℓ = U): along a ray U(sΔ) = s²U(Δ),
// hence s = √(L/U(Δ)). The draws before the move are those of Sample with the same seed. A level below
// U(θ*) = 0 leaves the draw at θ*.
func TestSampleOnLevelsClosedForm(t *testing.T) {
	target, err := posterior.NewGaussian([]float32{0, 0, 0}, [][]float32{{4, 1, 0}, {1, 2, 0}, {0, 0, 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Fit([]float32{0, 0, 0}, gaussianSamples(400, []float64{0.5, 1, 2}, 1), SubspaceOptions{Rank: 3},
		Options{Coupling: Affine, Layers: 2, Hidden: []int{8}, Seed: 2}, TrainOptions{MaxSteps: 100, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	levels := []float32{0.25, 1, 4, 30, -1}
	const n = 200
	d, err := f.SampleOnLevels(target, n, 5, LevelOptions{Levels: levels})
	if err != nil {
		t.Fatal(err)
	}
	plain := f.MustSample(n, 5)
	u := func(x []float32) float64 {
		a := [3][3]float64{{4, 1, 0}, {1, 2, 0}, {0, 0, 0.5}}
		s := 0.0
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				s += 0.5 * float64(x[i]) * a[i][j] * float64(x[j])
			}
		}
		return s
	}
	seen := map[float32]int{}
	for i := 0; i < n; i++ {
		lv := float64(d.Level[i])
		seen[d.Level[i]]++
		want := math.Sqrt(max(lv, 0) / u(plain.Theta[3*i:3*i+3]))
		got := u(d.Theta[3*i : 3*i+3])
		if math.Abs(float64(d.RayScale[i])-want) > 1e-4*want+1e-6 || math.Abs(got-max(lv, 0)) > 1e-4*max(lv, 1) ||
			math.Abs(float64(d.Loss[i])-got) > 1e-4*max(got, 1) {
			t.Fatalf("draw %d: level %g: scale %g (want %g), U %g (reported %g)", i, lv, d.RayScale[i], want, got, d.Loss[i])
		}
		for k := 0; k < 3; k++ {
			if c := d.Coords[3*i+k]; math.Abs(float64(c-d.RayScale[i]*plain.Coords[3*i+k])) > 1e-5*(1+math.Abs(float64(c))) {
				t.Fatalf("draw %d: coordinate %d is %g, want the scaled %g", i, k, c, d.RayScale[i]*plain.Coords[3*i+k])
			}
		}
	}
	if len(seen) != len(levels) {
		t.Errorf("levels used: %v, want all %d", seen, len(levels))
	}
	if _, err := f.SampleOnLevels(target, 4, 1, LevelOptions{}); err == nil {
		t.Error("no levels (a flow fitted with Fit, not FitSamples): no error")
	}
	if _, err := f.SampleOnLevels(target, 4, 1, LevelOptions{Levels: []float32{float32(math.NaN())}}); err == nil {
		t.Error("a NaN level: no error")
	}
}

// TargetLevel calibrates λ so that E_q[U] reaches the target: samples of N(0, I₂) have E[U] = 1 under
// U = ½‖θ‖²; asking for 0.5 or 0.75 must shrink the flow's draws until their mean potential is about that
// (within 15 %: the multiplicative dual ascent settles slowly). For q = N(0, vI) the optimum of
// NLL + λE_q[U] has 1/v − 1/v² + λ = 0: λ = 1.5 for E_q[U] = v = 0.5, λ = 0.44 for 0.75.
func TestTargetLevelCalibratesLambda(t *testing.T) {
	target, err := posterior.NewGaussian([]float32{0, 0}, [][]float32{{1, 0}, {0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	x := gaussianSamples(1000, []float64{1, 1}, 11)
	for _, level := range []float64{0.5, 0.75} {
		f, err := Fit([]float32{0, 0}, x, SubspaceOptions{Rank: 2}, Options{Coupling: Affine, Layers: 2, Hidden: []int{16}, Seed: 2},
			TrainOptions{MaxSteps: 1000, Seed: 3, Target: target, TargetLevel: level, PotentialSamples: 128, Patience: -1, LambdaRate: 1})
		if err != nil {
			t.Fatal(err)
		}
		d := f.MustSample(4000, 9)
		m := 0.0
		for i := 0; i < d.N; i++ {
			m += 0.5 * (float64(d.Theta[2*i])*float64(d.Theta[2*i]) + float64(d.Theta[2*i+1])*float64(d.Theta[2*i+1])) / float64(d.N)
		}
		t.Logf("target %.2f: E_q[U] = %.3f, λ = %.3f (trace %.3v)", level, m, f.Report.Lambda, f.Report.LambdaTrace)
		if math.Abs(m-level) > 0.15*level {
			t.Errorf("target level %.2f: the draws' mean potential is %.3f", level, m)
		}
		if len(f.Report.LambdaTrace) != f.Report.Steps/100 || len(f.Report.LevelTrace) != len(f.Report.LambdaTrace) {
			t.Errorf("traces: %d λ, %d levels for %d steps", len(f.Report.LambdaTrace), len(f.Report.LevelTrace), f.Report.Steps)
		}
	}
	if _, err := Fit([]float32{0, 0}, x, SubspaceOptions{Rank: 2}, Options{}, TrainOptions{Target: target, TargetLevel: -1}); err == nil {
		t.Error("a target level below the loss at θ*: no error")
	}
}
