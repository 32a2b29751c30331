package fiber

import (
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"
)

// hostState is the walk state on the host: what a checkpoint stores and what the device state is made from.
type hostState struct {
	Theta, Prev []float32 // [N, P]
	Eps, Eta    []float32 // [N]
	Stopped     []int32   // [N] step at which the particle stopped, −1 while it walks
	Reason      []int32   // [N]
	Halvings    []int32   // [N] times ε and η were halved
	Step        int
}

// tensors returns the device-state tensors in the order of the st* constants.
func (h *hostState) tensors(n, p int) []*tensors.Tensor {
	t := make([]*tensors.Tensor, numState)
	t[stTheta] = tensors.FromFlatDataAndDimensions(append([]float32(nil), h.Theta...), n, p)
	t[stPrev] = tensors.FromFlatDataAndDimensions(append([]float32(nil), h.Prev...), n, p)
	t[stEps] = tensors.FromFlatDataAndDimensions(append([]float32(nil), h.Eps...), n)
	t[stEta] = tensors.FromFlatDataAndDimensions(append([]float32(nil), h.Eta...), n)
	t[stStopped] = tensors.FromFlatDataAndDimensions(append([]int32(nil), h.Stopped...), n)
	t[stReason] = tensors.FromFlatDataAndDimensions(append([]int32(nil), h.Reason...), n)
	t[stHalvings] = tensors.FromFlatDataAndDimensions(append([]int32(nil), h.Halvings...), n)
	t[stStep] = tensors.FromValue(int32(h.Step))
	return t
}

// check verifies the lengths against N and P.
func (h *hostState) check(n, p int) error {
	if len(h.Theta) != n*p || len(h.Prev) != n*p || len(h.Eps) != n || len(h.Eta) != n || len(h.Stopped) != n ||
		len(h.Reason) != n || len(h.Halvings) != n {
		return fmt.Errorf("walk state arrays do not match N = %d, P = %d", n, p)
	}
	return nil
}

// readState copies the device state to the host.
func readState(t []*tensors.Tensor) (*hostState, error) {
	h := &hostState{}
	var err error
	f32 := func(i int) []float32 {
		if err != nil {
			return nil
		}
		var v []float32
		v, err = tensors.CopyFlatData[float32](t[i])
		return v
	}
	i32 := func(i int) []int32 {
		if err != nil {
			return nil
		}
		var v []int32
		v, err = tensors.CopyFlatData[int32](t[i])
		return v
	}
	h.Theta, h.Prev, h.Eps, h.Eta = f32(stTheta), f32(stPrev), f32(stEps), f32(stEta)
	h.Stopped, h.Reason, h.Halvings = i32(stStopped), i32(stReason), i32(stHalvings)
	if err != nil {
		return nil, err
	}
	step, err := tensors.CopyFlatData[int32](t[stStep])
	if err != nil {
		return nil, err
	}
	h.Step = int(step[0])
	return h, nil
}
