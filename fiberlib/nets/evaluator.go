package nets

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Outputs holds network outputs for N parameter vectors and B examples, row-major [N, B, O].
type Outputs struct {
	N, B, O int
	Values  []float32
}

// At returns output k of example b under parameter vector i.
func (o Outputs) At(i, b, k int) float32 { return o.Values[(i*o.B+b)*o.O+k] }

// Row returns the O outputs of example b under parameter vector i (a view).
func (o Outputs) Row(i, b int) []float32 {
	off := (i*o.B + b) * o.O
	return o.Values[off : off+o.O]
}

// DefaultChunkValues bounds the size of one evaluation call: examples are processed in chunks such that
// N × chunk × (widest layer) stays below this many values.
const DefaultChunkValues = 1 << 24

// Evaluator runs the network's forward pass on the host's request: all N parameter vectors in one compiled
// call per chunk of examples. It is safe to reuse; each distinct (N, chunk) shape compiles once.
type Evaluator struct {
	spec   Spec
	layout *Layout
	exec   *graph.Exec
	// ChunkSize is the number of examples per call; 0 chooses it from DefaultChunkValues.
	ChunkSize int
}

// NewEvaluator compiles (lazily) the forward pass of spec on backend.
func NewEvaluator(backend compute.Backend, spec Spec) (*Evaluator, error) {
	l, err := spec.Layout()
	if err != nil {
		return nil, err
	}
	exec, err := graph.NewExec(backend, func(theta, x *graph.Node) *graph.Node { return spec.Forward(theta, x) })
	if err != nil {
		return nil, fmt.Errorf("nets.NewEvaluator: %w", err)
	}
	return &Evaluator{spec: spec, layout: l, exec: exec}, nil
}

// Spec returns the evaluator's network spec.
func (e *Evaluator) Spec() Spec { return e.spec }

// Layout returns the evaluator's layout.
func (e *Evaluator) Layout() *Layout { return e.layout }

// widest returns the largest per-example activation size of the network (for chunking).
func (s Spec) widest() int {
	w := s.InputDim() + s.Outputs
	if s.Kind == KindCNN {
		h, wd := s.InputShape[0], s.InputShape[1]
		for _, c := range s.Conv {
			w = max(w, h*wd*c.Filters*(1+c.Kernel*c.Kernel))
			if c.Pool > 1 {
				h, wd = h/c.Pool, wd/c.Pool
			}
		}
	}
	for _, h := range s.Hidden {
		w = max(w, h)
	}
	return w
}

// Evaluate returns the outputs [N, B, O] for theta, row-major [N, P] (N = len(theta)/P), on inputs x,
// row-major [B, D]. It returns an error for sizes that do not match the spec or for non-finite values.
func (e *Evaluator) Evaluate(theta, x []float32) (Outputs, error) {
	p, d := e.layout.P, e.spec.InputDim()
	if len(theta) == 0 || len(theta)%p != 0 {
		return Outputs{}, fmt.Errorf("nets.Evaluate: theta has %d values, want a multiple of P=%d (row-major [N, P])", len(theta), p)
	}
	if len(x) == 0 || len(x)%d != 0 {
		return Outputs{}, fmt.Errorf("nets.Evaluate: x has %d values, want a multiple of D=%d (row-major [B, D])", len(x), d)
	}
	if err := CheckFinite("theta", theta, p); err != nil {
		return Outputs{}, fmt.Errorf("nets.Evaluate: %w", err)
	}
	if err := CheckFinite("x", x, d); err != nil {
		return Outputs{}, fmt.Errorf("nets.Evaluate: %w", err)
	}
	n, b, o := len(theta)/p, len(x)/d, e.spec.Outputs
	chunk := e.ChunkSize
	if chunk <= 0 {
		chunk = max(1, DefaultChunkValues/(n*e.spec.widest()))
	}
	chunk = min(chunk, b)
	thetaT := tensors.FromFlatDataAndDimensions(theta, n, p)
	out := Outputs{N: n, B: b, O: o, Values: make([]float32, n*b*o)}
	xs := make([]float32, chunk*d)
	for start := 0; start < b; start += chunk {
		m := min(chunk, b-start)
		clear(xs[m*d:]) // the last chunk is padded with zeros so that every call has the same shape.
		copy(xs, x[start*d:(start+m)*d])
		res, err := e.exec.Call(thetaT, tensors.FromFlatDataAndDimensions(xs, chunk, d))
		if err != nil {
			return Outputs{}, fmt.Errorf("nets.Evaluate: %w", err)
		}
		vals := tensors.MustCopyFlatData[float32](res[0])
		res[0].FinalizeAll()
		for i := 0; i < n; i++ {
			copy(out.Values[(i*b+start)*o:(i*b+start+m)*o], vals[i*chunk*o:(i*chunk+m)*o])
		}
	}
	return out, nil
}

// CheckFinite returns an error naming the first NaN or ±Inf in v, reported as row/column of a row-major
// matrix with the given row width.
func CheckFinite(name string, v []float32, width int) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%s[%d, %d] is %v: remove or replace non-finite values", name, i/width, i%width, x)
		}
	}
	return nil
}
