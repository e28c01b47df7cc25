package main

import (
	"flag"
	"strings"
)

// getoptArgs rewrites getopt(3)-style short options, which Go's flag package
// does not read, into the form it does, for commands that mimic a classic
// tool (ping, traceroute): "-c3" becomes "-c 3", "-qn" becomes "-q -n",
// "-i0.2" becomes "-i 0.2". An argument that already names a flag ("-c",
// "-trace"), a negative number, and everything after "--" are left alone,
// as is the value that follows a flag given on its own.
func getoptArgs(fs *flag.FlagSet, args []string) []string {
	var out []string
	takesValue := func(name string) (known, value bool) {
		f := fs.Lookup(name)
		if f == nil {
			return false, false
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			return true, false
		}
		return true, true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) < 2 || a[0] != '-' || a[1] == '-' || strings.Contains(a, "=") {
			out = append(out, a)
			continue
		}
		name := a[1:]
		if known, value := takesValue(name); known {
			out = append(out, a)
			if value && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		}
		expanded, ok := splitCluster(name, takesValue)
		if !ok {
			out = append(out, a) // let flag report it
			continue
		}
		out = append(out, expanded...)
	}
	return out
}

// splitCluster splits "qn" into "-q -n" and "c3" (or "qc3") into
// "-c 3": single letters, each a known flag; the first that takes a value
// takes the rest of the cluster as that value.
func splitCluster(cluster string, takesValue func(string) (bool, bool)) ([]string, bool) {
	var out []string
	for j := 0; j < len(cluster); j++ {
		letter := cluster[j : j+1]
		known, value := takesValue(letter)
		if !known {
			return nil, false
		}
		out = append(out, "-"+letter)
		if value {
			if rest := cluster[j+1:]; rest != "" {
				out = append(out, rest)
			}
			return out, true
		}
	}
	return out, true
}
