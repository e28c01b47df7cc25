package servers

import (
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMessageReader feeds a socket pair in chunks, as a network may deliver
// them, and checks the messages each quiet rule makes of them.
func TestMessageReader(t *testing.T) {
	tests := []struct {
		name   string
		quiet  time.Duration
		chunks []string // written with a pause between them
		want   []string // then io.EOF
	}{
		{"lines in one read", ReadEnd, []string{"a\nb\nc\n"}, []string{"a\n", "b\n", "c\n"}},
		{"read end ends a message", ReadEnd, []string{"a\nb"}, []string{"a\n", "b"}},
		{"whole lines wait for the newline", WholeLines, []string{"ab", "c\nd"}, []string{"abc\n", "d"}},
		// A quiet period far longer than the 5ms pause: a writer that a
		// loaded machine holds back between its two writes must not split
		// the line. The newline ends the message with no wait.
		{"quiet joins a split line", 5 * time.Second, []string{"You Se", "nd:hi\n"}, []string{"You Send:hi\n"}},
		{"quiet ends a newline-less reply", 20 * time.Millisecond, []string{"bare"}, []string{"bare"}},
		{"CR LF kept", ReadEnd, []string{"q\r\n"}, []string{"q\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fds[0])
			sent := make(chan struct{})
			go func() {
				defer close(sent)
				for i, c := range tt.chunks {
					if i > 0 {
						time.Sleep(5 * time.Millisecond)
					}
					unix.Write(fds[1], []byte(c))
				}
				if last := tt.chunks[len(tt.chunks)-1]; tt.quiet > 0 && !strings.HasSuffix(last, "\n") {
					// The last reply must be taken after the quiet period,
					// not at end of file.
					time.Sleep(2 * tt.quiet)
				}
				unix.Close(fds[1])
			}()
			r := NewMessageReader(fds[0], tt.quiet)
			for _, want := range tt.want {
				got, err := r.Next()
				if err != nil || string(got) != want {
					t.Fatalf("Next() = %q, %v; want %q", got, err, want)
				}
			}
			if got, err := r.Next(); err != io.EOF {
				t.Errorf("Next() at the end = %q, %v; want io.EOF", got, err)
			}
			<-sent
		})
	}
}

// TestMessageReaderLong: a message without a newline is handed over in
// pieces of at most maxMessage, never buffered without end.
func TestMessageReaderLong(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	go func() {
		big := make([]byte, maxMessage+100)
		for n := 0; n < len(big); {
			m, err := unix.Write(fds[1], big[n:])
			if err != nil {
				break
			}
			n += m
		}
		unix.Close(fds[1])
	}()
	r := NewMessageReader(fds[0], WholeLines)
	total := 0
	for {
		msg, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil || len(msg) > maxMessage {
			t.Fatalf("Next() = %d bytes, %v", len(msg), err)
		}
		total += len(msg)
	}
	if total != maxMessage+100 {
		t.Errorf("got %d bytes in all, want %d", total, maxMessage+100)
	}
}
