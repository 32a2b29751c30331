package main

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
	"github.com/fiberbnn/fiberbnn/fiberlib/flow"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/predict"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
)

// allMethods lists the method IDs in table order; methodNames gives their display names.
var allMethods = []string{"map", "la-ll-glm", "la-ll-nn", "la-kron-glm", "la-kron-nn", "la-diag-glm", "la-diag-nn", "ens", "swag", "fiber", "flow", "flow-fiber"}

var methodNames = map[string]string{
	"map":         "MAP",
	"la-ll-glm":   "Laplace last-layer full, GLM",
	"la-ll-nn":    "Laplace last-layer full, NN-MC",
	"la-kron-glm": "Laplace last-layer K-FAC, GLM",
	"la-kron-nn":  "Laplace last-layer K-FAC, NN-MC",
	"la-diag-glm": "Laplace all-weights diag, GLM",
	"la-diag-nn":  "Laplace all-weights diag, NN-MC",
	"ens":         "Deep ensemble (5)",
	"swag":        "SWAG (low-rank)",
	"fiber":       "Fiber walk",
	"flow":        "Fiber walk + flow",
	"flow-fiber":  "Fiber walk + flow, on the fiber",
}

func methodRank(m string) int {
	for i, id := range allMethods {
		if id == m {
			return i
		}
	}
	return len(allMethods)
}

func displayName(m string) string {
	if n, ok := methodNames[m]; ok {
		return n
	}
	return m
}

// settings are the schedules of one run (quick or full).
type settings struct {
	// MAPSteps is the target number of optimiser steps of a MAP (epochs = max(MinEpochs, MAPSteps/(n/B))).
	MAPSteps, MinEpochs, MaxEpochs int
	// Samples is the number of parameter draws of the sampling predictives.
	Samples int
	// Members of the deep ensemble.
	Members int
	// WalkSteps and Particles of the fiber walk.
	WalkSteps, Particles int
	// SWAGEpochs of the SWAG phase.
	SWAGEpochs int
	// FlowSteps is the flow's largest number of Adam steps.
	FlowSteps int
	// Alpha is the prior precision on standardised data.
	Alpha float64
	// LastLayerWalk walks only the output layer (images).
	LastLayerWalk bool
	// WalkBatch is the walk's minibatch size (0: full batch).
	WalkBatch int
	// SWAGLRFraction is SWAG's learning rate as a fraction of the stability limit (0: the package default).
	SWAGLRFraction float64
}

// override applies the budget flags (0 keeps the mode's default).
func (s settings) override(fl flags) settings {
	set := func(dst *int, v int) {
		if v > 0 {
			*dst = v
		}
	}
	set(&s.WalkSteps, fl.walkSteps)
	set(&s.Particles, fl.particles)
	set(&s.WalkBatch, fl.walkBatch)
	set(&s.FlowSteps, fl.flowSteps)
	set(&s.Members, fl.members)
	set(&s.MAPSteps, fl.mapSteps)
	set(&s.SWAGEpochs, fl.swagEpochs)
	set(&s.Samples, fl.samples)
	if fl.swagLRFraction > 0 {
		s.SWAGLRFraction = fl.swagLRFraction
	}
	return s
}

