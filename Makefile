# ovn-driver: the one entry point for building, testing and running.
#   make test   install what is missing, build, run every test suite
#   make run    start OVS, OVN, containerd, dockerd and the driver (foreground)
#   make bench  print benchmark figures
#   make plugin build the Docker managed plugin, create and enable it (make plugin-clean removes it)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
NODE ?= node
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: all deps node-deps system-deps build test test-unit test-integration test-e2e test-node16 bench bench-ovsdb bench-driver bench-scale bench-ipam soak run rpm plugin plugin-clean clean \
	stack-start stack-stop stack-status

all: build

# ---- dependencies -----------------------------------------------------------
system-deps:
	bash scripts/install-deps.sh

# npm ci runs when the lock file's content differs from what node_modules was installed from (a
# checksum, not file times: a fresh checkout or worktree is newer than an install that matches it).
node-deps:
	@want=$$(cat package.json package-lock.json | sha256sum | cut -c1-32); \
	if [ "$$(cat node_modules/.ci-stamp 2>/dev/null)" != "$$want" ]; then \
	  npm ci --no-audit --no-fund && echo "$$want" > node_modules/.ci-stamp; \
	fi

deps: system-deps node-deps

# ---- the real stack: OVS (userspace datapath), OVN, containerd, dockerd --------
stack-start: system-deps
	bash scripts/stack.sh start

stack-stop:
	bash scripts/stack.sh stop

stack-status:
	bash scripts/stack.sh status

# ---- build ------------------------------------------------------------------
# The SIOCETHTOOL addon (native/ethtool.c, for kernels without the ethtool netlink family): C and
# N-API only, compiled by the host's cc against the headers of the node that runs the build (Node
# installs them in <prefix>/include/node). N-API is ABI-stable, so the one file loads in Node 16.20
# and 20 alike. The gateway finds it at dist/native/ethtool.node; the RPM ships an el7 build of it
# (scripts/build-addon-el7.sh).
NODE_INCLUDE ?= $(shell $(NODE) -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")
ADDON_CFLAGS := -std=gnu99 -O2 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden -DNAPI_VERSION=8 -DNODE_GYP_MODULE_NAME=ethtool

build: node-deps
	rm -rf dist
	tsc -p tsconfig.json
	@[ -f "$(NODE_INCLUDE)/node_api.h" ] || { echo "build: failed to find node_api.h in $(NODE_INCLUDE): install Node.js with its headers, or pass NODE_INCLUDE=DIR" >&2; exit 1; }
	mkdir -p dist/native
	$(CC) $(ADDON_CFLAGS) -I"$(NODE_INCLUDE)" -o dist/native/ethtool.node native/ethtool.c

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
bench: bench-ovsdb bench-driver bench-scale bench-ipam

bench-ovsdb: build stack-start
	$(NODE) --expose-gc dist/test/bench/ovsdb-bench.js

bench-driver: build stack-start
	$(NODE) dist/test/bench/driver-bench.js

# A host's cost with 100,000 other hosts' ports in a private Northbound (about a minute).
bench-scale: build stack-start
	$(NODE) dist/test/bench/scale-bench.js

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
