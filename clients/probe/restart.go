package probe

// The restart probe: stop the server mid-conversation, so that its side
// closes first and waits in TIME_WAIT, and start it again at once on the
// same port, which it can bind only with SO_REUSEADDR.

import (
	"fmt"
	"time"
)

// probeRestart: the server, stopped mid-conversation, closes its side
// first (its end goes into TIME_WAIT); started again at once, it must be
// able to bind the port.
func probeRestart(s *Session) Result {
	l := s.T.Launcher
	if l == nil {
		return skip("needs `-- COMMAND`: check must start the server to restart it")
	}
	if s.T.Addr.Family == unixFamily {
		return skip("a unix socket has no TIME_WAIT")
	}
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	deadline := time.Now().Add(probeWait)
	var held *Conn
	switch s.T.Proto.Kind {
	case Greet:
		if err := greetOnce(s.T, deadline); err != nil {
			return finding("before the restart: %v", err)
		}
	case Chat:
		c, err := chatOpen(s, "before the restart", deadline)
		if err != nil {
			return finding("before the restart: %v", err)
		}
		held = c
	default:
		c, r, ok := s.askFirst("before the restart\n", DialOptions{})
		if !ok {
			return r
		}
		held = c
	}
	status := l.Stop()
	if held != nil {
		held.SetDeadline(time.Now().Add(quitWait))
		held.WaitClose()
		held.drainNow()
		held.Close()
	}
	waiting := timeWaits(s.T.Addr.Port)
	port := s.T.Addr.Port
	if waiting == 0 {
		// Nothing waits out TIME_WAIT on the port (the old server's end of
		// the connection was not closed first, or not yet): a start now
		// would prove nothing about SO_REUSEADDR either way.
		if err := l.start(); err != nil {
			l.Addr.Port = 0
			if err2 := l.Start(); err2 == nil {
				s.T.Addr = l.Addr
			}
		}
		s.T.Pid = l.ServerPid()
		return skip("after the stop (%s) no connection of port %d was in TIME_WAIT: nothing to show", status, port)
	}
	start := time.Now()
	conns := plural(waiting, "connection", "connections")
	stopped := "stopped mid-conversation"
	if held == nil {
		stopped = "stopped"
	}
	if err := l.start(); err != nil {
		fig := figures("time_wait", waiting)
		why := l.Status() + l.lastWords()
		if !l.Exited() {
			why = err.Error()
		}
		// Go on with a server on another port for the probes after this.
		l.Addr.Port = 0
		again := ""
		if err2 := l.Start(); err2 == nil {
			s.T.Addr, s.T.Pid = l.Addr, l.ServerPid()
			again = fmt.Sprintf("; check goes on with it on port %d", l.Addr.Port)
		}
		return Result{Status: Finding, Figures: fig,
			Fact: fmt.Sprintf("%s (%s), %s of port %d in TIME_WAIT: started again, it failed to listen there (%s)%s",
				stopped, status, conns, port, why, again)}
	}
	s.T.Pid = l.ServerPid()
	took := time.Since(start)
	var err error
	switch s.T.Proto.Kind {
	case Greet:
		err = greetOnce(s.T, time.Now().Add(probeWait))
	case Chat:
		var c *Conn
		if c, err = chatOpen(s, "after the restart", time.Now().Add(probeWait)); err == nil {
			chatEnd(s, c)
		}
	default:
		_, err = Converse(s.T.Addr, s.ending(), "after the restart\n", time.Now().Add(probeWait))
	}
	if err != nil {
		return finding("started again on port %d, but: %v", port, err)
	}
	return Result{Status: Pass, Figures: figures("time_wait", waiting),
		Fact: fmt.Sprintf("%s (%s), %s of port %d in TIME_WAIT: started again, it listened there %s later and answered",
			stopped, status, conns, port, ms(took))}
}