// budget states the schedule a method runs with, recorded in its cell (runs resumed with other flags can mix
// budgets; the cost table shows them).
func (s settings) budget(method string) string {
	walk := fmt.Sprintf("walk %d×%d", s.Particles, s.WalkSteps)
	if s.WalkBatch > 0 {
		walk += fmt.Sprintf(" batch %d", s.WalkBatch)
	}
	if s.LastLayerWalk {
		walk += " last layer"
	}
	switch method {
	case "map", "la-ll-glm", "la-kron-glm", "la-diag-glm":
		return fmt.Sprintf("MAP ≥%d steps", s.MAPSteps)
	case "la-ll-nn", "la-kron-nn", "la-diag-nn":
		return fmt.Sprintf("MAP ≥%d steps, %d draws", s.MAPSteps, s.Samples)
	case "ens":
		return fmt.Sprintf("%d members", s.Members)
	case "swag":
		if s.SWAGLRFraction > 0 {
			return fmt.Sprintf("%d epochs, %d draws, lr fraction %g", s.SWAGEpochs, s.Samples, s.SWAGLRFraction)
		}
		return fmt.Sprintf("%d epochs, %d draws", s.SWAGEpochs, s.Samples)
	case "fiber":
		return walk
	case "flow":
		return fmt.Sprintf("%s, flow ≤%d steps, %d draws", walk, s.FlowSteps, s.Samples)
	case "flow-fiber":
		return fmt.Sprintf("%s, flow ≤%d steps, %d draws on the fiber and levels", walk, s.FlowSteps, s.Samples)
	}
	return ""
}

// fits caches what several methods of one split share: the MAP and the walk.
type fits struct {
	p   *problem
	cfg settings

	mapDone bool
	mapNet  *posterior.Network
	theta   []float32
	mapSec  float64
	mapGE   int64
	mapErr  error

	walkDone bool
	walk     *fiber.Result
	walkSec  float64
	walkErr  error

	flow    *flow.Flow // fitted on the walk's samples, shared by "flow" and "flow-fiber"
	flowSec float64
	flowN   int

	head *headProblem // the last-layer walk's head-only posterior (images)

	laplaces map[string]*laplace.Laplace
	laSec    map[string]float64
}

func (f *fits) batch(n int) int {
	if n >= 2000 {
		return 128
	}
	return 32
}

func (f *fits) epochs(n int) int {
	steps := n / f.batch(n)
	if steps < 1 {
		steps = 1
	}
	e := (f.cfg.MAPSteps + steps - 1) / steps
	if e < f.cfg.MinEpochs {
		e = f.cfg.MinEpochs
	}
	if f.cfg.MaxEpochs > 0 && e > f.cfg.MaxEpochs {
		e = f.cfg.MaxEpochs
	}
	return e
}

// trainMAP trains m members: for regression twice (σ = 1, then σ fitted by maximum likelihood, from the first
// round's parameters), for classification once with early stopping on the validation split.
func (f *fits) trainMAP(m int, seed uint64) (*posterior.Network, *train.Result, int64, error) {
	p := f.p
	net, err := posterior.NewNetwork(p.spec, p.train, posterior.NetworkOptions{Sigma: 1, PriorPrecision: f.cfg.Alpha})
	if err != nil {
		return nil, nil, 0, err
	}
	opts := train.Options{
		Optimizer: train.Adam, LearningRate: 1e-2, Schedule: train.CosineLR,
		BatchSize: f.batch(p.train.N), Epochs: f.epochs(p.train.N), Members: m, Seed: seed,
	}
	var ge int64
	if p.train.Task == data.Classification {
		opts.LearningRate = 3e-3
		if p.valid != nil {
			opts.Validation = p.valid
			opts.Patience = 10
			opts.EvalEvery = max(1, opts.Epochs/50)
		}
		r, err := train.MAP(net, opts)
		if err != nil {
			return nil, nil, 0, err
		}
		return r.Network, r, int64(r.Steps * m), nil
	}
	opts.FitNoise = true
	r, err := train.MAP(net, opts)
	if err != nil {
		return nil, nil, 0, err
	}
	ge += int64(r.Steps * m)
	sig := math.Max(meanOf(r.Sigma), 1e-3)
	net2, err := net.WithSigma(sig)
	if err != nil {
		return nil, nil, 0, err
	}
	opts.Init = r.Theta
	opts.LearningRate = 3e-3
	r2, err := train.MAP(net2, opts)
	if err != nil {
		return nil, nil, 0, err
	}
	r2.Duration += r.Duration
	ge += int64(r2.Steps * m)
	return r2.Network, r2, ge, nil
}

