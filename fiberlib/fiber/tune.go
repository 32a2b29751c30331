package fiber

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// Power-iteration settings for LambdaMax.
const (
	lambdaProbes     = 4    // independent start vectors, iterated together as a particle axis
	lambdaIterations = 20   // iterations; the Rayleigh quotient converges from below
	lambdaMaxRows    = 2048 // the Hessian is estimated on at most this many data rows (a seeded subset)
)

// LambdaMax estimates the largest eigenvalue of the Hessian of the per-datum loss ℓ = U/n at theta [P],
// restricted to the parameters where mask [P] is 1 (nil: all), by power iteration with exact
// Hessian-vector products (gradient of gradient), on at most 2048 data rows. It returns the largest
// Rayleigh quotient of 4 probes after 20 iterations, which approaches λ_max from below.
func LambdaMax(b compute.Backend, target posterior.Target, theta []float32, mask []float32, seed int64) (float64, error) {
	p := target.NumParams()
	if len(theta) != p {
		return 0, fmt.Errorf("fiber.LambdaMax: theta has %d values, the target has %d parameters", len(theta), p)
	}
	if mask == nil {
		mask = make([]float32, p)
		for i := range mask {
			mask[i] = 1
		}
	}
	if len(mask) != p {
		return 0, fmt.Errorf("fiber.LambdaMax: mask has %d values, want %d", len(mask), p)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6c616d626461)) // "lambda"
	v0 := make([]float32, lambdaProbes*p)
	for i := range v0 {
		v0[i] = float32(rng.NormFloat64()) * mask[i%p]
	}
	n := target.NumData()
	var rows []int32
	if n > lambdaMaxRows {
		perm := rng.Perm(n)[:lambdaMaxRows]
		rows = make([]int32, len(perm))
		for i, r := range perm {
			rows[i] = int32(r)
		}
	}
	args := []any{theta, mask, tensors.FromFlatDataAndDimensions(v0, lambdaProbes, p)}
	for _, d := range target.Data() {
		args = append(args, d)
	}
	lam, err := powerIteration(b, target, rows, args, true)
	if err != nil {
		// Some ops have no second-order gradient in GoMLX (Slice's gradient is a Pad, which has none):
		// fall back to central differences of the gradient.
		var errFD error
		lam, errFD = powerIteration(b, target, rows, args, false)
		if errFD != nil {
			return 0, fmt.Errorf("fiber.LambdaMax: %w (set Options.Eta and Options.Epsilon to skip it)", errFD)
		}
	}
	return lam, nil
}

// powerIteration runs the power iteration, with exact Hessian-vector products (gradient of the gradient)
// or central differences of the gradient, h = 1e-3·max(1, ‖θ‖_rms) (exact = false).
func powerIteration(b compute.Backend, target posterior.Target, rows []int32, args []any, exact bool) (float64, error) {
	p := target.NumParams()
	n := target.NumData()
	var rms float64
	for _, v := range args[0].([]float32) {
		rms += float64(v) * float64(v)
	}
	h := 1e-3 * math.Max(1, math.Sqrt(rms/float64(p)))
	useWhile := gloop.UseWhile(b)
	exec, err := NewExec(b, func(inputs []*Node) *Node {
		thetaStar, m, v := inputs[0], inputs[1], inputs[2]
		data := inputs[3:]
		if rows != nil {
			idx := Reshape(Const(thetaStar.Graph(), rows), len(rows), 1)
			sub := make([]*Node, len(data))
			for i, d := range data {
				sub[i] = Gather(d, idx)
			}
			data = sub
		}
		// On a subset of B rows the target scales the likelihood by n/B, so U/n stays the per-datum loss.
		inv := 1.0 / float64(max(n, 1))
		hvp := func(th, mk, vec *Node, d []*Node) *Node {
			x := BroadcastToDims(ExpandAxes(th, 0), lambdaProbes, p)
			mk = ExpandAxes(mk, 0)
			if !exact {
				_, gp := posterior.PotentialAndGrad(target, Add(x, MulScalar(vec, h)), d)
				_, gm := posterior.PotentialAndGrad(target, Sub(x, MulScalar(vec, h)), d)
				return Mul(MulScalar(Sub(gp, gm), inv/(2*h)), mk)
			}
			_, g := posterior.PotentialAndGrad(target, x, d)
			g = Mul(g, mk)
			return Mul(MulScalar(Gradient(ReduceAllSum(Mul(g, StopGradient(vec))), x)[0], inv), mk)
		}
		// Everything, the final Rayleigh quotient included, happens inside the loop body: see the note on
		// stepper.chunk about reductions and While loops in go-xla.
		consts := append([]*Node{thetaStar, m}, data...)
		lam0 := Scalar(thetaStar.Graph(), dtypes.Float32, 0)
		out := gloop.Repeat(lambdaIterations, useWhile, consts, []*Node{v, lam0}, func(_ *Node, c, s []*Node) []*Node {
			u := unitOrZero(s[0])
			hu := hvp(c[0], c[1], u, c[2:])
			return []*Node{hu, ReduceAllMax(rowDot(u, hu))}
		})
		return out[1]
	})
	if err != nil {
		return 0, err
	}
	defer exec.Finalize()
	out, err := callSafe(exec, args...)
	if err != nil {
		return 0, err
	}
	v := out[0].Value().(float32)
	if math.IsNaN(float64(v)) {
		return 0, fmt.Errorf("fiber.LambdaMax: the power iteration gave NaN")
	}
	return float64(v), nil
}
