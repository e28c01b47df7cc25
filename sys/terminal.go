package sys

import "golang.org/x/sys/unix"

// IsTerminal reports whether fd is a terminal, as isatty(3) decides it: the
// ioctl(2) TCGETS that reads a terminal's settings fails with ENOTTY on
// anything else. Programs use it to draw live progress only for a person,
// not into a file or a pipe.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	traceTCGETS(fd, err)
	return err == nil
}
