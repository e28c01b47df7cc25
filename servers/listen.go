package servers

import (
	"golang.org/x/sys/unix"

	"netprog/sys"
)

func (c *Config) backlog() int {
	if c.Backlog > 0 {
		return c.Backlog
	}
	return unix.SOMAXCONN
}

// listen opens the listening socket and announces it: "listening on
// 127.0.0.1:41235", with the port getsockname(2) reports, so that -port 0
// can be used by people and tests.
func (c *Config) listen() (int, error) {
	// Before anyone can connect: the spare descriptor and the runtime's
	// poller, which a server at its descriptor limit cannot get (reserve.go).
	spare.Hold()
	if c.listener != nil {
		return c.listener()
	}
	fd, bound, err := sys.Listener(c.Addr, c.backlog(), false)
	if err != nil {
		return -1, err
	}
	c.announce(bound)
	return fd, nil
}

func (c *Config) announce(bound sys.Addr) {
	c.logf("listening on %s", bound)
	if c.Ready != nil {
		c.Ready(bound)
	}
}
