package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"netprog/clients"
)

func TestBenchCommand(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "echo-server", "-raw", "-q", "-host", "127.0.0.1", "-port", "0")

	t.Run("json", func(t *testing.T) {
		out, errOut, code := runNetprog(t, "", "bench", "-conns", "1", "-requests", "300", "-size", "100", "-json", srv.Addr)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var r clients.BenchReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("-json output does not parse: %v\n%s", err, out)
		}
		if r.Requests != 300 || r.BytesVerified != 30000 || len(r.Errors) != 0 || r.Target != srv.Addr {
			t.Errorf("report: %+v", r)
		}
	})

	t.Run("text with starved connections", func(t *testing.T) {
		// The iterative server serves the first connection only.
		out, errOut, code := runNetprog(t, "", "bench", "-conns", "3", "-duration", "1s", "-warmup", "100ms", "-addr", srv.Addr)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, want := range []string{"echo: 3 connections x 64 B to " + srv.Addr, "requests ", "latency ", "starved    2 of 3", "errors     none", "generator "} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if errOut != "" {
			t.Errorf("progress or errors on a non-terminal stderr: %q", errOut)
		}
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"refused", []string{"bench", "-duration", "1s", closed}, 1, "netprog bench: connect " + closed + ": connection refused\n"},
		{"bad workload", []string{"bench", "-workload", "ping", srv.Addr}, 2, `workload "ping"`},
		{"no conns", []string{"bench", "-conns", "0", srv.Addr}, 2, "at least 1 connection"},
		{"two addresses", []string{"bench", srv.Addr, srv.Addr}, 2, "unexpected argument"},
		{"port 0", []string{"bench", "127.0.0.1:0"}, 2, "port cannot be 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runNetprog(t, "", tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.msg) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want exit %d and one line with %q", code, errOut, tt.code, tt.msg)
			}
		})
	}
}
