package hmc

// phase is a run of warm-up transitions: accumulate collects the positions for the mass matrix; at the end
// of a phase with updateMass the mass matrix is set from them (and the step size re-initialised).
type phase struct {
	n                      int
	accumulate, updateMass bool
}

// Stan's warm-up windows: an initial fast buffer (step size only), slow windows that double in length
// (mass matrix), a terminal fast buffer (step size only).
const (
	initBuffer = 75
	termBuffer = 50
	baseWindow = 25
)

// warmupSchedule splits warmup transitions into phases the way Stan does: 75 | 25, 50, 100, ... | 50, the
// last slow window stretched to the terminal buffer (e.g. 1000 → 75 | 25 50 100 200 500 | 50). When these
// do not fit, the buffers become 15 % and 10 % of the warm-up and one slow window takes the rest. Without
// mass adaptation, or with fewer than 20 transitions, it is one fast phase.
func warmupSchedule(warmup int, adaptMass bool) []phase {
	if warmup <= 0 {
		return nil
	}
	if !adaptMass || warmup < 20 {
		return []phase{{n: warmup}}
	}
	ib, tb, bw := initBuffer, termBuffer, baseWindow
	if ib+bw+tb > warmup {
		ib = warmup * 15 / 100
		tb = warmup / 10
		bw = warmup - ib - tb
	}
	out := []phase{{n: ib}}
	slowEnd := warmup - tb
	for start, size := ib, bw; start < slowEnd; size *= 2 {
		next := start + size
		if next+2*size > slowEnd {
			size = slowEnd - start
			next = slowEnd
		}
		out = append(out, phase{n: size, accumulate: true, updateMass: true})
		start = next
	}
	return append(out, phase{n: tb})
}
