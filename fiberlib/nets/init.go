package nets

import (
	"fmt"
	"math/rand/v2"
)

// Init returns one initial parameter vector θ [P] for the given seed: biases 0, weights drawn from a normal
// distribution with He standard deviation √(2/fan_in) for ReLU, GELU and SiLU hidden layers and Glorot
// √(2/(fan_in+fan_out)) otherwise (tanh, sigmoid, ... and the output layer). The same seed gives the same
// vector on every machine (PCG stream (seed, 0) of math/rand/v2).
func (s Spec) Init(seed uint64) ([]float32, error) {
	l, err := s.Layout()
	if err != nil {
		return nil, err
	}
	theta := make([]float32, l.P)
	s.initInto(l, theta, rand.New(rand.NewPCG(seed, 0)))
	return theta, nil
}

// InitBatch returns n initial parameter vectors, row-major [n, P]. Row i is drawn from the PCG stream
// (seed, i), so row 0 equals Init(seed) and each row is independent of n.
func (s Spec) InitBatch(n int, seed uint64) ([]float32, error) {
	if n < 1 {
		return nil, fmt.Errorf("nets.InitBatch: n=%d, want >= 1", n)
	}
	l, err := s.Layout()
	if err != nil {
		return nil, err
	}
	theta := make([]float32, n*l.P)
	for i := 0; i < n; i++ {
		s.initInto(l, theta[i*l.P:(i+1)*l.P], rand.New(rand.NewPCG(seed, uint64(i))))
	}
	return theta, nil
}

// MustInit is Init that panics on an invalid spec; for notebooks.
func (s Spec) MustInit(seed uint64) []float32 {
	theta, err := s.Init(seed)
	if err != nil {
		panic(err)
	}
	return theta
}

func (s Spec) initInto(l *Layout, theta []float32, rng *rand.Rand) {
	act := s.activation()
	for _, t := range l.Tensors {
		dst := theta[t.Offset : t.Offset+t.Size]
		if t.Bias {
			clear(dst)
			continue
		}
		std := initStd(t, act)
		for i := range dst {
			dst[i] = float32(rng.NormFloat64() * std)
		}
	}
}
