# ovn-driver: the one entry point for building, testing and running.
#   make test   install what is missing, build, run every test suite
#   make run    start OVS, OVN, containerd, dockerd and the driver (foreground)
#   make bench  print benchmark figures
#   make plugin build the Docker managed plugin, create and enable it (make plugin-clean removes it)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
NODE ?= node
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: all deps system-deps build test test-unit test-integration test-e2e test-node16 bench bench-ovsdb bench-driver bench-ipam soak run rpm plugin plugin-clean clean \
	stack-start stack-stop stack-status

all: build

# ---- dependencies -----------------------------------------------------------
system-deps:
	bash scripts/install-deps.sh

node_modules/.ci-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

deps: system-deps node_modules/.ci-stamp

# ---- the real stack: OVS (userspace datapath), OVN, containerd, dockerd --------
stack-start: system-deps
	bash scripts/stack.sh start

stack-stop:
	bash scripts/stack.sh stop

stack-status:
	bash scripts/stack.sh status

# ---- build ------------------------------------------------------------------
build: node_modules/.ci-stamp
	rm -rf dist
	tsc -p tsconfig.json

# ---- tests ------------------------------------------------------------------
test-unit: build
	$(NODE) --test dist/test/unit/

test-integration: build stack-start
	$(NODE) --test dist/test/integration/

test-e2e: build stack-start
	$(NODE) --test dist/test/e2e/

# el7 hosts run Node 16.20: the unit and integration suites run again under that exact runtime.
test-node16: build stack-start
	N16=$$(bash scripts/node16.sh); $$N16 --test dist/test/unit/ && $$N16 --test dist/test/integration/

test: deps build test-unit test-integration test-node16 test-e2e

# ---- benchmarks (figures, not tests) ------------------------------------------
bench: bench-ovsdb bench-driver bench-ipam

bench-ovsdb: build stack-start
	$(NODE) --expose-gc dist/test/bench/ovsdb-bench.js

bench-driver: build stack-start
	$(NODE) dist/test/bench/driver-bench.js

bench-ipam: build
	$(NODE) dist/test/bench/ipam-bench.js

# The full soak of issue 5 (10,000 endpoint lifecycles; make test runs a 2,000 one in test/e2e/load).
soak: build stack-start
	$(NODE) dist/test/bench/soak.js 10000

# ---- packaging --------------------------------------------------------------
rpm: build
	bash scripts/build-rpm.sh

# The Docker managed plugin (plugin API v2), built from this checkout without a registry:
# build/plugin/{config.json,rootfs}, then docker plugin create + enable. PLUGIN names it (the
# Docker driver name is then $(PLUGIN):latest); PLUGIN_SET settings apply before the first
# start (make plugin PLUGIN_SET="DEBUG=1 OVN_DRIVER_NB=tcp:10.0.0.1:6641"). plugin-clean disables
# and removes it.
PLUGIN ?= ovn-driver
PLUGIN_SET ?=

plugin: system-deps build
	bash scripts/plugin.sh install $(PLUGIN) build/plugin $(PLUGIN_SET)

plugin-clean:
	bash scripts/plugin.sh remove $(PLUGIN)

# ---- running ----------------------------------------------------------------
run: deps build stack-start
	$(NODE) dist/src/main.js

clean:
	rm -rf dist build
