# Nymote firmware. `make run` and `make test` work on a fresh clone: each installs what it needs.
SHELL := /bin/bash
NODE  ?= node
ARCH  ?= arm64
BOARD ?= qemu-arm64
NODE_GYP := npx --no-install node-gyp
# --nodedir: use the machine's Node headers; node-gyp must never try to download them.
GYP_FLAGS := --nodedir=/usr

.PHONY: all deps build typecheck bundle native cross run test test-unit test-cross fuzz bench clean

all: build

# npm ci only when the lock file changed since the last install.
deps: node_modules/.installed
node_modules/.installed: package-lock.json package.json
	npm ci --no-audit --no-fund
	@touch $@

typecheck: deps
	npx --no-install tsc -p tsconfig.json

native: deps
	$(NODE_GYP) rebuild $(GYP_FLAGS) >build-native.log 2>&1 || { cat build-native.log; exit 1; }
	@rm -f build-native.log

# The bundle: firmware/main.ts → dist/firmware/index.js (plus the host addons beside it).
bundle: deps native
	scripts/bundle.sh

build: typecheck bundle

run: build
	$(NODE) dist/firmware/index.js run --data ./var

# Fast, representative suites; slow ones (long fuzzing, every board's boot) have their own targets.
test: build
	$(NODE) scripts/test-summary.mjs test/unit test/interop

cross: deps
	scripts/cross-build.sh $(ARCH)

test-cross:
	scripts/cross-build.sh armhf && scripts/cross-build.sh arm64
	$(NODE) scripts/test-summary.mjs test/cross

fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

bench: build
	npx --no-install tsx bench/run.ts $(BENCH)

clean:
	rm -rf dist build out
