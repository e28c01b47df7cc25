package protocol

import (
	"bytes"
	"io"

	"netprog/sys"
)

// Input is what the user types: lines read from a descriptor (stdin), whole
// lines only (a pipe may hand over half of one).
//
// On a terminal, the terminal itself echoes what is typed. From a pipe or a
// file (a script, a test, `make demo`) nothing would show, and prompts and
// replies would run together; so then Input writes each line it reads to
// its echo writer, and a transcript reads like a session.
type Input struct {
	fd    int
	lines *MessageReader
	echo  io.Writer // nil on a terminal
}

// NewInput reads lines from fd, echoing them to out unless fd is a terminal.
func NewInput(fd int, out io.Writer) *Input {
	in := &Input{fd: fd, lines: NewMessageReader(fd, WholeLines)}
	if !sys.IsTerminal(fd) {
		in.echo = out
	}
	return in
}

// Line returns the next line without its line ending (LF or CR LF); at end
// of input, io.EOF.
func (in *Input) Line() ([]byte, error) {
	line, err := in.lines.Next()
	if err != nil {
		return nil, err
	}
	line = bytes.TrimRight(line, "\r\n")
	if in.echo != nil {
		in.echo.Write(append(line[:len(line):len(line)], '\n'))
	}
	return line, nil
}

// Buffered reports whether lines have been read that Line has not returned
// yet: poll(2) cannot see them, so a caller that polls asks this first.
func (in *Input) Buffered() bool { return in.lines.Buffered() }

// Fd is the descriptor the input is read from, for poll(2).
func (in *Input) Fd() int { return in.fd }
