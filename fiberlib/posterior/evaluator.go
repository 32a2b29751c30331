package posterior

import (
	"fmt"
	"sync"

	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Evaluator computes a Target's potential, gradient and Hessian-vector products on the host's request, for
// N parameter vectors at once, through compiled executables (compiled on first use, once per N). Parameter
// vectors are passed row-major, [N, P] as a flat []float32 of length N·P. Safe for concurrent use.
//
// Full-data evaluations (Potential, PotentialAndGrad, HVP) of N vectors on n examples run in one call while
// N·n ≤ MaxRowsPerCall; above that they are summed over chunks of B = ⌈MaxRowsPerCall/N⌉ examples, each a
// minibatch evaluation weighted by B/n. Under the Target contract (the likelihood of a minibatch is scaled
// by n/B) the weighted sum is exactly the full-data value, up to float32 summation order; the chunking
// bounds the memory of one call (activations of N·B examples) instead of N·n.
type Evaluator struct {
	target  Target
	backend compute.Backend

	mu      sync.Mutex
	execs   map[string]*Exec
	maxRows int
}

// DefaultMaxRowsPerCall is an Evaluator's initial threshold on particles × examples per compiled call
// (16384: about 2 GB of activations for the Fashion-MNIST CNN, whose full-data evaluation of 32 draws asked
// XLA for 195 GB). A chunked call holds N·⌈MaxRowsPerCall/N⌉ < MaxRowsPerCall + N rows.
const DefaultMaxRowsPerCall = 1 << 14

// SetMaxRowsPerCall sets the threshold on N·B (parameter vectors × examples) of one full-data call; k ≤ 0
// restores DefaultMaxRowsPerCall. Smaller values use less memory and make more calls.
func (e *Evaluator) SetMaxRowsPerCall(k int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if k <= 0 {
		k = DefaultMaxRowsPerCall
	}
	e.maxRows = k
}

// NewEvaluator returns an evaluator for target on backend b.
func NewEvaluator(b compute.Backend, target Target) (*Evaluator, error) {
	if b == nil || target == nil {
		return nil, fmt.Errorf("posterior.NewEvaluator: nil backend or target")
	}
	if target.NumParams() < 1 {
		return nil, fmt.Errorf("posterior.NewEvaluator: target has P=%d parameters", target.NumParams())
	}
	return &Evaluator{target: target, backend: b, execs: map[string]*Exec{}, maxRows: DefaultMaxRowsPerCall}, nil
}

// Target returns the evaluated target.
func (e *Evaluator) Target() Target { return e.target }

// exec returns (building once) the executable named kind. Its inputs are theta [N, P], the data tensors,
// then extra inputs; build receives the data nodes (the full data, or the gathered minibatch for batched
// kinds) and the extra nodes.
func (e *Evaluator) exec(kind string, numExtra int, build func(theta *Node, data, extra []*Node) []*Node) (*Exec, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ex, ok := e.execs[kind]; ok {
		return ex, nil
	}
	nd := len(e.target.Data())
	ex, err := NewExec(e.backend, func(in []*Node) []*Node {
		return build(in[0], in[1:1+nd], in[1+nd:1+nd+numExtra])
	})
	if err != nil {
		return nil, err
	}
	e.execs[kind] = ex.WithName("posterior." + kind)
	return ex, nil
}

// call runs an executable and copies its float32 outputs to the host.
func (e *Evaluator) call(ex *Exec, theta []float32, n int, extra ...any) ([][]float32, error) {
	args := []any{tensors.FromFlatDataAndDimensions(theta, n, e.target.NumParams())}
	for _, d := range e.target.Data() {
		args = append(args, d)
	}
	args = append(args, extra...)
	res, err := ex.Call(args...)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(res))
	for i, r := range res {
		out[i] = tensors.MustCopyFlatData[float32](r)
		r.FinalizeAll()
	}
	return out, nil
}

