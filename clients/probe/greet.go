package probe

import (
	"fmt"
	"time"
)

// The greet server's probes: it speaks first, the greeting, and closes.

// greetOnce has one greet conversation: connect, the greeting, the close.
func greetOnce(t Target, deadline time.Time) error {
	c, err := Dial(t.Addr, deadline, DialOptions{})
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(minTime(deadline, time.Now().Add(replyWait)))
	got, err := c.WaitClose()
	switch {
	case string(got) != t.Proto.Greeting && err == nil:
		return fmt.Errorf("%s, then the close; want %s", Quote(got), Quote([]byte(t.Proto.Greeting)))
	case string(got) != t.Proto.Greeting:
		return fmt.Errorf("%s (%v); want %s", Quote(got), err, Quote([]byte(t.Proto.Greeting)))
	case err != nil:
		return fmt.Errorf("the greeting, but no close within %v (%v)", replyWait, err)
	}
	return nil
}

func greetReply(s *Session) Result {
	c, err := s.dial(time.Now().Add(replyWait), DialOptions{})
	if err != nil {
		s.noServer = fmt.Errorf("%w at %s: %v", ErrNoServer, s.T.Addr, err)
		return Result{}
	}
	defer c.Close()
	start := time.Now()
	got, err := c.WaitClose()
	want := s.T.Proto.Greeting
	switch {
	case string(got) == want && err == nil:
		s.protoOK = true
		return pass("the greeting %s, then the close (%s)", Quote(got), ms(time.Since(start)))
	case string(got) == want:
		s.protoOK = true
		return finding("the greeting %s, but the connection stayed open %v: a greet server closes after it", Quote(got), replyWait)
	case len(got) == 0 && err == nil:
		return finding("the server closed the connection without a word; want %s", Quote([]byte(want)))
	case err == nil:
		return finding("%s, then the close; want %s: not %s", Quote(got), Quote([]byte(want)), s.T.Proto.Describe())
	}
	return finding("%s in %v (%v); want %s", Quote(got), replyWait, err, Quote([]byte(want)))
}
