package op

// SweepStatus is what the expiry sweep reports about one sweep, for the
// gdap.sweep.run workflow that waits for it.
type SweepStatus struct {
	// Done is true once the sweep has ended (completed or failed).
	Done bool
	// Failure is set when the sweep ended without listing everything.
	Failure *Failure
}