// rowsOf checks theta and returns N.
func (e *Evaluator) rowsOf(fn string, theta []float32) (int, error) {
	p := e.target.NumParams()
	if len(theta) == 0 || len(theta)%p != 0 {
		return 0, fmt.Errorf("posterior.%s: theta has %d values, want a positive multiple of P=%d (row-major [N, P])", fn, len(theta), p)
	}
	if err := nets.CheckFinite("theta", theta, p); err != nil {
		return 0, fmt.Errorf("posterior.%s: %w", fn, err)
	}
	return len(theta) / p, nil
}

// chunkSize returns the number of examples per call for N parameter vectors: NumData (one call) when
// N·NumData fits MaxRowsPerCall or the target has no data, else ⌈MaxRowsPerCall/N⌉.
func (e *Evaluator) chunkSize(n int) int {
	e.mu.Lock()
	maxRows := e.maxRows
	e.mu.Unlock()
	nd := e.target.NumData()
	if nd == 0 || len(e.target.Data()) == 0 || n*nd <= maxRows {
		return nd
	}
	return max(1, (maxRows+n-1)/n)
}

// fullData evaluates the executable kind (built by build on the full data or on gathered rows) for theta
// [n, P] on all examples: one call when they fit chunkSize, else the B/NumData-weighted sum of the outputs
// over chunks of consecutive rows. Every output must be linear in the potential (U, ∇U, ∇²U·v).
func (e *Evaluator) fullData(fn, kind string, n int, theta []float32, build func(theta *Node, data, extra []*Node) []*Node, extra ...any) ([][]float32, error) {
	nd, b := e.target.NumData(), e.chunkSize(n)
	if b >= nd {
		ex, err := e.exec(kind, len(extra), build)
		if err != nil {
			return nil, err
		}
		out, err := e.call(ex, theta, n, extra...)
		if err != nil {
			return nil, fmt.Errorf("posterior.%s: %w", fn, err)
		}
		return out, nil
	}
	ex, err := e.exec(kind+"_chunk", len(extra)+1, func(theta *Node, data, ex []*Node) []*Node {
		return build(theta, GatherRows(data, ex[len(ex)-1]), ex[:len(ex)-1])
	})
	if err != nil {
		return nil, err
	}
	var sum [][]float32
	for lo := 0; lo < nd; lo += b {
		hi := min(lo+b, nd)
		idx := make([]int32, hi-lo)
		for i := range idx {
			idx[i] = int32(lo + i)
		}
		args := append(append([]any{}, extra...), tensors.FromFlatDataAndDimensions(idx, len(idx)))
		out, err := e.call(ex, theta, n, args...)
		if err != nil {
			return nil, fmt.Errorf("posterior.%s: examples %d..%d of %d: %w", fn, lo, hi, nd, err)
		}
		w := float32(hi-lo) / float32(nd)
		if sum == nil {
			sum = make([][]float32, len(out))
			for i := range out {
				sum[i] = make([]float32, len(out[i]))
			}
		}
		for i := range out {
			for j, v := range out[i] {
				sum[i][j] += w * v
			}
		}
	}
	return sum, nil
}

