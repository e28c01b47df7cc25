# netprog: build, demo, test, bench, lint, fuzz.
GO ?= go
BIN := ./netprog
# staticcheck at a fixed version that knows this Go (go.mod); `go run` fetches
# it into the module cache without touching go.mod.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build demo test bench bench-quick lint fuzz clean readme-strace

# CGO_ENABLED=0: with no cgo, syscall.AllThreadsSyscall can drop a file
# capability on every thread (sys/caps.go); the binary also starts faster.
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/netprog

# The tour of the programs on loopback (demo.sh), after a build.
demo: build
	bash ./demo.sh $(BIN)

# What CI runs (.ci/run): vet, then every test with the race detector.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 25m ./...

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
# needed; cmd/netprog/strace_lessons_test.go holds the commands).
readme-strace:
	$(GO) test -count=1 -run '^TestStraceLessons$$' ./cmd/netprog -update-strace

lint:
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Fuzz the address parser for a while (its seed corpus runs in `make test`).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzResolveAddr -fuzztime 30s ./sys

clean:
	rm -f $(BIN)
