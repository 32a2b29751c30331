package main

import (
	"fmt"

	"github.com/fiberbnn/fiberbnn/fiberlib/swag"
)

// swagFit runs SWAG from the split's MAP with the run's number of epochs.
func swagFit(f *fits) (*swag.SWAG, error) {
	sw, err := swag.Fit(f.mapNet, f.theta, swag.Options{Epochs: f.cfg.SWAGEpochs, LRFraction: f.cfg.SWAGLRFraction, Seed: f.p.seed})
	if err != nil {
		return nil, fmt.Errorf("swag: %w", err)
	}
	return sw, nil
}
