# Nymote firmware. `make run` and `make test` work on a fresh clone: each installs what it needs.
SHELL := /bin/bash
NODE  ?= node
# The V8 flags the firmware runs with: the bundle's first line (see firmware/main.ts).
NODE_FLAGS := $(shell sed -n '1s/^\#!.* node //p' firmware/main.ts)
ARCH  ?= arm64
BOARD ?= qemu-arm64
NODE_GYP := npx --no-install node-gyp
# --nodedir: use the machine's Node headers; node-gyp must never try to download them.
GYP_FLAGS := --nodedir=/usr

.PHONY: all deps build typecheck bundle native cross cross-all init run test test-tools test-boards test-cuts test-cross fuzz bench clean boot-image qemu

all: build

# npm ci only when the lock file changed since the last install.
deps: node_modules/.installed
node_modules/.installed: package-lock.json package.json
	npm ci --no-audit --no-fund
	@touch $@

typecheck: deps
	npx --no-install tsc -p tsconfig.json
	npx --no-install tsc -p firmware/ui/client/tsconfig.json

# Host addons → build/Release. Configure only when binding.gyp changed; `node-gyp build` is
# incremental and, unlike `rebuild`, keeps the cross-built build/<arch>/ addons.
build/Makefile: binding.gyp | deps
	$(NODE_GYP) configure $(GYP_FLAGS) >build-native.log 2>&1 || { cat build-native.log; exit 1; }
	@rm -f build-native.log

native: deps build/Makefile
	$(NODE_GYP) build $(GYP_FLAGS) >build-native.log 2>&1 || { cat build-native.log; exit 1; }
	@rm -f build-native.log

# The bundle: firmware/main.ts → dist/firmware/index.js (plus the host addons beside it).
bundle: deps native
	scripts/bundle.sh

build: typecheck bundle

run: build
	$(NODE) $(NODE_FLAGS) dist/firmware/index.js run --data ./var

# Debian tools the tests drive: real clients (git, curl, python3, the DAV, DNS and mail clients,
# chromium for the web UI), clang for the fuzz smoke test.
TEST_TOOLS := git curl python3 clang libssl-dev libclang-rt-14-dev busybox dnsmasq chrony socat \
	litmus vdirsyncer python3-caldav khal khard bind9-dnsutils knot-dnsutils python3-zeroconf iproute2 \
	isync swaks libnet-ssleay-perl libio-socket-ssl-perl chromium fonts-dejavu-core
test-tools:
	scripts/apt-deps.sh $(TEST_TOOLS)

# Fast, representative suites; slow ones (long fuzzing, every board's boot) have their own targets.
test: test-tools build cross-all init boot-image
	$(NODE) scripts/test-summary.mjs test/unit test/interop test/cross test/boot

# Slower: the other boards QEMU can boot (test/boards), each image built first.
BOOT_BOARDS := qemu-armhf cubieboard rpi2
test-boards: test-tools
	for board in $(BOOT_BOARDS); do $(MAKE) --no-print-directory image BOARD=$$board || exit 1; done
	$(NODE) scripts/test-summary.mjs test/boards

# Power cuts in QEMU at random moments of updates (test/cuts: about 20 minutes, so not in make test).
test-cuts: test-tools boot-image
	$(NODE) scripts/test-summary.mjs test/cuts

# The image the boot test boots (test/boot): qemu-arm64, rebuilt from what is cached. It trusts
# a release key made for this checkout's tests (.cache/test-release, never in git), which the
# boot test signs an update with.
TEST_RELEASE := .cache/test-release
boot-image: deps
	test -f $(TEST_RELEASE)/secrets/release/release.key || npx --no-install tsx firmware/main.ts release-key init --data $(TEST_RELEASE) >/dev/null
	npx --no-install tsx firmware/main.ts release-key show --data $(TEST_RELEASE) | tail -n 1 > $(TEST_RELEASE)/release-keys.json
	NYMOTE_RELEASE_KEYS=$(TEST_RELEASE)/release-keys.json $(MAKE) --no-print-directory image BOARD=qemu-arm64

# Boots a board's image with the serial console here and its services on 127.0.0.1
# (QEMU_PORT_BASE, default 10000: HTTP on 10080, IMAP on 10143, DNS on 10053, …).
qemu:
	scripts/qemu.sh $(BOARD)

cross: deps
	scripts/cross-build.sh $(ARCH)

# ARM addons, and Debian trixie's ARM nodejs to run them under qemu-user (fetched once into .cache/debian).
cross-all: deps
	scripts/apt-deps.sh qemu-user-static
	scripts/cross-build.sh armhf && scripts/cross-build.sh arm64
	rootfs/fetch-debs.sh armhf nodejs >/dev/null && rootfs/fetch-debs.sh arm64 nodejs >/dev/null

# nyinit, the device's PID 1 (native/init): static, for the host (its tests) and both ARM arches.
init:
	scripts/build-init.sh host && scripts/build-init.sh armhf && scripts/build-init.sh arm64

test-cross: cross-all
	$(NODE) scripts/test-summary.mjs test/cross

fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

# The peers the benchmarks measure against (../shared/peers starts them).
BENCH_TOOLS := git lighttpd radicale xandikos knot knot-dnsutils nsd dnsperf bind9-dnsutils
bench: build
	scripts/apt-deps.sh $(BENCH_TOOLS)
	npx --no-install tsx bench/run.ts $(BENCH)

# The SD-card image of a board (rootfs/build-image.sh): out/$(BOARD)/nymote-$(BOARD).img, .img.xz,
# .img.bmap and boot/ for QEMU. BOARD must be given; the ARM addons go into the bundle first.
.PHONY: image
image:
	@rootfs/build-image.sh --check $(if $(filter file default,$(origin BOARD)),,$(BOARD))
	$(MAKE) --no-print-directory cross-all init
	$(MAKE) --no-print-directory bundle
	rootfs/build-image.sh $(BOARD)

# A signed release of the app for every board in out/release.git (scripts/release.sh), for
# `git --git-dir out/release.git push <device>/git/firmware.git release`. Needs a release key:
# nymote release-key init (NYMOTE_DATA, default ./var).
.PHONY: release
release:
	$(MAKE) --no-print-directory cross-all
	$(MAKE) --no-print-directory bundle
	scripts/release.sh

clean:
	rm -rf dist build out
