package flow

import (
	"fmt"
	"math"
	"slices"

	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// levelMover is the level step of CorrectToFiber: it moves draws along the fiber-tangent part of ∇U onto
// per-datum loss levels.
type levelMover struct {
	target  OutputTarget
	center  []float32
	getExec execCache
	tag     string
	idx     *tensors.Tensor // pinned rows [m, 1]
	fm      *tensors.Tensor // θ*'s outputs on them [m·O]
	m, nOut int
	o       CorrectOptions
}

// priorTarget is a target with a separate log prior (posterior.Network): its second level direction is the
// prior's gradient; other targets use ∇U.
type priorTarget interface {
	LogPrior(theta *Node) *Node
}

// levelBrackets are the multiples of a direction's first step estimate tried, in order, until ℓ crosses
// the level: the first crossing brackets the root.
var levelBrackets = []float64{0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32}

// move moves each draw of th [s, P] onto its level lv [s] along a line θ + t·d on which the outputs change
// only at second order: d = P·v with P = I − Jᵀ(J Jᵀ + λI)⁻¹J (J the Jacobian of the pinned outputs, λ
// the corrector's damping; the directions that move the outputs projected out). Two directions are tried,
// in order:
//
//   - radial, v = θ − θ*: the draw's displacement along the fiber is scaled, as the walk's particles move
//     away from θ* along it; first step from quadratic growth, ℓ(θ* + s·u) − ℓ* ≈ s²(ℓ(θ) − ℓ*);
//   - prior, v = −∇log p(θ) (∇U for targets without a separate prior), for draws whose radial line never
//     crosses the level (a draw still far off the fiber, whose loss rises both ways); first step
//     (L − ℓ)·n/dᵀd, which can only overestimate the step (dᵀd ≤ vᵀPv, the term's rate along d).
//
// The root of ℓ(θ + t·d) = L is bracketed by the first crossing among multiples of the first step and
// refined by the Illinois method. It returns the moved draws [s·P], when withShift each draw's RMS output
// shift on the pinned rows afterwards, and whether each draw reached its level (one that did not stays at
// the point of its lines closest to it).
func (l *levelMover) move(th *tensors.Tensor, lv []float32, withShift bool) (moved, shift []float32, reached []bool, err error) {
	target, o := l.target, l.o
	s, p := len(lv), target.NumParams()
	m, nOut := l.m, l.nOut
	nd := float64(target.NumData())
	data := target.Data()
	dirExec, err := l.getExec(fmt.Sprintf("correct-dir/%s/%d/%d/%g/%d", l.tag, s, m, o.Damping, o.CGIterations), func(g *Graph, in []*Node) []*Node {
		theta, center, idx, dn := in[0], in[1], in[2], in[3:]
		xm := Gather(dn[0], idx)
		_, jac := fiberJacobian(target, theta, xm, s, m, nOut, p)
		u, grad := posterior.PotentialAndGrad(target, theta, dn)
		prior := grad
		if pt, ok := target.(priorTarget); ok { // the prior's gradient where it is not zero (flat prior: ∇U)
			pg := Neg(Gradient(ReduceAllSum(pt.LogPrior(theta)), theta)[0])
			prior = Where(GreaterThan(ReduceSum(Square(pg), -1), ZerosLike(u)), pg, grad)
		}
		lam := dampedDiag(jac, MulScalar(OnesLike(u), o.Damping))
		project := func(v *Node) *Node {
			return Sub(v, Einsum("smp,sm->sp", jac, dampedSolve(jac, lam, Einsum("smp,sp->sm", jac, v), o.CGIterations)))
		}
		dr, dp := project(Sub(theta, ExpandAxes(center, 0))), project(prior)
		lc := DivScalar(target.Potential(ExpandAxes(center, 0), dn), nd)
		return []*Node{dr, dp, ReduceSum(Square(dp), -1), DivScalar(u, nd), lc}
	})
	if err != nil {
		return nil, nil, nil, err
	}
	lineExec, err := l.getExec(fmt.Sprintf("correct-line/%s/%d", l.tag, s), func(g *Graph, in []*Node) []*Node {
		theta := Add(in[0], Mul(in[1], ExpandAxes(in[2], 1)))
		return []*Node{DivScalar(target.Potential(theta, in[3:]), nd)}
	})
	if err != nil {
		return nil, nil, nil, err
	}
	args := append([]any{th, vec(l.center), l.idx}, anySlice(data)...)
	res, err := dirExec.Call(args...)
	if err != nil {
		return nil, nil, nil, err
	}
	dirs := [][]float32{flat32(res[0]), flat32(res[1])}
	ddp, l0, lc := flat32(res[2]), flat32(res[3]), float64(flat32(res[4])[0])
	// f(t) = ℓ(θ + t·d) − level for every draw at once, d [s·P] one direction per draw.
	f := func(d []float32, t []float64) ([]float64, error) {
		tt := make([]float32, s)
		for i, v := range t {
			tt[i] = float32(v)
		}
		r, err := lineExec.Call(append([]any{th, tensors.FromFlatDataAndDimensions(d, s, p), vec(tt)}, anySlice(data)...)...)
		if err != nil {
			return nil, err
		}
		out := make([]float64, s)
		for i, v := range flat32(r[0]) {
			out[i] = float64(v) - float64(lv[i])
		}
		return out, nil
	}
	f0 := make([]float64, s)
	first := [2][]float64{make([]float64, s), make([]float64, s)} // first step estimates, radial and prior
	for i := range f0 {
		f0[i] = float64(l0[i]) - float64(lv[i])
		if math.IsNaN(f0[i]) || f0[i] == 0 {
			continue
		}
		up, have := float64(lv[i])-lc, float64(l0[i])-lc
		switch {
		case have > 0 && up > 0:
			first[0][i] = math.Sqrt(up/have) - 1
		case f0[i] < 0:
			first[0][i] = 1
		default:
			first[0][i] = -0.5
		}
		if ddp[i] > 0 {
			first[1][i] = -f0[i] * nd / float64(ddp[i])
		}
	}
	// Per draw: the chosen direction (0 radial, 1 prior), the best point seen, the bracket.
	which := make([]int, s)
	bestT, bestF, bestW := make([]float64, s), slices.Clone(f0), make([]int, s)
	lo, flo := make([]float64, s), slices.Clone(f0)
	hi, fhi := make([]float64, s), make([]float64, s)
	bracketed := make([]bool, s)
	t := make([]float64, s)
	for w := 0; w < 2; w++ {
		for i := range which {
			if !bracketed[i] {
				which[i], lo[i], flo[i] = w, 0, f0[i]
			}
		}
		for _, c := range levelBrackets {
			for i := range t {
				t[i] = c * first[w][i]
			}
			v, err := f(dirs[w], t)
			if err != nil {
				return nil, nil, nil, err
			}
			for i := range v {
				if bracketed[i] || first[w][i] == 0 || math.IsNaN(v[i]) {
					continue
				}
				if math.Abs(v[i]) < math.Abs(bestF[i]) {
					bestT[i], bestF[i], bestW[i] = t[i], v[i], w
				}
				if (v[i] > 0) != (f0[i] > 0) || v[i] == 0 {
					bracketed[i], hi[i], fhi[i] = true, t[i], v[i]
				} else {
					lo[i], flo[i] = t[i], v[i]
				}
			}
		}
	}
	// The line of each draw: its bracketing direction, or the one with its best point.
	line := make([]float32, s*p)
	for i := range which {
		if !bracketed[i] {
			which[i] = bestW[i]
		} else if bestW[i] != which[i] { // best point from the other line: restart it on this one
			bestT[i], bestF[i] = lo[i], flo[i]
			if math.Abs(fhi[i]) < math.Abs(flo[i]) {
				bestT[i], bestF[i] = hi[i], fhi[i]
			}
		}
		copy(line[i*p:(i+1)*p], dirs[which[i]][i*p:(i+1)*p])
	}
	// Illinois (modified regula falsi) inside each bracket.
	side := make([]int, s)
	for k := 0; k < levelSearchIterations; k++ {
		for i := range t {
			t[i] = bestT[i]
			if bracketed[i] && fhi[i] != flo[i] {
				t[i] = (lo[i]*fhi[i] - hi[i]*flo[i]) / (fhi[i] - flo[i])
			}
		}
		v, err := f(line, t)
		if err != nil {
			return nil, nil, nil, err
		}
		for i := range v {
			if !bracketed[i] || math.IsNaN(v[i]) {
				continue
			}
			if math.Abs(v[i]) < math.Abs(bestF[i]) {
				bestT[i], bestF[i] = t[i], v[i]
			}
			if (v[i] > 0) == (fhi[i] > 0) { // the root lies between lo and t
				hi[i], fhi[i] = t[i], v[i]
				if side[i] == -1 {
					flo[i] /= 2
				}
				side[i] = -1
			} else {
				lo[i], flo[i] = t[i], v[i]
				if side[i] == 1 {
					fhi[i] /= 2
				}
				side[i] = 1
			}
		}
	}
	moved = make([]float32, s*p)
	reached = make([]bool, s)
	base := flat32(th)
	for i := 0; i < s; i++ {
		reached[i] = bracketed[i] || f0[i] == 0
		for j := 0; j < p; j++ {
			moved[i*p+j] = base[i*p+j] + float32(bestT[i])*line[i*p+j]
		}
	}
	if i := firstNonFinite(moved); i >= 0 {
		return nil, nil, nil, fmt.Errorf("draw %d became non-finite: raise CorrectOptions.Damping", i/p)
	}
	if !withShift {
		return moved, nil, reached, nil
	}
	shift, err = l.shift(moved, s)
	return moved, shift, reached, err
}

// shift returns each draw's RMS output difference from θ* on the pinned rows, for thetas [s·P].
func (l *levelMover) shift(thetas []float32, s int) ([]float32, error) {
	target, m, mo := l.target, l.m, l.m*l.nOut
	e, err := l.getExec(fmt.Sprintf("correct-shift/%s/%d/%d", l.tag, s, m), func(g *Graph, in []*Node) []*Node {
		xm := Gather(in[3], in[2])
		r := Sub(Reshape(target.Outputs(in[0], xm), s, mo), ExpandAxes(in[1], 0))
		return []*Node{Sqrt(DivScalar(ReduceSum(Square(r), -1), float64(mo)))}
	})
	if err != nil {
		return nil, err
	}
	res, err := e.Call(tensors.FromFlatDataAndDimensions(thetas, s, target.NumParams()), l.fm, l.idx, target.Data()[0])
	if err != nil {
		return nil, err
	}
	return flat32(res[0]), nil
}

func anySlice(ts []*tensors.Tensor) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}
