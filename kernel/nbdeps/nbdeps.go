// Package nbdeps keeps the root go.mod requiring the packages that notebooks import and that no library
// package imports yet (GoNB's gonbui display API, gonum/plot).
//
// Notebooks run under the fiberbnn kernel with %noautoget: GoNB resolves their imports only through the
// project's module (go.work), so every package a notebook imports must be in the module's build list. Blank
// imports here make `go mod tidy` keep those requirements; nbdeps_test.go checks every notebook's imports
// against the build list. Nothing imports this package.
package nbdeps

import (
	// Display of HTML, SVG and PNG in notebook cells.
	_ "github.com/janpfeifer/gonb/gonbui"
	// Plots rendered to SVG/PNG in notebooks.
	_ "gonum.org/v1/plot"
	_ "gonum.org/v1/plot/plotter"
	_ "gonum.org/v1/plot/vg"
	_ "gonum.org/v1/plot/vg/draw"
	_ "gonum.org/v1/plot/vg/vgsvg"
)
