# netprog: build, demo, test, bench, lint, fuzz.
GO ?= go
BIN := ./netprog
# staticcheck at a fixed version that knows this Go (go.mod); `go run` fetches
# it into the module cache without touching go.mod.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build demo test bench lint fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/netprog

# The tour of the programs on loopback (demo.sh), after a build.
demo: build
	bash ./demo.sh $(BIN)

# What CI runs (.ci/run): vet, then every test with the race detector.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 25m ./...

# The design-alternatives table (bench/results.md, .json, .svg; about 8 min,
# budgeted) and flood ping beside iputils (bench/ping.sh, needs root).
bench: build
	$(GO) run ./bench -bin $(BIN)
	bash bench/ping.sh $(BIN)

lint:
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Fuzz the address parser for a while (its seed corpus runs in `make test`).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzResolveAddr -fuzztime 30s ./sys

clean:
	rm -f $(BIN)