func (f *fits) getMAP() error {
	if f.mapDone {
		return f.mapErr
	}
	f.mapDone = true
	t0 := time.Now()
	net, r, ge, err := f.trainMAP(1, f.p.seed)
	f.mapSec = time.Since(t0).Seconds()
	if err != nil {
		f.mapErr = fmt.Errorf("MAP: %w", err)
		return f.mapErr
	}
	if f.p.train.Task == data.Regression {
		if net, err = net.WithSigma(math.Max(r.Sigma[0], 1e-3)); err != nil {
			f.mapErr = err
			return err
		}
	}
	f.mapNet, f.theta, f.mapGE = net, r.Member(0), ge
	return nil
}

func (f *fits) getWalk() error {
	if f.walkDone {
		return f.walkErr
	}
	f.walkDone = true
	if err := f.getMAP(); err != nil {
		f.walkErr = err
		return err
	}
	steps := f.cfg.WalkSteps
	opts := fiber.Options{
		Seed: int64(f.p.seed), Steps: steps, Particles: f.cfg.Particles,
		RecordEvery: steps / 40, KeepEvery: steps / 8, KeepAfter: steps / 2, BatchSize: f.cfg.WalkBatch,
	}
	b, err := backend.New()
	if err != nil {
		f.walkErr = err
		return err
	}
	t0 := time.Now()
	var target posterior.Target = f.mapNet
	start := f.theta
	if f.cfg.LastLayerWalk {
		hp, err := f.getHead()
		if err != nil {
			f.walkErr = fmt.Errorf("walk: %w", err)
			return f.walkErr
		}
		target, start = hp.net, hp.theta
	}
	f.walk, f.walkErr = fiber.Walk(context.Background(), b, target, start, opts)
	f.walkSec = time.Since(t0).Seconds()
	if f.walkErr != nil {
		f.walkErr = fmt.Errorf("walk: %w", f.walkErr)
	}
	return f.walkErr
}

func (f *fits) getLaplace(id string) (*laplace.Laplace, error) {
	if la, ok := f.laplaces[id]; ok {
		return la, nil
	}
	if err := f.getMAP(); err != nil {
		return nil, err
	}
	opts := laplace.Options{SubsetOfWeights: laplace.LastLayer, HessianStructure: laplace.Full}
	switch id {
	case "diag":
		opts = laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: laplace.Diag}
	case "kron":
		opts = laplace.Options{SubsetOfWeights: laplace.LastLayer, HessianStructure: laplace.Kron}
	}
	t0 := time.Now()
	la, err := laplace.Fit(f.mapNet, f.theta, opts)
	if err != nil {
		return nil, fmt.Errorf("laplace %s: %w", id, err)
	}
	if f.laplaces == nil {
		f.laplaces, f.laSec = map[string]*laplace.Laplace{}, map[string]float64{}
	}
	f.laplaces[id], f.laSec[id] = la, time.Since(t0).Seconds()
	return la, nil
}

// run runs one method and returns its cell; a panic inside becomes the cell's error.
func (f *fits) run(method string) (c cell) {
	p := f.p
	c = cell{Study: p.study, Set: p.set, Split: p.split, Method: method, GradEvals: -1}
	defer func() {
		if r := recover(); r != nil {
			c.Error = fmt.Sprintf("panic: %v", r)
			fmt.Fprintf(logw, "%s\n", debug.Stack())
		}
		c.PeakRSSMiB, c.HeapMiB = memory()
	}()
	pred, err := f.fit(method, &c)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	c.Metrics, c.PredictSeconds, c.OOD, err = p.evaluate(pred)
	if err != nil {
		c.Error = err.Error()
	}
	return c
}

