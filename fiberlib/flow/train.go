package flow

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TrainReport tells how a fit went.
type TrainReport struct {
	// Steps is the number of Adam steps run (a multiple of StepsPerCall).
	Steps int
	// BestStep is the step after which the kept (best held-out) parameters were reached.
	BestStep int
	// NumTrain and NumValid are the sizes of the training and held-out splits.
	NumTrain, NumValid int
	// TrainLoss holds the mean training loss of each call (StepsPerCall steps), ValidLoss the held-out
	// loss after each call.
	TrainLoss, ValidLoss []float64
	// BestValidLoss is the held-out loss of the kept parameters (for a flow: the held-out negative
	// log-likelihood per sample, in nats, of the subspace coordinates, plus the potential term if λ > 0).
	BestValidLoss float64
	// SkippedSteps counts steps whose loss or gradient was not finite; their update was skipped.
	SkippedSteps int
	// NonFiniteStep, when > 0, is the first step (1-based, counted over the whole run) whose loss, gradient
	// or update was not finite: training stopped there, and the parameters of the calls before (the best
	// held-out ones among them) are kept; the call holding that step is dropped.
	NonFiniteStep int
	// EarlyStopped is true when training stopped because the held-out loss stopped improving.
	EarlyStopped bool
	// Lambda is the potential's weight λ at the end (TrainOptions.Lambda, or the adapted value when
	// TrainOptions.TargetLevel is set); LambdaTrace and LevelTrace hold, per call, the adapted λ and the
	// draws' mean per-datum loss E_q[ℓ] that set it (TargetLevel only).
	Lambda                  float64
	LambdaTrace, LevelTrace []float64
	// Duration is the wall time of the fit, compilation included.
	Duration time.Duration
}

// objective is what trainAdam minimises.
type objective struct {
	// loss builds the minibatch loss (a scalar) from params [nParams], a batch [B, dim] of training rows,
	// the RNG state (for reparameterised draws) and the extra constants; it returns an auxiliary scalar
	// averaged over each call (the draws' mean per-datum potential, or a zero) and the new RNG state.
	loss func(params, batch, rng *Node, consts []*Node) (loss, aux, newRNG *Node)
	// valid builds the mean held-out loss (a scalar) over valid [Nv, dim].
	valid func(params, valid *Node, consts []*Node) *Node
	// adapt, when not nil, updates the scalar constant consts[adaptIdx] (the potential's weight λ) between
	// calls from the call's mean aux value; it returns the new value.
	adapt    func(meanAux, current float64) float64
	adaptIdx int
}

// split shuffles the n rows (seeded) and holds out a fraction of them. With groups (one label per row),
// whole groups are held out, in a seeded order, until the fraction is reached: rows of one group (the
// snapshots of one walk particle, one chain) are correlated, and a held-out row whose group sits in the
// training set rewards a density that memorises the group instead of generalising.
func split(n int, frac float64, seed uint64, groups []int) (train, valid []int) {
	rng := rand.New(rand.NewPCG(seed, 0x5851f42d4c957f2d))
	if groups == nil {
		perm := rng.Perm(n)
		nv := int(math.Round(frac * float64(n)))
		nv = max(1, min(nv, n-1))
		return perm[nv:], perm[:nv]
	}
	var labels []int
	rows := map[int][]int{}
	for i, g := range groups {
		if _, ok := rows[g]; !ok {
			labels = append(labels, g)
		}
		rows[g] = append(rows[g], i)
	}
	want := max(1, int(math.Round(frac*float64(n))))
	held := map[int]bool{}
	for _, k := range rng.Perm(len(labels)) {
		if len(valid) >= want || len(valid)+len(rows[labels[k]]) >= n {
			break
		}
		held[labels[k]] = true
		valid = append(valid, rows[labels[k]]...)
	}
	for i := range n {
		if !held[groups[i]] {
			train = append(train, i)
		}
	}
	return train, valid
}

