package main

import (
	"flag"
	"reflect"
	"strings"
	"testing"
)

func TestGetoptArgs(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("ping", flag.ContinueOnError)
	fs.Int("c", 0, "")
	fs.String("p", "", "")
	fs.Bool("q", false, "")
	fs.Bool("n", false, "")
	fs.Bool("trace", false, "")
	fs.Bool("4", false, "")
	var i secondsFlag
	fs.Var(&i, "i", "")
	tests := []struct{ in, want string }{
		{"-c3 127.0.0.1", "-c 3 127.0.0.1"},
		{"-qn -i0.2 host", "-q -n -i 0.2 host"},
		{"-qc2 host", "-q -c 2 host"},
		{"-c 3 -p ff host", "-c 3 -p ff host"},
		{"-p -qn host", "-p -qn host"}, // a flag's own value is never expanded
		{"-trace -4 host", "-trace -4 host"},
		{"-c=3 host", "-c=3 host"},
		{"-x1 host", "-x1 host"}, // unknown: left for flag to report
		{"host -- -qn", "host -- -qn"},
	}
	for _, tt := range tests {
		got := getoptArgs(fs, strings.Fields(tt.in))
		if want := strings.Fields(tt.want); !reflect.DeepEqual(got, want) {
			t.Errorf("getoptArgs(%q) = %q, want %q", tt.in, got, want)
		}
	}
}

// TestPingGetoptClusters: ping takes what students type to iputils' ping.
func TestPingGetoptClusters(t *testing.T) {
	t.Parallel()
	out, errOut, code := runNetprog(t, "", "ping", "-c2", "-i0.2", "-qn", "127.0.0.1")
	if code == 2 && strings.Contains(errOut, "not permitted") {
		t.Skip("no raw or datagram ICMP socket here: " + errOut)
	}
	if code != 0 || !strings.Contains(out, "2 packets transmitted, 2 received") || strings.Contains(out, "icmp_seq=") {
		t.Errorf("ping -c2 -i0.2 -qn: exit %d\n%s%s", code, out, errOut)
	}
}
