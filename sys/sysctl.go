package sys

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Sysctl reads a kernel parameter the way sysctl(8) does, from its file under
// /proc/sys: "net.ipv4.ip_local_port_range" is
// /proc/sys/net/ipv4/ip_local_port_range. The value comes back without its
// trailing newline; fields stay separated by the kernel's tabs.
func Sysctl(name string) (string, error) {
	fd, err := Open("/proc/sys/"+strings.ReplaceAll(name, ".", "/"), unix.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer Close(fd)
	buf := make([]byte, 256) // every value the programs read is one short line
	n, err := Read(fd, buf)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(buf[:n]), "\n"), nil
}
