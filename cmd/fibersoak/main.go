// Command fibersoak is a soak test: it runs many walk-and-flow cycles in one process on the 1-D gap toy and
// checks that memory does not grow, so that long notebook sessions and benchmark runs do not leak (compiled
// executables, device buffers, tensors kept alive by caches).
//
// One cycle is what a notebook does: fiber.Walk from the MAP (a new seed each cycle), ToSamples,
// flow.FitSamples, and Sample. After each cycle it forces a garbage collection and prints the resident set
// size (RSS, from /proc/self/status: Go heap plus the XLA runtime's own memory) and the live Go heap.
//
// The check: after the warm-up cycles (compilation caches fill up, the allocator settles), the growth from
// the end of the warm-up to the last cycle must stay within -max-rss-growth and -max-heap-growth (MiB).
// It exits with status 1 when either bound is exceeded, 2 on a usage or run error.
//
// Usage:
//
//	go build -o /tmp/fibersoak ./cmd/fibersoak && nice -n 5 /tmp/fibersoak [-cycles 50] [-warmup 10]
//
// It is a command, not a test: 50 cycles took 45 minutes on 2 shared cores (XLA on CPU), most of it
// compiling each new flow's graphs. It needs the PJRT plugin like the library (or GOMLX_BACKEND=go, much
// slower).
//
// Measured 2026-11-26 (defaults, XLA CPU, 2 shared cores): RSS 201 MiB before the cycles, 373 after the
// first, 642 after the 10th, then between 597 and 642 up to the 50th (611 at the end: −32 MiB from cycle
// 10 to 50); live Go heap 5.08 to 5.09 MiB throughout. PASS.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/fiberbnn/fiberbnn/internal/procmem"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
	"github.com/fiberbnn/fiberbnn/fiberlib/flow"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
)

type config struct {
	cycles, warmup           int
	particles, steps         int
	flowSteps, draws         int
	maxRSSGrowth, maxHeapMiB float64
}

func main() {
	var c config
	flag.IntVar(&c.cycles, "cycles", 50, "walk+flow cycles to run")
	flag.IntVar(&c.warmup, "warmup", 10, "cycles before the growth check starts (caches fill up)")
	flag.IntVar(&c.particles, "particles", 32, "walk particles")
	flag.IntVar(&c.steps, "steps", 200, "walk steps")
	flag.IntVar(&c.flowSteps, "flow-steps", 100, "flow training steps (early stopping may end sooner)")
	flag.IntVar(&c.draws, "draws", 200, "flow samples drawn per cycle")
	flag.Float64Var(&c.maxRSSGrowth, "max-rss-growth", 64, "allowed RSS growth after the warm-up, MiB")
	flag.Float64Var(&c.maxHeapMiB, "max-heap-growth", 8, "allowed live Go heap growth after the warm-up, MiB")
	flag.Parse()
	if c.cycles < 2 || c.warmup < 1 || c.warmup >= c.cycles || c.particles < 2 || c.steps < 1 || c.flowSteps < 1 || c.draws < 1 {
		fmt.Fprintln(os.Stderr, "fibersoak: want cycles ≥ 2, 1 ≤ warmup < cycles, particles ≥ 2, steps, flow-steps, draws ≥ 1")
		os.Exit(2)
	}
	ok, err := run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fibersoak:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// usage is one memory reading.
type usage struct{ rss, heap, sys float64 } // MiB

func measure() usage {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rssMiB, ok := procmem.StatusMiB("VmRSS")
	if !ok {
		rssMiB = -1
	}
	return usage{rss: rssMiB, heap: float64(ms.HeapAlloc) / (1 << 20), sys: float64(ms.Sys) / (1 << 20)}
}

func run(c config) (bool, error) {
	b, err := backend.New()
	if err != nil {
		return false, err
	}
	ds, err := data.GapRegression(data.GapOptions{Seed: 1})
	if err != nil {
		return false, err
	}
	net, err := posterior.NewNetwork(nets.MLP(1, []int{50}, 1, nets.Tanh), ds, posterior.NetworkOptions{Sigma: 0.1, PriorPrecision: 1})
	if err != nil {
		return false, err
	}
	start := time.Now()
	m, err := train.MAP(net, train.Options{Epochs: 5000, BatchSize: ds.N, LearningRate: 0.01, Schedule: train.CosineLR,
		Seed: 1, Backend: b})
	if err != nil {
		return false, err
	}
	base := measure()
	fmt.Printf("fibersoak: gap toy (n=%d, P=%d), MAP in %.1f s; %d cycles of walk (%d particles × %d steps) + flow (%d steps) + %d draws\n",
		ds.N, net.NumParams(), time.Since(start).Seconds(), c.cycles, c.particles, c.steps, c.flowSteps, c.draws)
	fmt.Printf("fibersoak: before the cycles: RSS %.1f MiB, Go heap %.1f MiB\n", base.rss, base.heap)
	fmt.Printf("%5s %8s %6s %6s %9s %9s %9s\n", "cycle", "seconds", "walk", "flow", "RSS MiB", "heap MiB", "sys MiB")
	var atWarmup, last usage
	for i := 1; i <= c.cycles; i++ {
		t0 := time.Now()
		seed := uint64(100 + i)
		walk, err := fiber.Walk(context.Background(), b, net, m.Theta, fiber.Options{Particles: c.particles, Steps: c.steps, Seed: int64(seed)})
		if err != nil {
			return false, fmt.Errorf("cycle %d: %w", i, err)
		}
		tWalk := time.Since(t0).Seconds()
		set, err := walk.ToSamples()
		if err != nil {
			return false, fmt.Errorf("cycle %d: %w", i, err)
		}
		f, err := flow.FitSamples(set, flow.SubspaceOptions{}, flow.Options{Seed: seed}, flow.TrainOptions{Seed: seed, MaxSteps: c.flowSteps})
		if err != nil {
			return false, fmt.Errorf("cycle %d: %w", i, err)
		}
		tFlow := time.Since(t0).Seconds() - tWalk
		d, err := f.Sample(c.draws, seed)
		if err != nil {
			return false, fmt.Errorf("cycle %d: %w", i, err)
		}
		_ = d
		u := measure()
		fmt.Printf("%5d %8.1f %6.1f %6.1f %9.1f %9.2f %9.1f\n", i, time.Since(t0).Seconds(), tWalk, tFlow, u.rss, u.heap, u.sys)
		if i == c.warmup {
			atWarmup = u
		}
		last = u
	}
	dRSS, dHeap := last.rss-atWarmup.rss, last.heap-atWarmup.heap
	perCycle := float64(c.cycles - c.warmup)
	fmt.Printf("fibersoak: growth from cycle %d to %d: RSS %+.1f MiB (%+.2f MiB/cycle; bound %.0f), Go heap %+.2f MiB (%+.3f MiB/cycle; bound %.0f)\n",
		c.warmup, c.cycles, dRSS, dRSS/perCycle, c.maxRSSGrowth, dHeap, dHeap/perCycle, c.maxHeapMiB)
	ok := dRSS <= c.maxRSSGrowth && dHeap <= c.maxHeapMiB
	if ok {
		fmt.Println("fibersoak: PASS")
	} else {
		fmt.Println("fibersoak: FAIL: memory grows across cycles (a leak?)")
	}
	return ok, nil
}
