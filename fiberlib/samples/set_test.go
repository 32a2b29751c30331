package samples

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// small returns a 3×2 set: rows (1,2), (3,4), (5,9).
func small() *Set {
	return &Set{
		Meta:        Meta{Method: "fiber", Seed: 7, Dataset: "toy", FitSeconds: 2, SampleSeconds: 0.5, Extras: map[string]any{"eps": 0.01}},
		N:           3,
		P:           2,
		Theta:       []float32{1, 2, 3, 4, 5, 9},
		Loss:        []float32{0.1, 0.2, 0.3},
		MAP:         []float32{3, 4},
		Diagnostics: map[string][]float32{"distance": {0, 1, 2}},
	}
}

func TestValidate(t *testing.T) {
	if err := small().Validate(); err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	inf := float32(math.Inf(-1))
	cases := []struct {
		name string
		edit func(s *Set)
		frag string
	}{
		{"no samples", func(s *Set) { s.N = 0; s.Theta = nil }, "no samples (N=0)"},
		{"no params", func(s *Set) { s.P = 0 }, "no parameters (P=0)"},
		{"short theta", func(s *Set) { s.Theta = s.Theta[:5] }, "Theta has 5 values, want N×P = 3×2 = 6"},
		{"overflowing size", func(s *Set) { s.N, s.P, s.Theta = 1<<32, 1<<32, nil }, "N×P = 4294967296×4294967296 overflows"},
		{"loss length", func(s *Set) { s.Loss = s.Loss[:2] }, "Loss has 2 values, want one per sample (N=3)"},
		{"map length", func(s *Set) { s.MAP = []float32{1} }, "MAP has 1 values, want P=2"},
		{"diag length", func(s *Set) { s.Diagnostics["distance"] = nil }, `diagnostic "distance" has 0 values`},
		{"diag name", func(s *Set) { s.Diagnostics["a/b"] = []float32{1, 2, 3} }, `diagnostic name "a/b"`},
		{"nan rows", func(s *Set) { s.Theta[1] = nan; s.Theta[5] = inf }, "2 of 3 samples have NaN or infinite parameters (rows [0 2])"},
		{"nan loss", func(s *Set) { s.Loss[2] = nan }, "loss of sample 2 is NaN"},
		{"inf map", func(s *Set) { s.MAP[0] = inf }, "MAP parameter 0 is -Inf"},
		{"negative time", func(s *Set) { s.FitSeconds = -1 }, "FitSeconds is -1"},
	}
	for _, c := range cases {
		s := small()
		c.edit(s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), c.frag) || !strings.Contains(err.Error(), "fiber sample set") {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.frag)
		}
	}
	// NaN in a diagnostic is allowed (documented).
	s := small()
	s.Diagnostics["distance"][1] = nan
	if err := s.Validate(); err != nil {
		t.Errorf("NaN diagnostic rejected: %v", err)
	}
	// Many bad rows: the message lists ten and counts the rest.
	big := &Set{N: 25, P: 1, Theta: make([]float32, 25)}
	for i := range big.Theta {
		big.Theta[i] = nan
	}
	if err := big.Validate(); err == nil || !strings.Contains(err.Error(), "rows [0 1 2 3 4 5 6 7 8 9] and 15 more") {
		t.Errorf("error %v", err)
	}
}

func TestDropNonFinite(t *testing.T) {
	s := small()
	s.Theta[2] = float32(math.NaN()) // row 1
	s.Loss[2] = float32(math.Inf(1)) // row 2
	got, dropped, err := s.DropNonFinite()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dropped, []int{1, 2}) || got.N != 1 || !slices.Equal(got.Theta, []float32{1, 2}) ||
		!slices.Equal(got.Loss, []float32{0.1}) || !slices.Equal(got.Diagnostics["distance"], []float32{0}) {
		t.Fatalf("got %+v, dropped %v", got, dropped)
	}
	s.Theta[0] = float32(math.NaN())
	if _, _, err := s.DropNonFinite(); err == nil || !strings.Contains(err.Error(), "all 3 samples are non-finite") {
		t.Fatalf("error %v", err)
	}
}

