# netprog: build, demo, test, bench, lint.
GO ?= go
BIN := ./netprog

.PHONY: build demo test bench lint clean

build:
	$(GO) build -o $(BIN) ./cmd/netprog

demo: build
	./demo.sh $(BIN)

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 25m ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./...

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...

clean:
	rm -f $(BIN)