// Potential returns U(θ) [N] on the full data.
func (e *Evaluator) Potential(theta []float32) ([]float32, error) {
	n, err := e.rowsOf("Potential", theta)
	if err != nil {
		return nil, err
	}
	out, err := e.fullData("Potential", "potential", n, theta, func(theta *Node, data, _ []*Node) []*Node {
		return []*Node{e.target.Potential(theta, data)}
	})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// PotentialAndGrad returns U(θ) [N] and ∇U(θ) [N, P] (row-major) on the full data.
func (e *Evaluator) PotentialAndGrad(theta []float32) (u, grad []float32, err error) {
	n, err := e.rowsOf("PotentialAndGrad", theta)
	if err != nil {
		return nil, nil, err
	}
	out, err := e.fullData("PotentialAndGrad", "potential_grad", n, theta, func(theta *Node, data, _ []*Node) []*Node {
		u, g := PotentialAndGrad(e.target, theta, data)
		return []*Node{u, g}
	})
	if err != nil {
		return nil, nil, err
	}
	return out[0], out[1], nil
}

// PotentialAndGradBatch is PotentialAndGrad on the minibatch of the given data rows (gathered on the
// device; the likelihood is scaled by NumData()/len(rows), an unbiased estimate of the full potential when
// the rows are drawn uniformly).
func (e *Evaluator) PotentialAndGradBatch(theta []float32, rows []int) (u, grad []float32, err error) {
	n, err := e.rowsOf("PotentialAndGradBatch", theta)
	if err != nil {
		return nil, nil, err
	}
	if len(e.target.Data()) == 0 {
		return nil, nil, fmt.Errorf("posterior.PotentialAndGradBatch: the target has no data to batch")
	}
	idx := make([]int32, len(rows))
	for i, r := range rows {
		if r < 0 || r >= e.target.NumData() {
			return nil, nil, fmt.Errorf("posterior.PotentialAndGradBatch: row %d out of range [0, %d)", r, e.target.NumData())
		}
		idx[i] = int32(r)
	}
	if len(idx) == 0 {
		return nil, nil, fmt.Errorf("posterior.PotentialAndGradBatch: empty batch")
	}
	ex, err := e.exec("potential_grad_batch", 1, func(theta *Node, data, extra []*Node) []*Node {
		u, g := PotentialAndGrad(e.target, theta, GatherRows(data, extra[0]))
		return []*Node{u, g}
	})
	if err != nil {
		return nil, nil, err
	}
	out, err := e.call(ex, theta, n, tensors.FromFlatDataAndDimensions(idx, len(idx)))
	if err != nil {
		return nil, nil, fmt.Errorf("posterior.PotentialAndGradBatch: %w", err)
	}
	return out[0], out[1], nil
}

// LogDensityAndGrad returns log p(θ, D) = −U(θ) [N] and its gradient [N, P] on the full data.
func (e *Evaluator) LogDensityAndGrad(theta []float32) (logp, grad []float32, err error) {
	u, g, err := e.PotentialAndGrad(theta)
	if err != nil {
		return nil, nil, err
	}
	for i := range u {
		u[i] = -u[i]
	}
	for i := range g {
		g[i] = -g[i]
	}
	return u, g, nil
}

// LogDensityAndGradBatch is LogDensityAndGrad on the minibatch of the given rows (likelihood scaled by
// NumData()/len(rows)).
func (e *Evaluator) LogDensityAndGradBatch(theta []float32, rows []int) (logp, grad []float32, err error) {
	u, g, err := e.PotentialAndGradBatch(theta, rows)
	if err != nil {
		return nil, nil, err
	}
	for i := range u {
		u[i] = -u[i]
	}
	for i := range g {
		g[i] = -g[i]
	}
	return u, g, nil
}

// HVP returns the Hessian-vector products ∇²U(θᵢ) vᵢ [N, P] on the full data, for theta and v both
// row-major [N, P] (exact second-order reverse-mode differentiation; see HVP).
func (e *Evaluator) HVP(theta, v []float32) ([]float32, error) {
	n, err := e.rowsOf("HVP", theta)
	if err != nil {
		return nil, err
	}
	if len(v) != len(theta) {
		return nil, fmt.Errorf("posterior.HVP: v has %d values, want %d like theta", len(v), len(theta))
	}
	out, err := e.fullData("HVP", "hvp", n, theta, func(theta *Node, data, extra []*Node) []*Node {
		return []*Node{HVP(e.target, theta, extra[0], data)}
	}, tensors.FromFlatDataAndDimensions(v, n, e.target.NumParams()))
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// GatherRows returns the rows idx [B] (int32) of every data node [n, ...] → [B, ...]; with idx [N, B] it
// returns per-particle minibatches [N, B, ...].
func GatherRows(data []*Node, idx *Node) []*Node {
	out := make([]*Node, len(data))
	ix := ExpandAxes(idx, -1)
	for i, d := range data {
		out[i] = Gather(d, ix)
	}
	return out
}
