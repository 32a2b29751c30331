// Package train finds maximum-a-posteriori (MAP) parameters of a posterior.Network, for M independent
// members at once (deep ensembles use M > 1) in one compiled computation with the members on the particle
// axis, with many optimiser steps per executed call.
//
// The objective is exactly U(θ)/n, the network's potential per training example: the mean negative
// log-likelihood plus α/(2n)‖θ‖² (the prior acts as weight decay with the prior's precision), plus constants.
// So the MAP found here is the MAP of the posterior that the samplers use.
//
// Minibatches: each member shuffles the training rows with its own seeded stream every epoch and takes
// ⌊n/B⌋ batches of B rows (the remainder of the shuffle is left out of that epoch; it differs from epoch to
// epoch). The batches of a call are gathered on the device from index arrays computed on the host.
//
// Early stopping: with a validation set (given, or a seeded fraction of the training rows), every member's
// mean validation negative log-likelihood is computed every EvalEvery epochs; a member stops when it has not
// improved for Patience evaluations, and its best parameters are restored.
package train

import (
	"fmt"
	"io"
	"math"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/gomlx/compute"
)

// Optimizer names an optimisation algorithm.
type Optimizer string

const (
	// Adam is Adam (Kingma & Ba 2015) with bias correction.
	Adam Optimizer = "adam"
	// SGD is stochastic gradient descent with optional (heavy-ball) momentum.
	SGD Optimizer = "sgd"
)

// Schedule names a learning-rate schedule.
type Schedule string

const (
	// ConstantLR keeps the learning rate fixed.
	ConstantLR Schedule = "constant"
	// CosineLR decays it along half a cosine period over the planned steps (Epochs × steps per epoch).
	CosineLR Schedule = "cosine"
)

// Options configure MAP. The zero value trains one member with Adam (learning rate 1e-3, batch 32) for
// 100 epochs without early stopping, seed 0.
type Options struct {
	// Optimizer is Adam (default) or SGD.
	Optimizer Optimizer
	// LearningRate (default 1e-3 for Adam, 1e-2 for SGD), constant.
	LearningRate float64
	// Schedule of the learning rate over the run: ConstantLR (default) or CosineLR (from LearningRate
	// down to FinalLRFraction·LearningRate at the last planned step, half a cosine period).
	Schedule Schedule
	// FinalLRFraction is the final learning rate of CosineLR relative to LearningRate (default 0).
	FinalLRFraction float64
	// Momentum of SGD (default 0: plain SGD).
	Momentum float64
	// Beta1, Beta2, Epsilon of Adam (defaults 0.9, 0.999, 1e-8).
	Beta1, Beta2, Epsilon float64

	// BatchSize is B (default 32, capped at the number of training rows; B >= n means full batch).
	BatchSize int
	// Epochs is the maximum number of epochs (default 100).
	Epochs int
	// Members is M, the number of independent MAPs trained together (default 1). Member i starts from
	// nets' InitBatch row i (PCG stream (Seed, i)) and shuffles with its own stream.
	Members int
	// Seed seeds initialisation, shuffling and the validation split.
	Seed uint64
	// Init optionally gives the starting parameters: [P] (used by every member) or [M, P] row-major.
	Init []float32

	// Validation is an optional early-stopping data set (same features and targets as the training data).
	Validation *data.Dataset
	// ValidationFraction, if > 0, holds out this fraction of the training rows (seeded) for early stopping
	// instead; then Result.Network is the network on the remaining rows.
	ValidationFraction float64
	// Patience is the number of evaluations without improvement before a member stops (default 10).
	Patience int
	// EvalEvery is the number of epochs between evaluations (loss history, early stopping, progress), which
	// is also the number of epochs per executed call on XLA (default 1 with validation, else Epochs/20,
	// at least 1).
	EvalEvery int

	// FitNoise, for the Gaussian likelihood, sets σ to its maximum-likelihood value at each member's MAP
	// (σ² = mean squared training residual) after training; Result.Sigma holds it.
	FitNoise bool

	// Progress, if not nil, receives a progress line roughly every ProgressEvery of the epochs and one at
	// the end (plain lines, no carriage returns, so terminals, logs and notebooks all show them).
	Progress io.Writer
	// ProgressEvery is the fraction of Epochs between progress lines (default 0.1).
	ProgressEvery float64

	// CheckpointPath, when set, is a file where Run saves the whole training state atomically (temporary
	// file, fsync, rename) every CheckpointEvery evaluations and at the end, and from which it resumes when
	// the file exists at the start. Resuming needs the same options, seed, network and data (checked; a
	// mismatch is an error naming the difference) and gives the same numbers as an uninterrupted run on the
	// same backend. Progress and Backend may differ.
	CheckpointPath string
	// CheckpointEvery is the number of evaluations (see EvalEvery) between checkpoints (default 1).
	CheckpointEvery int

	// Backend to run on (default: backend.New(), the process-wide backend).
	Backend compute.Backend
	// MaxUnrolledSteps caps the steps per call where the loop is unrolled (the pure-Go backend; default 8).
	MaxUnrolledSteps int
}