// checkGroups checks TrainOptions.Groups against n samples.
func checkGroups(groups []int, n int) error {
	if groups == nil {
		return nil
	}
	if len(groups) != n {
		return fmt.Errorf("flow: TrainOptions.Groups has %d labels for %d samples: give one label per sample (or nil)", len(groups), n)
	}
	for _, g := range groups[1:] {
		if g != groups[0] {
			return nil
		}
	}
	return fmt.Errorf("flow: TrainOptions.Groups gives all %d samples the same label %d: whole groups are held out, so at least two are needed (or set Groups to nil)", n, groups[0])
}

// gatherRows copies rows idx of x [*, dim] into a new [len(idx), dim] slice.
func gatherRows(x []float32, dim int, idx []int) []float32 {
	out := make([]float32, 0, len(idx)*dim)
	for _, i := range idx {
		out = append(out, x[i*dim:(i+1)*dim]...)
	}
	return out
}

// batchStream yields minibatch indices epoch by epoch, each epoch a fresh permutation.
type batchStream struct {
	rng  *rand.Rand
	n    int
	perm []int
	pos  int
}

func (s *batchStream) table(steps, batch int) []int32 {
	t := make([]int32, 0, steps*batch)
	for len(t) < steps*batch {
		if s.pos >= len(s.perm) {
			s.perm, s.pos = s.rng.Perm(s.n), 0
		}
		t = append(t, int32(s.perm[s.pos]))
		s.pos++
	}
	return t
}

