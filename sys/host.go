package sys

import (
	"golang.org/x/sys/unix"
)

// Utsname is what uname(2) says about this machine.
type Utsname struct {
	Sysname, Nodename, Release, Version, Machine, Domainname string
}

// Uname wraps uname(2). Nodename is the host name (gethostname(2) on Linux
// reads the same field).
func Uname() (Utsname, error) {
	var u unix.Utsname
	err := unix.Uname(&u)
	traceUname(&u, err)
	if err != nil {
		return Utsname{}, syscallErr("uname", err)
	}
	return Utsname{
		Sysname:    unix.ByteSliceToString(u.Sysname[:]),
		Nodename:   unix.ByteSliceToString(u.Nodename[:]),
		Release:    unix.ByteSliceToString(u.Release[:]),
		Version:    unix.ByteSliceToString(u.Version[:]),
		Machine:    unix.ByteSliceToString(u.Machine[:]),
		Domainname: unix.ByteSliceToString(u.Domainname[:]),
	}, nil
}

// Hostname returns the host name from uname(2).
func Hostname() (string, error) {
	u, err := Uname()
	return u.Nodename, err
}
