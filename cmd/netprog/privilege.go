package main

import (
	"errors"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// What netprog does with a file capability (setcap cap_net_raw+ep netprog,
// run by a user who is not root; see sys/caps.go): ping and traceroute open
// and set up their raw socket with it, then drop every capability on every
// thread before the first packet; icmp-responder, which answers pings for
// the whole host, refuses to run that way (only root may run it); every
// other command drops at start. Root is root, and keeps what it has.

// rawSocketCommands hold the capability until their socket is open
// (dropAfterOpen); the other commands never need it.
var rawSocketCommands = map[string]bool{"ping": true, "traceroute": true}

// dropAtStart applies the rule above before a command runs.
func dropAtStart(name string) error {
	file, err := sys.FileCapabilities()
	switch {
	case err != nil || !file:
		return err
	case unix.Geteuid() == 0:
		// Installed setuid root: dropping the capabilities would leave
		// the process's euid 0 (iputils then calls setuid(getuid())).
		// netprog is given ping the narrow way only.
		return errors.New("refusing to run setuid root: grant CAP_NET_RAW instead (setcap cap_net_raw+ep netprog)")
	case name == "icmp-responder":
		return errors.New("refusing to run with a file capability: icmp-responder answers pings for the whole host, so only root may run it")
	case rawSocketCommands[name]:
		return nil
	}
	return sys.DropCapabilities()
}

// dropAfterOpen is called by ping and traceroute once their socket is open
// and set up (options such as -I need the capability too).
func dropAfterOpen() error {
	file, err := sys.FileCapabilities()
	if err != nil || !file {
		return err
	}
	return sys.DropCapabilities()
}
