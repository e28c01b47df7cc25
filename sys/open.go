package sys

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// Open wraps openat(2) relative to the current directory (AT_FDCWD, what
// open(2) does), always with O_CLOEXEC.
func Open(path string, flags int) (int, error) {
	flags |= unix.O_CLOEXEC
	var fd int
	err := restart(func() (err error) {
		fd, err = unix.Openat(unix.AT_FDCWD, path, flags, 0)
		return err
	})
	if Tracing() {
		mode := map[int]string{unix.O_RDONLY: "O_RDONLY", unix.O_WRONLY: "O_WRONLY", unix.O_RDWR: "O_RDWR"}[flags&unix.O_ACCMODE]
		if rest := flags &^ (unix.O_ACCMODE | unix.O_CLOEXEC); rest != 0 {
			mode += "|0x" + strconv.FormatInt(int64(rest), 16)
		}
		trace("openat", "AT_FDCWD, "+fmtData([]byte(path))+", "+mode+"|O_CLOEXEC", fd, err)
	}
	if err != nil {
		return -1, syscallErr("open "+path, err)
	}
	return fd, nil
}
