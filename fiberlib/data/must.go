package data

// Must returns v, or panics with err: for notebooks, e.g. ds := data.Must(data.LoadBanana(dir)).
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Must2 returns a and b, or panics with err: for notebooks, e.g.
// train, test := data.Must2(data.LoadUCIRegression(dir, "concrete", 0)).
func Must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}