// fit fits a method (reusing the MAP and the walk) and fills in its costs.
func (f *fits) fit(method string, c *cell) (predictor, error) {
	S := f.cfg.Samples
	switch method {
	case "map":
		if err := f.getMAP(); err != nil {
			return nil, err
		}
		c.FitSeconds, c.TotalSeconds, c.GradEvals, c.Samples = f.mapSec, f.mapSec, f.mapGE, 1
		if f.mapNet.Likelihood == posterior.GaussianLikelihood {
			c.Notes = fmt.Sprintf("σ=%.4g", f.mapNet.Sigma)
		}
		return sampled(f.mapNet, f.theta), nil
	case "la-ll-glm", "la-ll-nn", "la-kron-glm", "la-kron-nn", "la-diag-glm", "la-diag-nn":
		kind := strings.Split(method, "-")[1] // ll, kron or diag
		la, err := f.getLaplace(kind)
		if err != nil {
			return nil, err
		}
		c.FitSeconds = f.laSec[kind]
		c.TotalSeconds, c.GradEvals = c.FitSeconds+f.mapSec, f.mapGE
		c.Notes = fmt.Sprintf("α=%.4g", la.PriorPrecision())
		po := laplace.PredictOptions{PredType: laplace.GLM, Seed: f.p.seed}
		if strings.HasSuffix(method, "-nn") {
			po = laplace.PredictOptions{PredType: laplace.NN, Samples: S, Seed: f.p.seed}
			c.Samples = S
		}
		return func(x []float32) (*laplace.Predictive, error) { return la.Predictive(x, po) }, nil
	case "ens":
		t0 := time.Now()
		net, r, ge, err := f.trainMAP(f.cfg.Members, f.p.seed+7919)
		if err != nil {
			return nil, fmt.Errorf("ensemble: %w", err)
		}
		c.FitSeconds = time.Since(t0).Seconds()
		c.TotalSeconds, c.GradEvals, c.Samples = c.FitSeconds, ge, r.M
		c.SampleMillis = 1000 * c.FitSeconds / float64(r.M)
		if net.Likelihood != posterior.GaussianLikelihood {
			return sampled(net, r.Theta), nil
		}
		sig := make([]float32, r.M)
		for i, s := range r.Sigma {
			sig[i] = float32(math.Max(s, 1e-3))
		}
		return func(x []float32) (*laplace.Predictive, error) {
			out, err := net.Predict(r.Theta, x)
			if err != nil {
				return nil, err
			}
			reg, err := predict.NewRegression(out.Values, sig, r.M, out.B)
			if err != nil {
				return nil, err
			}
			return &laplace.Predictive{Regression: reg}, nil
		}, nil
	case "swag":
		if err := f.getMAP(); err != nil {
			return nil, err
		}
		sw, err := swagFit(f)
		if err != nil {
			return nil, err
		}
		c.FitSeconds = sw.FitSeconds
		t0 := time.Now()
		set, err := sw.Sample(S, f.p.seed)
		if err != nil {
			return nil, fmt.Errorf("swag sample: %w", err)
		}
		c.SampleMillis = 1000 * time.Since(t0).Seconds() / float64(S)
		c.TotalSeconds = c.FitSeconds + f.mapSec
		n := f.mapNet.NumData()
		c.GradEvals = f.mapGE + int64(sw.Collected*max(1, n/min(n, 32)))
		c.Samples = S
		// The draws' rise of the training potential per datum above the MAP's, beside P/(2n), the rise of a
		// Gaussian posterior's draws (the walk's default budget τ for the same weights).
		ev, err := f.mapNet.Evaluator()
		if err != nil {
			return nil, err
		}
		u, err := ev.Potential(f.theta)
		if err != nil {
			return nil, fmt.Errorf("swag: MAP loss: %w", err)
		}
		rise := -float64(u[0]) / float64(n)
		for _, l := range set.Loss {
			rise += float64(l) / float64(len(set.Loss))
		}
		c.Notes = fmt.Sprintf("lr=%.3g rise=%.3g P/2n=%.3g", sw.Options().LearningRate, rise, float64(f.mapNet.NumParams())/float64(2*n))
		return sampled(f.mapNet, set.Theta), nil
	case "fiber", "flow", "flow-fiber":
		if err := f.getWalk(); err != nil {
			return nil, err
		}
		w := f.walk
		ge := f.mapGE + int64(w.Steps*w.Particles)
		if method == "fiber" {
			c.FitSeconds, c.TotalSeconds, c.GradEvals = f.walkSec, f.walkSec+f.mapSec, ge
			c.Samples = len(w.Finished)
			c.SampleMillis = 1000 * f.walkSec / float64(w.Particles)
			c.Notes = fmt.Sprintf("rise=%.3g τ=%.3g dist=%.3g stopped=%d", mean(w.FinalRise()), w.Settings.Tau,
				mean(w.Distances()), len(w.Stopped))
			if len(w.Finished) == 0 {
				return nil, fmt.Errorf("walk: no particle finished (%d stopped)", len(w.Stopped))
			}
			return f.walkPredictor(w.Positions), nil
		}
		if f.flow == nil {
			set, err := w.ToSamples()
			if err != nil {
				return nil, fmt.Errorf("walk samples: %w", err)
			}
			t0 := time.Now()
			fl, err := flow.FitSamples(set, flow.SubspaceOptions{}, flow.Options{Seed: f.p.seed},
				flow.TrainOptions{Seed: f.p.seed, MaxSteps: f.cfg.FlowSteps})
			if err != nil {
				return nil, fmt.Errorf("flow: %w", err)
			}
			f.flow, f.flowSec, f.flowN = fl, time.Since(t0).Seconds(), set.N
		}
		fl := f.flow
		var err error
		c.FitSeconds = f.flowSec
		c.TotalSeconds, c.GradEvals = c.FitSeconds+f.walkSec+f.mapSec, ge
		t1 := time.Now()
		var d *flow.Draws
		missed := ""
		if method == "flow" {
			d, err = fl.Sample(S, f.p.seed+1)
		} else {
			// Moved onto the MAP's fiber and onto the walk's loss levels (flow.SampleCorrected's default).
			var target flow.OutputTarget = f.mapNet
			if f.head != nil && f.cfg.LastLayerWalk {
				target = f.head.net
			}
			var rep *flow.CorrectReport
			d, rep, err = fl.SampleCorrected(target, S, f.p.seed+1, flow.CorrectOptions{Seed: f.p.seed})
			if err == nil {
				missed = fmt.Sprintf(" missed=%d/%d", rep.LevelMissed, S)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("flow sample: %w", err)
		}
		c.SampleMillis = 1000 * time.Since(t1).Seconds() / float64(S)
		c.Samples = S
		c.Notes = fmt.Sprintf("r=%d train=%d heldout_nll=%.3g", fl.Rank(), f.flowN, fl.Report.BestValidLoss) + missed
		return f.walkPredictor(d.Theta), nil
	}
	return nil, fmt.Errorf("unknown method %q (known: %v)", method, allMethods)
}

// walkPredictor is the BMA over the walk's (or flow's) parameter vectors: full vectors, or head vectors with
// the MAP body for the last-layer walk.
func (f *fits) walkPredictor(thetas []float32) predictor {
	if f.head != nil && f.cfg.LastLayerWalk {
		return f.head.predictor(f.p, thetas)
	}
	return sampled(f.mapNet, thetas)
}

// sampled is the Bayesian model average of the network over parameter vectors thetas [S, P].
func sampled(net *posterior.Network, thetas []float32) predictor {
	return func(x []float32) (*laplace.Predictive, error) { return laplace.NetworkPredictive(net, thetas, x) }
}

func meanOf(v []float64) float64 { return mean(v) }

// memory returns the process's peak RSS and the Go heap in use, in MiB.
func memory() (float64, float64) {
	var ru syscall.Rusage
	rss := 0.0
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		rss = float64(ru.Maxrss) / 1024 // Linux: KiB
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return rss, float64(ms.HeapInuse) / (1 << 20)
}