func TestMeanStd(t *testing.T) {
	s := small()
	// Column 0: 1,3,5 → mean 3, deviations −2,0,2 → variance (4+0+4)/2 = 4, std 2.
	// Column 1: 2,4,9 → mean 5, deviations −3,−1,4 → variance (9+1+16)/2 = 13, std √13.
	if m := s.Mean(); !slices.Equal(m, []float32{3, 5}) {
		t.Errorf("Mean = %v, want [3 5]", m)
	}
	if sd := s.Std(); sd[0] != 2 || sd[1] != float32(math.Sqrt(13)) {
		t.Errorf("Std = %v, want [2 %v]", sd, math.Sqrt(13))
	}
	one, _ := s.Subset([]int{2})
	if sd := one.Std(); !slices.Equal(sd, []float32{0, 0}) {
		t.Errorf("Std of one sample = %v, want zeros", sd)
	}
}

func TestRowSubsetConcat(t *testing.T) {
	s := small()
	if r := s.Row(2); !slices.Equal(r, []float32{5, 9}) || cap(r) != 2 {
		t.Errorf("Row(2) = %v (cap %d)", r, cap(r))
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), "Row(3) out of range [0, 3)") {
				t.Errorf("Row(3) panic = %v", r)
			}
		}()
		s.Row(3)
	}()
	sub, err := s.Subset([]int{2, 0, 2})
	if err != nil {
		t.Fatal(err)
	}
	if sub.N != 3 || !slices.Equal(sub.Theta, []float32{5, 9, 1, 2, 5, 9}) || !slices.Equal(sub.Loss, []float32{0.3, 0.1, 0.3}) ||
		!slices.Equal(sub.Diagnostics["distance"], []float32{2, 0, 2}) || sub.Method != "fiber" {
		t.Errorf("Subset = %+v", sub)
	}
	sub.Theta[0], sub.MAP[0], sub.Extras["eps"] = -1, -1, 0.5 // the copy is independent
	if s.Theta[4] != 5 || s.MAP[0] != 3 || s.Extras["eps"] != 0.01 {
		t.Error("Subset shares memory with its source")
	}
	if _, err := s.Subset([]int{3}); err == nil || !strings.Contains(err.Error(), "index 3 out of range [0, 3)") {
		t.Errorf("Subset error %v", err)
	}
	if _, err := s.Subset(nil); err == nil {
		t.Error("empty Subset accepted")
	}

	b := small()
	b.Seed, b.FitSeconds, b.SampleSeconds = 8, 3, 2
	b.Loss = nil
	b.Diagnostics["other"] = []float32{1, 1, 1}
	c, err := Concat(s, b)
	if err != nil {
		t.Fatal(err)
	}
	// FitSeconds 2+3 = 5; SampleSeconds (3·0.5 + 3·2)/6 = 1.25; Loss dropped (b has none); only the common
	// diagnostic kept.
	if c.N != 6 || c.P != 2 || len(c.Theta) != 12 || c.Theta[6] != 1 || c.Seed != 7 || c.FitSeconds != 5 ||
		c.SampleSeconds != 1.25 || c.Loss != nil || len(c.Diagnostics) != 1 || len(c.Diagnostics["distance"]) != 6 {
		t.Errorf("Concat = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	b.Method = "hmc"
	if _, err := Concat(s, b); err == nil || !strings.Contains(err.Error(), `set 1 was drawn by "hmc", set 0 by "fiber"`) {
		t.Errorf("Concat of methods: %v", err)
	}
	b.Method, b.P, b.MAP = "fiber", 3, nil
	b.Theta = make([]float32, 9)
	if _, err := Concat(s, b); err == nil || !strings.Contains(err.Error(), "set 1 has P=3 parameters, set 0 has 2") {
		t.Errorf("Concat of P: %v", err)
	}
	if _, err := Concat(); err == nil {
		t.Error("empty Concat accepted")
	}
}

func TestNetwork(t *testing.T) {
	s := small()
	type spec struct {
		Layers []int  `json:"layers"`
		Act    string `json:"act"`
	}
	if err := s.DecodeNetwork(&spec{}); err == nil || !strings.Contains(err.Error(), "no network description") {
		t.Errorf("DecodeNetwork on empty: %v", err)
	}
	if err := s.SetNetwork(spec{Layers: []int{1, 50, 1}, Act: "tanh"}); err != nil {
		t.Fatal(err)
	}
	var got spec
	if err := s.DecodeNetwork(&got); err != nil || !slices.Equal(got.Layers, []int{1, 50, 1}) || got.Act != "tanh" {
		t.Errorf("DecodeNetwork = %+v, %v", got, err)
	}
	if err := s.SetNetwork(math.NaN()); err == nil {
		t.Error("NaN network accepted")
	}
}