// withDefaults validates the options and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Optimizer == "" {
		o.Optimizer = Adam
	}
	if o.Optimizer != Adam && o.Optimizer != SGD {
		return o, fmt.Errorf("train: unknown optimizer %q, want %q or %q", o.Optimizer, Adam, SGD)
	}
	if o.LearningRate == 0 {
		o.LearningRate = 1e-3
		if o.Optimizer == SGD {
			o.LearningRate = 1e-2
		}
	}
	if o.Schedule == "" {
		o.Schedule = ConstantLR
	}
	if o.Beta1 == 0 {
		o.Beta1 = 0.9
	}
	if o.Beta2 == 0 {
		o.Beta2 = 0.999
	}
	if o.Epsilon == 0 {
		o.Epsilon = 1e-8
	}
	if o.BatchSize == 0 {
		o.BatchSize = 32
	}
	if o.Epochs == 0 {
		o.Epochs = 100
	}
	if o.Members == 0 {
		o.Members = 1
	}
	if o.Patience == 0 {
		o.Patience = 10
	}
	if o.EvalEvery == 0 {
		o.EvalEvery = 1
		if o.Validation == nil && o.ValidationFraction == 0 {
			o.EvalEvery = max(1, o.Epochs/20)
		}
	}
	if o.ProgressEvery == 0 {
		o.ProgressEvery = 0.1
	}
	if o.MaxUnrolledSteps == 0 {
		o.MaxUnrolledSteps = 8
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = 1
	}
	checks := []struct {
		bad  bool
		what string
	}{
		{!(o.LearningRate > 0) || math.IsInf(o.LearningRate, 0), fmt.Sprintf("LearningRate=%v, want > 0", o.LearningRate)},
		{o.Schedule != ConstantLR && o.Schedule != CosineLR, fmt.Sprintf("unknown Schedule %q, want %q or %q", o.Schedule, ConstantLR, CosineLR)},
		{!(o.FinalLRFraction >= 0 && o.FinalLRFraction <= 1), fmt.Sprintf("FinalLRFraction=%v, want in [0, 1]", o.FinalLRFraction)},
		{!(o.Momentum >= 0 && o.Momentum < 1), fmt.Sprintf("Momentum=%v, want in [0, 1)", o.Momentum)},
		{!(o.Beta1 >= 0 && o.Beta1 < 1) || !(o.Beta2 >= 0 && o.Beta2 < 1), fmt.Sprintf("Beta1=%v, Beta2=%v, want in [0, 1)", o.Beta1, o.Beta2)},
		{!(o.Epsilon > 0), fmt.Sprintf("Epsilon=%v, want > 0", o.Epsilon)},
		{o.BatchSize < 1, fmt.Sprintf("BatchSize=%d, want >= 1", o.BatchSize)},
		{o.Epochs < 1, fmt.Sprintf("Epochs=%d, want >= 1", o.Epochs)},
		{o.Members < 1, fmt.Sprintf("Members=%d, want >= 1", o.Members)},
		{!(o.ValidationFraction >= 0 && o.ValidationFraction < 1), fmt.Sprintf("ValidationFraction=%v, want in [0, 1)", o.ValidationFraction)},
		{o.ValidationFraction > 0 && o.Validation != nil, "both Validation and ValidationFraction set: choose one"},
		{o.Patience < 1, fmt.Sprintf("Patience=%d, want >= 1", o.Patience)},
		{o.EvalEvery < 1, fmt.Sprintf("EvalEvery=%d, want >= 1", o.EvalEvery)},
		{!(o.ProgressEvery > 0 && o.ProgressEvery <= 1), fmt.Sprintf("ProgressEvery=%v, want in (0, 1]", o.ProgressEvery)},
		{o.MaxUnrolledSteps < 1, fmt.Sprintf("MaxUnrolledSteps=%d, want >= 1", o.MaxUnrolledSteps)},
		{o.CheckpointEvery < 1, fmt.Sprintf("CheckpointEvery=%d, want >= 1", o.CheckpointEvery)},
	}
	for _, c := range checks {
		if c.bad {
			return o, fmt.Errorf("train: %s", c.what)
		}
	}
	return o, nil
}
