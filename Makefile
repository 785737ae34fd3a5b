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

.PHONY: all build tools test vet fmt-check unit demo bench chaos package clean fuzz

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