// trainAdam minimises obj over params, starting from init, with Adam on minibatches of train [Nt, dim],
// StepsPerCall steps per compiled call, and early stopping on valid [Nv, dim]. It returns the parameters
// with the best held-out loss. With o.CheckpointPath it saves its whole state atomically every
// CheckpointEvery calls, at the end and when o.Context is cancelled, and resumes from an existing checkpoint
// of the same run with the same numbers as an uninterrupted run.
func trainAdam(b compute.Backend, init []float32, train, valid []float32, dim int, consts []*tensors.Tensor,
	obj objective, o TrainOptions) ([]float32, TrainReport, error) {
	start := time.Now()
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	nt, nv := len(train)/dim, len(valid)/dim
	rep := TrainReport{NumTrain: nt, NumValid: nv, BestValidLoss: math.Inf(1), Lambda: o.Lambda}
	bs := min(o.BatchSize, nt)
	spc := min(o.StepsPerCall, o.MaxSteps)
	calls := (o.MaxSteps + spc - 1) / spc
	totalSteps := float64(calls * spc)
	useWhile := gloop.UseWhile(b)
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	lr, clip, cosine, nanAt := o.LearningRate, o.ClipNorm, o.CosineDecay, o.nanAtStep

	// The training graph's main function holds nothing but the loop: GoMLX v0.28.2 caches scalar
	// constants per graph, not per function, so a scalar built outside the While body and reused inside
	// (or the reverse) fails to compile. The held-out loss is therefore a separate executable.
	// State: params, m, v, t, rng, loss sum, skipped steps, aux sum, first non-finite step (−1: none).
	// Constants: batch table, training rows, the call's first step, extra constants.
	exec, err := NewExec(b, func(g *Graph, in []*Node) []*Node {
		loopConsts := append([]*Node{in[9], in[10], in[11]}, in[12:]...)
		return gloop.Repeat(spc, useWhile, loopConsts, in[:9], func(step *Node, c, s []*Node) []*Node {
			params, m, v, t, rng, lossAcc, skipped, auxAcc, firstBad := s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8]
			g := params.Graph()
			row := Gather(c[0], step) // [bs] (Gather, not DynamicSlice: the Go backend lacks the latter)
			batch := Gather(c[1], Reshape(row, bs, 1))
			global := Add(c[2], ConvertDType(AddScalar(step, 1), dtypes.Float32)) // 1-based step of the run
			loss, aux, newRNG := obj.loss(params, batch, rng, c[3:])
			if nanAt > 0 { // test hook: a NaN loss at one step
				loss = Where(Equal(global, Scalar(g, dtypes.Float32, float64(nanAt))), Scalar(g, dtypes.Float32, math.NaN()), loss)
			}
			grad := Gradient(loss, params)[0]
			gnorm := Sqrt(ReduceAllSum(Square(grad)))
			ok := LogicalAnd(IsFinite(loss), IsFinite(gnorm))
			if clip > 0 {
				grad = Mul(grad, MinScalar(Div(Scalar(g, dtypes.Float32, clip), MaxScalar(gnorm, 1e-12)), 1))
			}
			t1 := AddScalar(t, 1)
			rate := Scalar(g, dtypes.Float32, lr)
			if cosine {
				rate = MulScalar(AddScalar(Cos(MulScalar(t, math.Pi/totalSteps)), 1), 0.5*lr)
			}
			m1 := Add(MulScalar(m, beta1), MulScalar(grad, 1-beta1))
			v1 := Add(MulScalar(v, beta2), MulScalar(Square(grad), 1-beta2))
			corr := Div(Sqrt(OneMinus(Pow(Scalar(g, dtypes.Float32, beta2), t1))),
				OneMinus(Pow(Scalar(g, dtypes.Float32, beta1), t1)))
			p1 := Sub(params, Mul(Mul(rate, corr), Div(m1, AddScalar(Sqrt(v1), eps))))
			p1ok := IsFinite(ReduceAllSum(p1))
			ok = LogicalAnd(ok, p1ok)
			keep := func(newV, oldV *Node) *Node { return Where(ok, newV, oldV) }
			zero := ZerosLike(loss)
			return []*Node{keep(p1, params), keep(m1, m), keep(v1, v), keep(t1, t), newRNG,
				Add(lossAcc, Where(ok, loss, zero)),
				Add(skipped, Where(ok, zero, OnesLike(loss))),
				Add(auxAcc, Where(ok, aux, ZerosLike(aux))),
				Where(LogicalAnd(LogicalNot(ok), LessThan(firstBad, zero)), global, firstBad)}
		})
	})
	if err != nil {
		return nil, rep, fmt.Errorf("flow: building the training step: %w", err)
	}
	defer exec.Finalize()
	validExec, err := NewExec(b, func(g *Graph, in []*Node) []*Node {
		return []*Node{obj.valid(in[0], in[1], in[2:])}
	})
	if err != nil {
		return nil, rep, fmt.Errorf("flow: building the held-out loss: %w", err)
	}
	defer validExec.Finalize()

	rngState, err := RNGStateFromSeed(int64(o.Seed))
	if err != nil {
		return nil, rep, err
	}
	zeros := make([]float32, len(init))
	validT := tensors.FromFlatDataAndDimensions(valid, nv, dim)
	const nState, firstConst = 9, 12
	args := []any{vec(init), vec(zeros), vec(zeros), float32(0), rngState, float32(0), float32(0), float32(0), float32(-1),
		nil, tensors.FromFlatDataAndDimensions(train, nt, dim), float32(0)}
	vargs := []any{nil, validT}
	for _, c := range consts {
		args = append(args, c)
		vargs = append(vargs, c)
	}
	pcg := rand.NewPCG(o.Seed, 0xda3e39cb94b95bdb)
	stream := &batchStream{rng: rand.New(pcg), n: nt}
	best := append([]float32(nil), init...)
	bad, firstCall := 0, 0
	setLambda := func(lam float64) {
		args[firstConst+obj.adaptIdx] = float32(lam)
		vargs[2+obj.adaptIdx] = float32(lam)
	}

	ck := checkpointer{path: o.CheckpointPath, every: o.CheckpointEvery,
		fingerprint: runFingerprint(init, train, valid, dim, o, spc, calls, bs)}
	if ck.path != "" {
		st, err := ck.load()
		if err != nil {
			return nil, rep, err
		}
		if st != nil { // resume
			args[0], args[1], args[2], args[3] = vec(st.Params), vec(st.M), vec(st.V), st.T
			if args[4], err = rngTensor(st.RNG); err != nil {
				return nil, rep, err
			}
			if err := pcg.UnmarshalBinary(st.PCG); err != nil {
				return nil, rep, fmt.Errorf("flow: checkpoint %s: batch stream: %w", ck.path, err)
			}
			stream.perm, stream.pos = st.Perm, st.Pos
			best, bad, firstCall, rep = st.Best, st.Bad, st.Calls, st.Report
			if obj.adapt != nil {
				setLambda(rep.Lambda)
			}
		}
	}
	save := func(call int) error {
		if ck.path == "" {
			return nil
		}
		rep.Duration = time.Since(start) + ck.before
		pcgState, err := pcg.MarshalBinary()
		if err != nil {
			return err
		}
		return ck.save(&trainState{Calls: call, T: scalar32(args[3]), RNG: uint64s(args[4]), Params: floats(args[0]),
			M: floats(args[1]), V: floats(args[2]), PCG: pcgState, Perm: stream.perm, Pos: stream.pos, Best: best,
			Bad: bad, Report: rep})
	}
	validAt := func(params any) (float64, error) {
		vargs[0] = params
		vout, err := validExec.Call(vargs...)
		if err != nil {
			return 0, err
		}
		return float64(vout[0].Value().(float32)), nil
	}
	done := rep.EarlyStopped || rep.NonFiniteStep > 0
	for call := firstCall; call < calls && !done; call++ {
		if err := ctx.Err(); err != nil {
			if serr := save(call); serr != nil {
				return nil, rep, serr
			}
			return nil, rep, fmt.Errorf("flow: training interrupted after %d steps (checkpoint %q): %w", rep.Steps, ck.path, err)
		}
		args[5], args[6], args[7], args[8] = float32(0), float32(0), float32(0), float32(-1)
		args[9] = tensors.FromFlatDataAndDimensions(stream.table(spc, bs), spc, bs)
		args[11] = float32(call * spc)
		out, err := exec.Call(args...)
		if err != nil {
			return nil, rep, fmt.Errorf("flow: training call %d: %w", call, err)
		}
		if fb := out[8].Value().(float32); fb >= 0 {
			// A non-finite loss, gradient or update: this call's results are dropped, the best parameters
			// so far are kept.
			rep.NonFiniteStep = int(fb)
			rep.Steps += spc
			break
		}
		for i := 0; i < 5; i++ {
			args[i] = out[i]
		}
		rep.Steps += spc
		skipped := int(out[6].Value().(float32))
		rep.SkippedSteps += skipped
		trainLoss := float64(out[5].Value().(float32)) / float64(max(spc-skipped, 1))
		if obj.adapt != nil {
			// A new λ changes the objective: the kept parameters are compared with the current ones under
			// the new λ.
			aux := float64(out[7].Value().(float32)) / float64(max(spc-skipped, 1))
			lam := obj.adapt(aux, rep.Lambda)
			rep.Lambda = lam
			rep.LambdaTrace = append(rep.LambdaTrace, lam)
			rep.LevelTrace = append(rep.LevelTrace, aux)
			setLambda(lam)
			if !math.IsInf(rep.BestValidLoss, 1) {
				if rep.BestValidLoss, err = validAt(vec(best)); err != nil {
					return nil, rep, fmt.Errorf("flow: held-out loss after call %d: %w", call, err)
				}
			}
		}
		validLoss, err := validAt(out[0])
		if err != nil {
			return nil, rep, fmt.Errorf("flow: held-out loss after call %d: %w", call, err)
		}
		rep.TrainLoss = append(rep.TrainLoss, trainLoss)
		rep.ValidLoss = append(rep.ValidLoss, validLoss)
		if validLoss < rep.BestValidLoss {
			rep.BestValidLoss, rep.BestStep, bad = validLoss, rep.Steps, 0
			best = append(best[:0], out[0].Value().([]float32)...)
		} else {
			bad++
			if o.Patience > 0 && bad >= o.Patience {
				rep.EarlyStopped = true
				done = true
			}
		}
		if o.Progress != nil {
			o.Progress(rep)
		}
		if ck.path != "" && (done || call+1 == calls || (call+1-firstCall)%ck.every == 0) {
			if err := save(call + 1); err != nil {
				return nil, rep, err
			}
		}
	}
	if rep.NonFiniteStep > 0 {
		if err := save(calls); err != nil {
			return nil, rep, err
		}
	}
	rep.Duration = time.Since(start) + ck.before
	if math.IsInf(rep.BestValidLoss, 1) {
		return nil, rep, fmt.Errorf("flow: the held-out loss was never finite in %d steps (last %v, first non-finite step %d): lower LearningRate or check the samples",
			rep.Steps, rep.ValidLoss, rep.NonFiniteStep)
	}
	return best, rep, nil
}
