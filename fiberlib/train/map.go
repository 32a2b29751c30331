package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Result is the outcome of MAP training.
type Result struct {
	// Theta holds the members' parameters, row-major [M, P]: the best ones by validation loss when early
	// stopping was used, else the final ones.
	Theta []float32
	// M and P are the numbers of members and parameters.
	M, P int
	// Network is the posterior that was trained (on the training rows; with σ set to the first member's
	// fitted value when FitNoise was used).
	Network *posterior.Network
	// Sigma holds each member's fitted noise scale (FitNoise), else nil.
	Sigma []float64
	// Epochs and Steps count what was run (the epochs of the longest-running member).
	Epochs, Steps int
	// EvalEpochs lists the epoch at each evaluation; TrainLoss[k][i] is member i's mean minibatch objective
	// U/n over the epochs before evaluation k; ValLoss[k][i] its mean validation NLL per example (nil
	// without validation).
	EvalEpochs []int
	TrainLoss  [][]float64
	ValLoss    [][]float64
	// BestEpoch is each member's epoch of lowest validation loss (the restored one), or the last epoch.
	BestEpoch []int
	// Stopped reports which members stopped early.
	Stopped []bool
	// Duration is the wall time of training (compilation included), of this run only when it resumed.
	Duration time.Duration
	// ResumedEpoch is the epoch at which this run resumed from Options.CheckpointPath (0: it started afresh).
	ResumedEpoch int
}

// Member returns member i's parameters (a view).
func (r *Result) Member(i int) []float32 { return r.Theta[i*r.P : (i+1)*r.P] }

// Trainer holds the compiled training computation for one network and one set of options, so that
// several runs (other seeds) reuse it without compiling again.
type Trainer struct {
	opts             Options
	net              *posterior.Network
	trainNet, valNet *posterior.Network
	st               *stepper
	valExec          *Exec
	batch            int
	stepsPerEpoch    int
	maxCall          int
}

