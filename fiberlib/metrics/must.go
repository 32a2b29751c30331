package metrics

// Must returns v, or panics if err is not nil: for notebooks, e.g. metrics.Must(metrics.ECE(p, c, y)).
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
