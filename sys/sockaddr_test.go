package sys

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSockaddrAsXSys: the addresses Accept4, Getsockname and Getpeername
// read from the kernel's bytes are those x/sys's conversion gives, for
// every family netprog listens on (AF_UNIX named, abstract, and the
// unnamed client of a connect).
func TestSockaddrAsXSys(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		addr string
	}{
		{"tcp4", "127.0.0.1:0"},
		{"tcp6", "[::1]:0"},
		{"unix", "unix:" + filepath.Join(dir, "s")},
		{"abstract", "unix:@netprog-sockaddr-test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ResolveAddr(tc.addr, 0)
			if err != nil {
				t.Skipf("%s: %v", tc.addr, err)
			}
			lfd, err := SocketFor(a, unix.SOCK_STREAM)
			if err != nil {
				t.Skip(err)
			}
			defer Close(lfd)
			if err := Bind(lfd, a); err != nil {
				t.Skip(err)
			}
			if err := Listen(lfd, 1); err != nil {
				t.Fatal(err)
			}
			bound, err := Getsockname(lfd)
			if err != nil {
				t.Fatal(err)
			}
			cfd, err := SocketFor(a, unix.SOCK_STREAM)
			if err != nil {
				t.Fatal(err)
			}
			defer Close(cfd)
			if err := Connect(cfd, bound); err != nil {
				t.Fatal(err)
			}
			nfd, peer, err := Accept4(lfd, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer Close(nfd)
			peerName, err := Getpeername(nfd)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what string
				got  Addr
				fd   int
				x    func(int) (unix.Sockaddr, error)
			}{
				{"getsockname", bound, lfd, unix.Getsockname},
				{"accept4's peer", peer, cfd, unix.Getsockname},
				{"getpeername", peerName, nfd, unix.Getpeername},
			} {
				sa, err := c.x(c.fd)
				if err != nil {
					t.Fatal(err)
				}
				if want := AddrFrom(sa); c.got != want {
					t.Errorf("%s: %+v, x/sys says %+v", c.what, c.got, want)
				}
			}
			if tc.name == "tcp4" && (bound.Port == 0 || peer.Port == 0) {
				t.Errorf("no ports: bound %v, peer %v", bound, peer)
			}
		})
	}
	var b sockaddrBuf
	if _, err := b.call(unix.SYS_GETSOCKNAME, -1, 0); err != unix.EBADF {
		t.Errorf("getsockname(-1): %v, want EBADF", err)
	}
}

// TestRecvfromSender: Recvfrom's sender, read from the kernel's bytes, is
// the sending socket's own address (IPv4 and IPv6), and Recv on a
// connected socket asks for none.
func TestRecvfromSender(t *testing.T) {
	for _, host := range []string{"127.0.0.1:0", "[::1]:0"} {
		a, err := ResolveAddr(host, 0)
		if err != nil {
			t.Skip(err)
		}
		open := func() (int, Addr) {
			fd, err := SocketFor(a, unix.SOCK_DGRAM)
			if err != nil {
				t.Skip(err)
			}
			if err := Bind(fd, a); err != nil {
				t.Skip(err)
			}
			bound, err := Getsockname(fd)
			if err != nil {
				t.Fatal(err)
			}
			return fd, bound
		}
		rfd, raddr := open()
		defer Close(rfd)
		sfd, saddr := open()
		defer Close(sfd)
		if _, err := Sendto(sfd, []byte("hello"), 0, raddr); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 3)
		n, from, full, err := Recvfrom(rfd, buf, 0)
		if err != nil || n != 3 || full != 5 || from != saddr {
			t.Errorf("%s: Recvfrom = %d, %v, %d, %v; want 3, %v, 5 (cut, MSG_TRUNC)", host, n, from, full, err, saddr)
		}
		if err := Connect(sfd, raddr); err != nil {
			t.Fatal(err)
		}
		if _, err := Sendto(rfd, []byte("back"), 0, saddr); err != nil {
			t.Fatal(err)
		}
		if n, err := Recv(sfd, buf[:3], 0); err != nil || string(buf[:n]) != "bac" {
			t.Errorf("%s: Recv = %q, %v", host, buf[:n], err)
		}
	}
}
