# Tandem's build. `make demo` and `make test` are the two commands of the README.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/tandem-io/tandem/internal/version.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GO_TEST_FLAGS ?=
# `make image`: the image's name, and the platform of its binary.
IMAGE ?= ghcr.io/tandem-io/tandem
GOARCH ?= $(shell go env GOARCH)
# The commit's time and hash, so the same commit always gives the same image (0 and no
# revision label outside git).
COMMIT_TIME ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
# The fuzz targets, and how long `make fuzz` gives each.
FUZZTIME ?= 30s

.PHONY: all build build-static image test unit e2e e2e-oldest e2e-versions lint bench bench-server fuzz demo k8s-binaries install-yaml deps clean

all: build

build: ## the tandem binary, in bin/
	go build -ldflags "$(LDFLAGS)" -o bin/tandem ./cmd/tandem

build-static: ## a static, reproducible linux binary for the image, in bin/
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) go build -trimpath -buildvcs=false \
		-ldflags "-s -w $(LDFLAGS)" -o bin/tandem-linux-$(GOARCH) ./cmd/tandem

# `GOARCH=` because hack/image runs here, whatever platform the binary is for.
image: build-static ## bin/tandem-image.tar: the image, for `docker load -i` or `ctr images import`
	GOARCH= go run ./hack/image -binary bin/tandem-linux-$(GOARCH) -arch $(GOARCH) \
		-tag $(IMAGE):$(VERSION) -o bin/tandem-image.tar \
		-version $(VERSION) -revision "$(REVISION)" -created $(COMMIT_TIME)

# The oldest version's binaries build in the background at the lowest priority while the
# rest runs (most of the end-to-end time is spent waiting on clusters); e2e-oldest then
# waits for that build, or finds the cache.
test: ## every test: lint, unit (with -race) and end-to-end (the newest Kubernetes, then the oldest's control plane)
	@log="$${TMPDIR:-/tmp}/tandem-build-oldest.log"; \
	echo "building the oldest Kubernetes's binaries in the background (log: $$log)"; \
	nice -n 19 hack/e2e-versions.sh --build-oldest >/dev/null 2>"$$log" & build=$$!; \
	trap 'kill $$build 2>/dev/null || true' EXIT; \
	$(MAKE) --no-print-directory lint unit e2e; \
	wait $$build || { echo "building the oldest Kubernetes's binaries failed:"; cat "$$log"; exit 1; }; \
	$(MAKE) --no-print-directory e2e-oldest

unit: ## unit, golden, property and fuzz-seed tests, with the race detector
	go test -race $(GO_TEST_FLAGS) ./cmd/... ./internal/... ./examples/... ./hack/...

e2e: k8s-binaries deps ## end-to-end tests: a real control plane, and a real node where Linux and root allow, of Kubernetes $TANDEM_K8S_VERSION (default the newest; docs/development.md)
	TANDEM_K8S_BIN_DIR="$$(hack/k8s-binaries.sh)" go test -timeout 30m $(GO_TEST_FLAGS) ./test/...

e2e-oldest: deps ## the control-plane end-to-end tests on the oldest Kubernetes supported
	hack/e2e-versions.sh --oldest

e2e-versions: deps ## the end-to-end tests on every Kubernetes version supported (docs/install.md), about an hour cold
	hack/e2e-versions.sh

k8s-binaries: ## build (once, cached outside the tree) the control plane, kubelet, containerd and CNI plugins; install runc if missing
	@hack/k8s-binaries.sh >/dev/null

install-yaml: ## deploy/install.yaml: the Helm chart rendered with its defaults, for kubectl apply
	hack/install-yaml.sh

# Tests and the demo build Tandem and the test images inside a network namespace that
# reaches nothing, the module proxy included: every module must be here before.
deps: ## download every Go module the build needs
	go mod download

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

demo: k8s-binaries deps ## a local cluster (with a node where Linux and root allow) with Tandem injecting into examples/test.yaml (Ctrl-C to stop)
	@# Built, then run (not go run), so that Ctrl-C ends it with its own exit status: it
	@# takes the terminal's foreground, so make is not interrupted (0 when stopped).
	go build -o bin/demo ./test/e2e/demo
	TANDEM_K8S_BIN_DIR="$$(hack/k8s-binaries.sh)" bin/demo

clean:
	rm -rf bin
