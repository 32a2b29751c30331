package samples_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
)

func ExampleSet_Save() {
	dir, _ := os.MkdirTemp("", "samples")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "walk.fbs")

	// Three samples of a two-parameter model.
	set := samples.MustNew(3, 2, []float32{1, 2, 3, 4, 5, 9}, samples.Meta{Method: "fiber", Seed: 7})
	set.Loss = []float32{0.1, 0.2, 0.3}
	set.MustSave(path)

	back := samples.MustLoad(path)
	fmt.Println(back.Method, back.Seed, back.N, back.P, back.Mean(), back.Row(2))
	// Output: fiber 7 3 2 [3 5] [5 9]
}
