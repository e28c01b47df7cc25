// Package clients holds the course's clients: greet, echo (with the presets
// for each course server), UDP and chat. Like the servers, they make every
// system call through package sys, so `netprog --trace` and `strace -f` show
// the same calls.
//
// # Reading replies
//
// A client sends one line and must then read the reply, but TCP does not
// keep message boundaries: one recv may return half a reply, or a reply and
// the start of the next. So a client never takes "what one read returned" as
// the reply. It reads by the message rule (protocol.MessageReader): a reply is
// complete at its newline; a server that answers without a newline (as the
// course's Python servers do) is answered once nothing more has arrived for a
// short quiet period.
//
// # Framing, as netprog's servers and as the course's
//
// A message goes out with a newline, so a server that frames by lines knows
// where it ends. The course's own servers compare one whole recv with 'q', so
// the quit goes out as they expect it: q (or Q, as typed) alone, with no
// newline, in a send of its own; netprog's servers take it as quit too. With
// -course (Echo.Course, protocol.Chat.Course) every message goes out exactly
// as typed, and one read is taken as one reply, as the course's programs do.
//
// # Ending
//
// A client ends when its user types q or Q (sent to the server, which closes
// its side), when its input ends, or when the server closes the connection:
// ErrPeerClosed, for which netprog exits with status 1. After q a client
// waits for the server to close for at most QuitWait in all, then closes
// anyway and says whether the server kept the connection open or kept
// sending; that is still a success (status 0): the user asked to quit.
package clients

import "errors"

// ErrPeerClosed reports that the server closed the connection while the
// client still expected an answer.
var ErrPeerClosed = errors.New("the server closed the connection")
