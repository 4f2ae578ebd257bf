package engine

// SetOnePass turns the one-pass irgen path off (or back on, when the
// model allows it), so that tests can compare it with the two passes.
func (e *Engine) SetOnePass(on bool) { e.onePass = on && e.Decoder != nil && e.Decoder.Head != nil }