// NewTrainer validates the options, splits off the validation rows (seeded by opts.Seed) and prepares the
// computation (compiled on the first run).
func NewTrainer(net *posterior.Network, opts Options) (*Trainer, error) {
	if net == nil {
		return nil, fmt.Errorf("train: nil network")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b := o.Backend
	if b == nil {
		if b, err = backend.New(); err != nil {
			return nil, err
		}
	}
	tr := &Trainer{opts: o, net: net}
	if tr.trainNet, tr.valNet, err = splitValidation(net, o); err != nil {
		return nil, err
	}
	n := tr.trainNet.NumData()
	tr.batch = min(o.BatchSize, n)
	tr.stepsPerEpoch = max(1, n/tr.batch)
	useWhile := gloop.UseWhile(b)
	tr.st = newStepper(b, tr.trainNet, o, tr.batch, useWhile)
	tr.st.totalSteps = o.Epochs * tr.stepsPerEpoch
	tr.maxCall = tr.stepsPerEpoch * o.EvalEvery
	if !useWhile {
		tr.maxCall = min(tr.maxCall, o.MaxUnrolledSteps)
	}
	if tr.valNet != nil {
		valNet := tr.valNet
		tr.valExec, err = NewExec(b, func(in []*Node) *Node {
			return ReduceMean(valNet.ExampleNLL(in[0], in[1:]), -1)
		})
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	return tr, nil
}

// MAP trains opts.Members independent MAP estimates of net's posterior (see the package documentation).
func MAP(net *posterior.Network, opts Options) (*Result, error) {
	tr, err := NewTrainer(net, opts)
	if err != nil {
		return nil, err
	}
	return tr.Run(tr.opts.Seed)
}

// Run trains from the initial parameters of seed (opts.Init, if given, is used instead) with minibatch
// orders drawn from seed; the validation split stays the one of opts.Seed.
//
// With Options.CheckpointPath set, Run resumes from that file when it exists (it must have been made by the
// same options, seed, network and data) and saves the run there atomically every CheckpointEvery
// evaluations and at the end; a resumed run gives bit for bit the result of an uninterrupted one (same
// backend). A member whose objective or parameters become NaN or infinite ends the run with a
// *DivergenceError naming the member and the step, and holding the last finite parameters.
func (tr *Trainer) Run(seed uint64) (*Result, error) {
	start := time.Now()
	o := tr.opts
	o.Seed = seed
	rs, err := tr.startState(o)
	if err != nil {
		return nil, err
	}
	trainNet, valExec, st := tr.trainNet, tr.valExec, tr.st
	batch, stepsPerEpoch, maxCall := tr.batch, tr.stepsPerEpoch, tr.maxCall
	m, p, n := o.Members, tr.net.NumParams(), trainNet.NumData()
	res := rs.res
	thetaT := tensors.FromFlatDataAndDimensions(rs.theta, m, p)
	mom1 := tensors.FromFlatDataAndDimensions(rs.mom1, m, p)
	mom2 := tensors.FromFlatDataAndDimensions(rs.mom2, m, p)
	tT := tensors.FromScalar(rs.t)
	active := rs.active
	rngs := make([]*rand.Rand, m)
	for i := range rngs {
		rngs[i] = rand.New(rs.rngs[i])
	}
	bad := make([]float32, m)
	for i := range bad {
		bad[i] = -1
	}
	data := trainNet.Data()
	theta := rs.theta
	evals := 0

	for epoch := res.Epochs; epoch < o.Epochs && !allStopped(active); {
		epochs := min(o.EvalEvery, o.Epochs-epoch)
		steps := stepsPerEpoch * epochs
		var perm []int32
		if batch < n {
			perm = makePerm(rngs, active, n, batch, stepsPerEpoch, epochs)
		}
		lossSum := make([]float64, m)
		for done := 0; done < steps; {
			k := min(maxCall, steps-done)
			ex, err := st.exec(k)
			if err != nil {
				return nil, err
			}
			args := []any{thetaT, mom1, mom2, tT, tensors.FromFlatDataAndDimensions(append([]float32(nil), active...), m),
				tensors.FromFlatDataAndDimensions(append([]float32(nil), bad...), m), data[0], data[1]}
			if perm != nil {
				part := make([]int32, m*k*batch)
				for i := 0; i < m; i++ {
					copy(part[i*k*batch:(i+1)*k*batch], perm[(i*steps+done)*batch:(i*steps+done+k)*batch])
				}
				args = append(args, tensors.FromFlatDataAndDimensions(part, m, k*batch))
			}
			out, err := ex.Call(args...)
			if err != nil {
				return nil, fmt.Errorf("train.MAP: step call: %w", err)
			}
			thetaT, mom1, mom2, tT = out[0], out[1], out[2], out[3]
			for i, v := range tensors.MustCopyFlatData[float32](out[4]) {
				lossSum[i] += float64(v)
			}
			bad = tensors.MustCopyFlatData[float32](out[5])
			for i, b := range bad {
				if b >= 0 {
					step := int(b)
					res.Theta = tensors.MustCopyFlatData[float32](thetaT)
					res.Duration = time.Since(start)
					return nil, &DivergenceError{Member: i, Step: step, Epoch: (step-1)/stepsPerEpoch + 1,
						LearningRate: o.LearningRate, Result: res}
				}
			}
			done += k
		}
		epoch += epochs
		res.Epochs, res.Steps = epoch, res.Steps+steps
		theta = tensors.MustCopyFlatData[float32](thetaT)
		trainLoss := make([]float64, m)
		for i := range trainLoss {
			trainLoss[i] = lossSum[i] / float64(steps)
			if active[i] == 0 {
				trainLoss[i] = math.NaN()
			}
		}
		res.EvalEpochs = append(res.EvalEpochs, epoch)
		res.TrainLoss = append(res.TrainLoss, trainLoss)
		var valLoss []float64
		if valExec != nil {
			args := []any{tensors.FromFlatDataAndDimensions(theta, m, p)}
			for _, d := range tr.valNet.Data() {
				args = append(args, d)
			}
			out, err := valExec.Call(args...)
			if err != nil {
				return nil, fmt.Errorf("train.MAP: validation: %w", err)
			}
			v := tensors.MustCopyFlatData[float32](out[0])
			valLoss = make([]float64, m)
			for i := range valLoss {
				valLoss[i] = float64(v[i])
				if active[i] == 0 {
					valLoss[i] = math.NaN()
					continue
				}
				if valLoss[i] < rs.best[i] {
					rs.best[i], rs.wait[i], res.BestEpoch[i] = valLoss[i], 0, epoch
					copy(rs.bestTheta[i*p:(i+1)*p], theta[i*p:(i+1)*p])
				} else if rs.wait[i]++; rs.wait[i] >= o.Patience {
					active[i], res.Stopped[i] = 0, true
				}
			}
			res.ValLoss = append(res.ValLoss, valLoss)
		} else {
			for i := range res.BestEpoch {
				res.BestEpoch[i] = epoch
			}
		}
		last := epoch >= o.Epochs || allStopped(active)
		if o.Progress != nil && (float64(epoch)/float64(o.Epochs) >= rs.nextProgress || last) {
			writeProgress(o, res, trainLoss, valLoss, active, time.Since(start))
			rs.nextProgress = float64(epoch)/float64(o.Epochs) + o.ProgressEvery - 1e-9
		}
		if evals++; o.CheckpointPath != "" && (evals%o.CheckpointEvery == 0 || last) {
			rs.theta = theta
			rs.mom1 = tensors.MustCopyFlatData[float32](mom1)
			rs.mom2 = tensors.MustCopyFlatData[float32](mom2)
			rs.t = tensors.MustCopyFlatData[float32](tT)[0]
			if err := tr.saveCheckpoint(o, rs); err != nil {
				return nil, err
			}
		}
	}
	if valExec != nil {
		theta = rs.bestTheta
	}
	res.Theta = theta
	if o.FitNoise {
		sig, err := posterior.FitNoise(trainNet, theta)
		if err != nil {
			return nil, fmt.Errorf("train.MAP: %w", err)
		}
		res.Sigma = sig
		if res.Network, err = trainNet.WithSigma(sig[0]); err != nil {
			return nil, err
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// DivergenceError reports a member whose training objective or parameters became NaN or infinite. The
// step that would have made them so was not applied.
type DivergenceError struct {
	// Member is the index of the first member that diverged, Step the 1-based optimiser step at which it
	// did, and Epoch the 1-based epoch holding that step.
	Member, Step, Epoch int
	// LearningRate is the learning rate of the run.
	LearningRate float64
	// Result holds the run so far: Theta has every member's parameters at the end of the executed call that
	// found the divergence, the diverged member's being its last finite ones.
	Result *Result
}

// Error names the member, the step and the fix.
func (e *DivergenceError) Error() string {
	return fmt.Sprintf("train.MAP: member %d diverged at step %d (epoch %d): its objective or parameters became NaN or infinite; "+
		"lower LearningRate (now %g), or check the data and Init for huge values (its last finite parameters are in DivergenceError.Result)",
		e.Member, e.Step, e.Epoch, e.LearningRate)
}

func allStopped(active []float32) bool {
	for _, a := range active {
		if a != 0 {
			return false
		}
	}
	return true
}

// MustMAP is MAP that panics on error; for notebooks.
func MustMAP(net *posterior.Network, opts Options) *Result {
	r, err := MAP(net, opts)
	if err != nil {
		panic(err)
	}
	return r
}

// splitValidation returns the training network and the validation network (or nil).
func splitValidation(net *posterior.Network, o Options) (trainNet, valNet *posterior.Network, err error) {
	if o.Validation != nil {
		valNet, err = net.WithData(o.Validation)
		if err != nil {
			return nil, nil, fmt.Errorf("train.MAP: validation set: %w", err)
		}
		return net, valNet, nil
	}
	if o.ValidationFraction == 0 {
		return net, nil, nil
	}
	n := net.NumData()
	nv := int(math.Round(o.ValidationFraction * float64(n)))
	if nv < 1 || nv >= n {
		return nil, nil, fmt.Errorf("train.MAP: ValidationFraction=%v of %d rows leaves %d validation and %d training rows: want at least 1 of each",
			o.ValidationFraction, n, nv, n-nv)
	}
	perm := rand.New(rand.NewPCG(o.Seed, 0x7a1)).Perm(n)
	if trainNet, err = net.Subset(perm[nv:]); err != nil {
		return nil, nil, err
	}
	if valNet, err = net.Subset(perm[:nv]); err != nil {
		return nil, nil, err
	}
	return trainNet, valNet, nil
}

// initialTheta returns the starting parameters [M, P].
func initialTheta(spec nets.Spec, o Options, m, p int) ([]float32, error) {
	if len(o.Init) == p || len(o.Init) == m*p {
		if err := nets.CheckFinite("Init", o.Init, p); err != nil {
			return nil, fmt.Errorf("train.MAP: %w", err)
		}
	}
	switch len(o.Init) {
	case 0:
		return spec.InitBatch(m, o.Seed)
	case p:
		theta := make([]float32, m*p)
		for i := 0; i < m; i++ {
			copy(theta[i*p:], o.Init)
		}
		return theta, nil
	case m * p:
		return append([]float32(nil), o.Init...), nil
	}
	return nil, fmt.Errorf("train.MAP: Init has %d values, want P=%d or M×P=%d", len(o.Init), p, m*p)
}

// makePerm draws, for each member, epochs fresh shuffles of the n rows and keeps the first
// stepsPerEpoch·B of each: [M, epochs·stepsPerEpoch·B] row-major. Stopped members draw nothing (their
// rows are zeros) so that active members' streams do not depend on when others stop.
func makePerm(rngs []*rand.Rand, active []float32, n, batch, stepsPerEpoch, epochs int) []int32 {
	m := len(rngs)
	per := epochs * stepsPerEpoch * batch
	perm := make([]int32, m*per)
	for i, rng := range rngs {
		if active[i] == 0 {
			continue
		}
		row := perm[i*per : (i+1)*per]
		for e := 0; e < epochs; e++ {
			sh := rng.Perm(n)
			for j := 0; j < stepsPerEpoch*batch; j++ {
				row[e*stepsPerEpoch*batch+j] = int32(sh[j])
			}
		}
	}
	return perm
}

func writeProgress(o Options, res *Result, trainLoss, valLoss []float64, active []float32, elapsed time.Duration) {
	mean := func(v []float64) float64 {
		s, k := 0.0, 0
		for _, x := range v {
			if !math.IsNaN(x) {
				s, k = s+x, k+1
			}
		}
		if k == 0 {
			return math.NaN()
		}
		return s / float64(k)
	}
	nAct := 0
	for _, a := range active {
		nAct += int(a)
	}
	line := fmt.Sprintf("train: epoch %d/%d  loss %.4f", res.Epochs, o.Epochs, mean(trainLoss))
	if valLoss != nil {
		line += fmt.Sprintf("  val NLL %.4f", mean(valLoss))
	}
	if res.M > 1 || valLoss != nil {
		line += fmt.Sprintf("  active %d/%d", nAct, res.M)
	}
	fmt.Fprintf(o.Progress, "%s  %.1fs\n", line, elapsed.Seconds())
}
