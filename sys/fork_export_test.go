package sys

// ForceClone makes Fork use clone(2) and the child's own signal reset, as on
// a kernel without clone3 or CLONE_CLEAR_SIGHAND, until the returned func
// is called.
func ForceClone() (restore func()) {
	old := noClone3
	noClone3 = true
	return func() { noClone3 = old }
}
