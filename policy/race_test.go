//go:build race

package policy

// raceEnabled: the race detector slows parsing about tenfold, so time bounds scale with it.
const raceEnabled = true
