package flow

import (
	"slices"
	"strings"
	"testing"
)

// With groups, the held-out rows are whole groups (no group on both sides), about the asked fraction,
// the same for the same seed; without groups the split is by row.
func TestSplitHoldsOutWholeGroups(t *testing.T) {
	const n, perGroup = 600, 6
	groups := make([]int, n)
	for i := range groups {
		groups[i] = (i * 37) % (n / perGroup) // interleaved, as a walk's snapshots are (step-major)
	}
	tr, va := split(n, 0.2, 7, groups)
	if len(tr)+len(va) != n {
		t.Fatalf("%d + %d rows, want %d", len(tr), len(va), n)
	}
	in := map[int]bool{}
	for _, i := range va {
		in[groups[i]] = true
	}
	for _, i := range tr {
		if in[groups[i]] {
			t.Fatalf("group %d is both held out and trained on", groups[i])
		}
	}
	if got := float64(len(va)) / n; got < 0.2 || got > 0.2+float64(perGroup)/n {
		t.Errorf("held-out fraction %.3f, want 0.2 up to one group more", got)
	}
	tr2, va2 := split(n, 0.2, 7, groups)
	if !slices.Equal(tr, tr2) || !slices.Equal(va, va2) {
		t.Error("the same seed gave another split")
	}
	if _, va3 := split(n, 0.2, 8, groups); slices.Equal(va, va3) {
		t.Error("another seed gave the same split")
	}
	// By row, the fraction is exact.
	if _, v := split(n, 0.2, 7, nil); len(v) != 120 {
		t.Errorf("row split held out %d, want 120", len(v))
	}
}

func TestCheckGroupsErrors(t *testing.T) {
	for _, c := range []struct {
		groups []int
		n      int
		want   string
	}{
		{[]int{0, 1}, 3, "2 labels for 3 samples"},
		{[]int{4, 4, 4}, 3, "the same label 4"},
	} {
		err := checkGroups(c.groups, c.n)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("checkGroups(%v, %d) = %v, want an error with %q", c.groups, c.n, err, c.want)
		}
	}
	if err := checkGroups(nil, 5); err != nil {
		t.Error(err)
	}
}
