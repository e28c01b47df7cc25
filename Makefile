# netprog: build, demo, test, bench, lint, fuzz.
GO ?= go
BIN := ./netprog
# staticcheck at a fixed version that knows this Go (go.mod); `go run` fetches
# it into the module cache without touching go.mod.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build demo test soak bench bench-quick lint fuzz clean readme-strace

# CGO_ENABLED=0: with no cgo, syscall.AllThreadsSyscall can drop a file
# capability on every thread (sys/caps.go); the binary also starts faster.
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/netprog

# The tour of the programs on loopback (demo.sh), after a build.
demo: build
	bash ./demo.sh $(BIN)

# What CI runs (.ci/run): vet, then every test with the race detector.
# The binaries the end-to-end tests run are built once, here, and named to
# every package in NETPROG_TEST_BIN and NETPROG_TEST_RACE_BIN (without
# them, as in `go test ./cmd/netprog`, a test binary builds its own:
# internal/e2e). netprog as the release is built (CGO_ENABLED=0, see
# build); the -race build is for the fork-safety checks of its machine
# code. Most of the tests' time is waiting on servers and clients: more
# packages (-p) and tests (-parallel) run at once than there are cores.
# internal/e2e/progress prints a line per package as go test does, and
# one per test of a second or more as it ends.
TESTBIN := bin/test
TESTP ?= 4
TESTPARALLEL ?= 6
test: SHELL := /bin/bash
test:
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build -o $(TESTBIN)/netprog ./cmd/netprog
	$(GO) build -race -o $(TESTBIN)/netprog-race ./cmd/netprog
	$(GO) build -o $(TESTBIN)/progress ./internal/e2e/progress
	set -o pipefail; \
	NETPROG_TEST_BIN=$(abspath $(TESTBIN)/netprog) NETPROG_TEST_RACE_BIN=$(abspath $(TESTBIN)/netprog-race) \
	$(GO) test -race -count=1 -timeout 25m -p $(TESTP) -parallel $(TESTPARALLEL) -json ./... 2>&1 | $(TESTBIN)/progress

# The long soak: 20,000 sequential conversations per model (make test
# runs 5,000: TestSoakSequential), beside the concurrent soak.
soak:
	$(GO) test -race -count=1 -timeout 25m -run '^TestSoak' -v ./cmd/netprog -soak

# The design-alternatives table (bench/results.md, .json, .svg; about 8 min,
# budgeted), with C reference rows when `cc` is there, and flood ping beside
# iputils (bench/ping.sh, needs root).
# Ctrl-C writes what was measured to bench/results-partial.* and exits 130.
# The harness is built and run, not `go run`: so its exit status reaches
# make, and make's SIGTERM reaches it (go run would die and leave it running).
BENCH := bin/bench
bench: build
	$(GO) build -o $(BENCH) ./bench
	$(BENCH) -bin $(BIN)
	bash bench/ping.sh $(BIN)

# A first look in under 2 minutes on 2 cores (fewer loads, one short repeat),
# written beside the committed results: bench/results-quick.md, .json, .svg.
bench-quick: build
	$(GO) build -o $(BENCH) ./bench
	$(BENCH) -quick -bin $(BIN)

# The README's strace runs and cmd/netprog/testdata/strace/*.golden, written
# from fresh runs of every strace command the README prints (root and strace
# needed; cmd/netprog/strace_lessons_test.go holds the commands), and its
# excerpts of program output, from the tests that run them
# (cmd/netprog/readme_output_test.go lists them).
readme-strace:
	$(GO) test -count=1 -run '^(TestStraceLessons|TestReadmeTrace|TestReadmePing|TestCheckExpected|TestUringUnavailable|TestTracerouteThroughRouter|TestReadmeErrors|TestForkDemo|TestZombieDemoReap|TestReadmeUringSummary|TestReadmeReuseportSummary)$$' ./cmd/netprog -update-strace

lint:
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Fuzz the address parser for a while (its seed corpus runs in `make test`).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzResolveAddr -fuzztime 30s ./sys

clean:
	rm -f $(BIN)
	rm -rf $(TESTBIN)
