package predict

// Must returns v, or panics if err is not nil: for notebooks, e.g.
// predict.Must(predict.AverageSoftmax(logits, s, b, c)).
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
