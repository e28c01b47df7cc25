// Command captest proves sys.DropCapabilities on every thread. Run by a
// user who holds CAP_NET_RAW as a file capability (the privilege tests in
// cmd/netprog set one on a copy of it), it opens a raw socket, which the
// capability allows; parks goroutines on threads of their own; drops; then
// tries the raw socket again from each parked thread and from goroutines
// started afterwards.
// Capabilities belong to threads: a capset made on one thread only would
// leave the parked threads holding CAP_NET_RAW. It prints one line per try.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

const threads = 8

func rawSocket() error {
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
	if err == nil {
		sys.Close(fd)
	}
	return err
}

func result(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func main() {
	fmt.Println("before:", result(rawSocket()))

	// Threads that exist before the drop, each held by its goroutine.
	var parked, done sync.WaitGroup
	release := make(chan struct{})
	results := make([]string, threads)
	for i := range threads {
		parked.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			runtime.LockOSThread() // keep this thread to this goroutine: it exits with it
			parked.Done()
			<-release
			results[i] = result(rawSocket())
		}()
	}
	parked.Wait()

	if err := sys.DropCapabilities(); err != nil {
		fmt.Println("drop:", err)
		os.Exit(2)
	}
	fmt.Println("drop: ok")
	close(release)
	done.Wait()
	for i, r := range results {
		fmt.Printf("old thread %d: %s\n", i, r)
	}

	// Goroutines started after the drop, each locking whatever thread it
	// gets (an old one, or one the runtime makes now, which inherits what
	// its creator has): none may open the socket either.
	for i := range threads {
		done.Add(1)
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			results[i] = result(rawSocket())
		}()
	}
	done.Wait()
	for i, r := range results {
		fmt.Printf("new thread %d: %s\n", i, r)
	}
}
