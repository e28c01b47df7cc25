package protocol

import (
	"bytes"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// How a MessageReader decides that a message without a newline is complete
// (the message rule, see the package doc). A message that has its newline is
// always complete.
const (
	// WholeLines waits for the newline (or end of file): the rule for what a
	// user types, where a pipe may hand over half a line.
	WholeLines time.Duration = -1
	// ReadEnd ends a message where a read ends without a newline: the
	// servers' rule, so a classic client's newline-less send is one message.
	ReadEnd time.Duration = 0
	// OneRead hands out what one read returned as one message, newlines and
	// all: the course's own rule (its programs take one recv(512) as one
	// message), for a client that talks to them on their terms (-course).
	// It is wrong for TCP in general, which is why it is only a choice.
	OneRead time.Duration = -2
)

// maxMessage bounds a message without a newline: past it, what has come is
// handed over as one message, so a peer that never sends a newline cannot
// make us buffer without end.
const maxMessage = 64 << 10

// MessageReader reads a descriptor message by message. One read(2) may
// return part of a message or several; the reader keeps what it has not
// handed out and never assumes that one read is one message.
//
// Its quiet period is WholeLines, ReadEnd, OneRead, or a duration d > 0: the client's
// rule, in which a reply that has arrived without its newline is complete
// when nothing more arrives for d (poll(2) waits for it). A reply whose
// newline is there needs no wait, so a line-speaking server costs nothing,
// and a server that answers without newlines costs d per reply.
type MessageReader struct {
	fd    int
	quiet time.Duration
	buf   []byte
	r, w  int // buf[r:w] has been read and not yet handed out
	eof   bool
	err   error
}

// NewMessageReader reads messages from fd with the given quiet period.
func NewMessageReader(fd int, quiet time.Duration) *MessageReader {
	return &MessageReader{fd: fd, quiet: quiet, buf: make([]byte, 4096)}
}

// Next returns the next message, with its newline if it had one. The slice
// is valid until the next call. At end of file with nothing left it returns
// io.EOF; a read error is returned once what came before it is handed out.
func (m *MessageReader) Next() ([]byte, error) {
	for {
		pending := m.buf[m.r:m.w]
		if m.quiet == OneRead && len(pending) > 0 {
			m.r = m.w
			return pending, nil
		}
		if i := bytes.IndexByte(pending, '\n'); i >= 0 {
			m.r += i + 1
			return pending[:i+1], nil
		}
		if len(pending) > 0 {
			complete := m.eof || m.err != nil || len(pending) >= maxMessage || m.quiet == ReadEnd
			if !complete && m.quiet > 0 {
				more, err := m.readable(m.quiet)
				if err != nil {
					return nil, err
				}
				complete = !more
			}
			if complete {
				m.r = m.w
				return pending, nil
			}
		} else if m.err != nil {
			err := m.err
			m.err = nil
			return nil, err
		} else if m.eof {
			return nil, io.EOF
		}
		m.fill()
	}
}

// Buffered reports whether bytes have been read that Next has not yet handed
// out: a caller that polls the descriptor must drain these first, as poll
// knows nothing of them.
func (m *MessageReader) Buffered() bool { return m.w > m.r }

// fill makes room and reads once more.
func (m *MessageReader) fill() {
	if m.r > 0 {
		m.w = copy(m.buf, m.buf[m.r:m.w])
		m.r = 0
	}
	if m.w == len(m.buf) {
		m.buf = append(m.buf, make([]byte, len(m.buf))...)
	}
	n, err := sys.Read(m.fd, m.buf[m.w:])
	m.w += n
	switch {
	case err != nil:
		m.err = err
	case n == 0:
		m.eof = true
	}
}

// readable waits up to d for more input, or its end, on the descriptor.
func (m *MessageReader) readable(d time.Duration) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(m.fd), Events: unix.POLLIN}}
	n, err := sys.Poll(fds, d)
	return n > 0, err
}
