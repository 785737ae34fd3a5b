# gdapflow — see README.md. `make demo` and `make test` are the two commands a
# newcomer needs; both install what they need (Go modules, pinned npm tools).

GO        ?= go
NPM       ?= npm
TOOLS_DIR := tools
STAMP     := $(TOOLS_DIR)/node_modules/.installed
# Test timeout for the whole suite; individual e2e tests bound themselves.
TEST_TIMEOUT ?= 30m

.PHONY: all build tools test vet fmt-check unit dev demo bench chaos package clean fuzz

all: build

build:
	$(GO) build ./...

# Pinned npm tools (Azurite, tree-sitter-bicep). npm ci is reproducible from
# package-lock.json; install scripts are not needed (prebuilt binaries).
tools: $(STAMP)
$(STAMP): $(TOOLS_DIR)/package.json $(TOOLS_DIR)/package-lock.json
	cd $(TOOLS_DIR) && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Every test: unit, integration (Azurite, simulators), end to end (host
# emulator + real handler binary), infrastructure and workflow checks.
test: tools fmt-check vet
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# The local stack in the foreground until Ctrl-C: Azurite, the simulators
# with sample data and the handler built from the working tree; writes
# .gdapdev/gdapctl.env and builds bin/gdapctl (docs/run-locally.md).
dev: tools
	$(GO) run ./cmd/devenv dev

demo: tools
	$(GO) run ./cmd/devenv demo

bench: tools
	$(GO) run ./cmd/devenv bench

chaos: tools
	$(GO) run ./cmd/devenv chaos

package:
	$(GO) run ./cmd/package -out dist

clean:
	rm -rf dist bin
