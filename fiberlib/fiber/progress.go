package fiber

import (
	"fmt"
	"io"
	"math"
	"time"
)

type progressWriter struct {
	w     io.Writer
	every time.Duration
}

// setHooks installs the options that do not change the numbers: progress reporting and the checkpoint path.
func (w *Walker) setHooks(opts Options) {
	w.progress = opts.ProgressFunc
	w.progressW = progressWriter{w: opts.Progress, every: opts.ProgressEvery}
	if w.progressW.every == 0 {
		w.progressW.every = DefaultProgressEvery
	}
	w.checkpoint = opts.CheckpointPath
}

// snapshotProgress summarises the latest record.
func (w *Walker) snapshotProgress() Progress {
	pr := Progress{Step: w.step, Steps: w.set.Steps, Elapsed: time.Since(w.runStart)}
	pr.MaxRise = math.Inf(-1)
	if len(w.trace.Loss) > 0 {
		last := len(w.trace.Loss) - 1
		var rise, dist float64
		for i, l := range w.trace.Loss[last] {
			if math.IsNaN(float64(l)) {
				pr.Stopped++
				continue
			}
			pr.Alive++
			r := float64(l) - w.lossStar
			rise += r
			pr.MaxRise = math.Max(pr.MaxRise, r)
			dist += float64(w.trace.Distance[last][i])
		}
		if pr.Alive > 0 {
			pr.MeanRise, pr.MeanDist = rise/float64(pr.Alive), dist/float64(pr.Alive)
		}
	}
	if s := pr.Elapsed.Seconds(); s > 0 {
		pr.StepsPerSec = float64((w.step-w.runStartStep)*w.set.Particles) / s
	}
	return pr
}

// report calls the progress hooks; the writer gets a line at most every ProgressEvery and at the end.
func (w *Walker) report(final bool) {
	if w.progress == nil && w.progressW.w == nil {
		return
	}
	pr := w.snapshotProgress()
	if w.progress != nil {
		w.progress(pr)
	}
	if w.progressW.w != nil && (final || time.Since(w.lastProgressT) >= w.progressW.every) {
		w.lastProgressT = time.Now()
		fmt.Fprintf(w.progressW.w, "fiber: step %d/%d  walking %d/%d  rise mean %.4g max %.4g (τ %.4g)  distance %.4g  %.3g particle-steps/s\n",
			pr.Step, pr.Steps, pr.Alive, pr.Alive+pr.Stopped, pr.MeanRise, pr.MaxRise, w.set.Tau, pr.MeanDist, pr.StepsPerSec)
	}
}
