# Tandem's build. `make demo` and `make test` are the two commands of the README.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/tandem-io/tandem/internal/version.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GO_TEST_FLAGS ?=
# The fuzz targets, and how long `make fuzz` gives each.
FUZZTIME ?= 30s

.PHONY: all build test unit e2e lint bench bench-server fuzz demo k8s-binaries clean

all: build

build: ## the tandem binary, in bin/
	go build -ldflags "$(LDFLAGS)" -o bin/tandem ./cmd/tandem

test: lint unit e2e ## every test: lint, unit (with -race) and end-to-end

unit: ## unit, golden, property and fuzz-seed tests, with the race detector
	go test -race $(GO_TEST_FLAGS) ./cmd/... ./internal/... ./examples/...

e2e: k8s-binaries ## end-to-end tests against a real etcd, kube-apiserver and kube-controller-manager
	TANDEM_K8S_BIN_DIR="$$(hack/k8s-binaries.sh)" go test -timeout 30m $(GO_TEST_FLAGS) ./test/...

k8s-binaries: ## build (once, cached outside the tree) etcd, kube-apiserver, kube-controller-manager, kubectl
	@hack/k8s-binaries.sh >/dev/null

lint: ## gofmt, go vet, staticcheck
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go run $(STATICCHECK) ./...

bench: ## engine and server benchmarks (see docs/performance.md)
	go test -run '^$$' -bench . -benchmem ./internal/...

bench-server: ## tandem serve against a do-nothing TLS server under load (about 5 minutes; docs/performance.md)
	hack/bench-server.sh

fuzz: ## run each fuzz target for FUZZTIME
	@for target in $$(grep -rhoE '^func Fuzz[A-Za-z]+' --include='*_test.go' internal | sed 's/func //' | sort -u); do \
		pkg=$$(grep -rlE "^func $$target\(" --include='*_test.go' internal | xargs dirname); \
		echo "== $$target ($$pkg)"; go test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "./$$pkg"; \
	done

demo: k8s-binaries ## a local control plane with Tandem injecting into examples/test.yaml (Ctrl-C to stop)
	TANDEM_K8S_BIN_DIR="$$(hack/k8s-binaries.sh)" go run ./test/e2e/demo

clean:
	rm -rf bin
