# gdapflow — see README.md. `make demo` and `make test` are the two commands a
# newcomer needs; both install what they need (Go modules, pinned npm tools).

GO        ?= go
NPM       ?= npm
TOOLS_DIR := tools
STAMP     := $(TOOLS_DIR)/node_modules/.installed
# One set of build flags for every step (vet, tests, the handler that the
# tests and the demo build, the package): the Graph SDK's models package takes
# minutes and about 10 GiB to compile, and each distinct flag set compiles it
# again. The handler ships static (CGO_ENABLED=0) and reproducible (-trimpath).
export CGO_ENABLED := 0
export GOFLAGS    := -trimpath
# Test timeout for the whole suite; individual e2e tests bound themselves.
TEST_TIMEOUT ?= 30m

# The Graph SDK package whose first compile dominates a cold build.
GRAPH_MODELS := github.com/microsoftgraph/msgraph-beta-sdk-go/models

.PHONY: all build tools browser test vet fmt-check unit dev demo bench bench-doc chaos chaos-doc package clean fuzz \
	flake-check flake-unit flake-e2e first-build-note

all: build

# Says so before a build that has to compile the Graph SDK (cold build
# cache); `go list` answers in a few seconds without compiling anything.
first-build-note:
	@if [ "$$($(GO) list -f '{{.Stale}}' $(GRAPH_MODELS) 2>/dev/null)" != "false" ]; then \
		echo "first build compiles the Graph SDK: several minutes, about 10 GiB of memory"; fi

build: first-build-note
	$(GO) build ./...

# Pinned npm tools (Azurite, tree-sitter-bicep). npm ci is reproducible from
# package-lock.json; install scripts are not needed (prebuilt binaries).
tools: $(STAMP)
$(STAMP): $(TOOLS_DIR)/package.json $(TOOLS_DIR)/package-lock.json
	@echo "installing pinned npm tools (Azurite, tree-sitter-bicep): about a minute"
	cd $(TOOLS_DIR) && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

# Debian's chromium for the report page's browser test and the demo's
# screenshot (idempotent; skips with a message where apt-get is missing).
browser:
	@bash $(TOOLS_DIR)/install-chromium.sh

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet: first-build-note
	$(GO) vet ./...

# Every test: unit, integration (Azurite, simulators), end to end (host
# emulator + real handler binary), infrastructure and workflow checks.
test: tools browser fmt-check vet
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# The local stack in the foreground until Ctrl-C: Azurite, the simulators
# with sample data and the handler built from the working tree; writes
# .gdapdev/gdapctl.env and builds bin/gdapctl (docs/run-locally.md).
dev: tools first-build-note
	$(GO) run ./cmd/devenv dev

demo: tools browser first-build-note
	$(GO) run ./cmd/devenv demo

# bench and chaos print their figures; the -doc variants also record them
# in the tracked documents (between generated-section markers). The
# throttled bursts run 5,000 updates and 1,000 Global Administrator removals
# (about 5 minutes on two cores); the full size of the benchmark's
# definition is BENCH_BURST=20000 BENCH_BURST_GA=2000 (on Azurite its first
# burst alone took more than 16 minutes here: docs/performance.md).
BENCH_BURST    ?= 5000
BENCH_BURST_GA ?= 1000
bench: tools first-build-note
	$(GO) run ./cmd/devenv bench -burst $(BENCH_BURST) -burst-ga $(BENCH_BURST_GA) -doc ""

bench-doc: tools first-build-note
	$(GO) run ./cmd/devenv bench -burst $(BENCH_BURST) -burst-ga $(BENCH_BURST_GA) -doc docs/performance.md

chaos: tools first-build-note
	$(GO) run ./cmd/devenv chaos -doc ""

chaos-doc: tools first-build-note
	$(GO) run ./cmd/devenv chaos -doc docs/reliability.md

# Flake hunt: every package's tests many times, at one and two CPUs, so that
# a test depending on scheduling, ordering or timing fails here rather than
# at random in CI. The packages that start processes (the handler binary, the
# host emulator, Azurite) run fewer times. FLAKE_COUNT / FLAKE_E2E_COUNT scale
# it (README, "Other targets", has the measured durations).
FLAKE_COUNT     ?= 20
FLAKE_E2E_COUNT ?= 3
FLAKE_E2E_PKGS  := ./tests/ ./cmd/devenv/ ./cmd/hostemu/ ./cmd/graphsim/ ./cmd/package/ ./internal/dev/chaos/ ./internal/dev/devstack/ ./internal/dev/localenv/ ./infra/ .
FLAKE_TIMEOUT   ?= 60m

flake-check: flake-unit flake-e2e

flake-unit: tools first-build-note
	@echo "flake-check: unit and integration packages, -count=$(FLAKE_COUNT) -cpu 1,2"
	$(GO) test -count=$(FLAKE_COUNT) -cpu 1,2 -timeout $(FLAKE_TIMEOUT) \
		$$($(GO) list ./... | grep -v -x -F "$$($(GO) list $(FLAKE_E2E_PKGS))")

flake-e2e: tools first-build-note
	@echo "flake-check: end-to-end packages, -count=$(FLAKE_E2E_COUNT) -cpu 1,2"
	$(GO) test -count=$(FLAKE_E2E_COUNT) -cpu 1,2 -timeout $(FLAKE_TIMEOUT) $(FLAKE_E2E_PKGS)

package: first-build-note
	$(GO) run ./cmd/package -out dist

clean:
	rm -rf dist bin
