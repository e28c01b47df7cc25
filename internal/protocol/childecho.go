package protocol

import "netprog/sys"

// Echo's twin for a forked child (the fork, prefork and passfd models).
//
// A child forked from a Go program may only run code that does not
// allocate, lock, grow its stack or store pointers (sys/fork.go's package
// doc says why): every function here is //go:nosplit and //go:norace, copies
// with sys.ChildCopy rather than the builtin copy (which becomes
// runtime.slicecopy under -race), and writes only into the buffers it is
// given. The rule it follows is Echo.Respond's, reimplemented without
// slices that grow; TestChildEchoRespondsAsEcho feeds both the same reads
// and requires the same replies and the same quit.

// MaxChildPrefix is the longest reply prefix a ChildEcho holds.
const MaxChildPrefix = 256

// ChildEcho is an Echo in fixed memory, for a forked child: the parent
// Sets it before the fork, the child reads its own copy.
type ChildEcho struct {
	prefix    [MaxChildPrefix]byte
	prefixLen int
	Quit, Raw bool
}

// Set makes c answer as e does. A prefix longer than MaxChildPrefix is cut
// (callers refuse such an Echo first).
func (c *ChildEcho) Set(e Echo) {
	c.prefixLen = copy(c.prefix[:], e.Prefix)
	c.Quit, c.Raw = e.Quit, e.Raw
}

// Respond is Echo.Respond in pieces: it writes into out the replies to the
// messages of in from in[start:] on, until they are all answered (next ==
// len(in)), the next reply does not fit in what is left of out (next is
// where to resume, once out[:n] is sent), or a quit message (next is where
// it starts, and quit is true: send out[:n], then end). out must hold one
// prefix and all of in (len(in)+MaxChildPrefix bytes suffice); a reply
// that would not fit even in an empty out is cut to fit.
//
//go:nosplit
//go:norace
func (c *ChildEcho) Respond(out, in []byte, start int) (n, next int, quit bool) {
	if c.Raw {
		n = sys.ChildCopy(out, in[start:])
		return n, start + n, false
	}
	for start < len(in) {
		end := start
		for end < len(in) && in[end] != '\n' {
			end++
		}
		if end < len(in) {
			end++ // the newline belongs to the message
		}
		if c.Quit && childIsQuit(in[start:end]) {
			return n, start, true
		}
		if n > 0 && n+c.prefixLen+end-start > len(out) {
			return n, start, false
		}
		n += sys.ChildCopy(out[n:], c.prefix[:c.prefixLen])
		n += sys.ChildCopy(out[n:], in[start:end])
		start = end
	}
	return n, start, false
}

// childIsQuit is IsQuit for a child.
//
//go:nosplit
//go:norace
func childIsQuit(msg []byte) bool {
	end := len(msg)
	if end > 0 && msg[end-1] == '\n' {
		end--
	}
	if end > 0 && msg[end-1] == '\r' {
		end--
	}
	return end == 1 && (msg[0] == 'q' || msg[0] == 'Q')
}
