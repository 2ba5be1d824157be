# Entry points for people and CI: run | test | bench | check.
# Everything installs into .venv from pinned versions; the first call sets it up.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# bpx-py pins cryptography<44 while ccxt needs >=50: it gets its own venv for the client tests
BPX    := .venv-bpx
BPX_REQ := tests/api/clients/bpx-requirements.txt
NATIVE := build/native
# the compiled core is rebuilt whenever a core source (or the build script) is newer than its manifest
NATIVE_STAMP := $(NATIVE)/rucksack-native.json
CORE_SRC := $(shell find src/rucksack/exchange/core -name '*.py' -not -path '*/__pycache__/*')
# proof of reserves tier (b): circom2 + snarkjs + circomlib, exact versions from tools/zk's lockfile
ZK_NODE := build/zk/node
DATA   ?= data
DEVNET_PORT ?= 8899
# make run's API and web port (export RUCKSACK_URL=http://127.0.0.1:<PORT> for the CLI when it is moved)
PORT   ?= 8000

.PHONY: setup run test test-pure test-native check native bench lab clean chromium postgresql nats-server cluster chaos

setup: $(STAMP) $(BPX)/.installed chromium postgresql nats-server $(ZK_NODE)/.installed

# Debian's chromium for the browser tests (tests/web, driven by Playwright with this system browser:
# Playwright's own browser downloads cannot work here). Installed with apt when missing and allowed.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then SUDO=; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; \
	  else echo "make: install Debian's chromium for tests/web (apt-get install chromium)" >&2; exit 1; fi; \
	  echo "make: installing chromium with apt-get"; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's PostgreSQL 15 for the read-store tests (tests/support/postgres.py starts a throwaway
# cluster from these binaries, as the unprivileged postgres user the package creates) and for
# `rucksack serve --store postgresql://...`. Installed with apt when missing and allowed; the
# package's own cluster is not needed (the tests make theirs), so its service is left as apt sets it.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then SUDO=; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; \
	  else echo "make: install Debian's postgresql (15) for the read-store tests (apt-get install postgresql)" >&2; exit 1; fi; \
	  echo "make: installing postgresql with apt-get"; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# Debian's nats-server (2.9) for the replicated journal (tests/unit/exchange/replica, the failover
# tests and `make cluster`): the project starts its own 3-node cluster on loopback ports.
nats-server:
	@command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then SUDO=; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; \
	  else echo "make: install Debian's nats-server (apt-get install nats-server)" >&2; exit 1; fi; \
	  echo "make: installing nats-server with apt-get"; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null; }

# a 3-node JetStream cluster on 127.0.0.1:14222-14224 (routes 14322-14324) until Ctrl-C; then, with
# J=nats://127.0.0.1:14222,127.0.0.1:14223,127.0.0.1:14224 (docs/deploy.md, "Try it"):
#   rucksack serve --journal $J --data-dir a --gateways 0 --link 127.0.0.1:0 [--standby]
#   rucksack gateway --journal $J --port 8000    (two or more: they share the port)
cluster: setup
	$(PY) -m rucksack cluster --dir build/cluster --base-port 14222

# the failover proof (docs/deploy.md): SIGKILLed primaries, a killed NATS node, a paused primary,
# with 2 independent gateways on one port in front of them
chaos: setup
	$(PY) -m rucksack chaos failover --trials 20

$(ZK_NODE)/.installed: tools/zk/package.json tools/zk/package-lock.json
	mkdir -p $(ZK_NODE)
	cp tools/zk/package.json tools/zk/package-lock.json $(ZK_NODE)/
	cd $(ZK_NODE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

$(BPX)/.installed: $(BPX_REQ)
	$(PYTHON) -m venv $(BPX)
	$(BPX)/bin/python -m pip install --quiet --disable-pip-version-check -r $(BPX_REQ)
	touch $@

# the exchange with the local devnet beside it (all seven chains on loopback): deposits to the
# addresses from GET /wapi/v1/capital/deposit/address are credited, withdrawals land on the devnet.
# It serves on the compiled core, built here when missing or older than the core's sources; when
# that build fails (no C compiler) it serves on the pure-Python core, and the server says which.
run: setup
	@$(PY) tools/build_native.py --check $(NATIVE) 2>/dev/null || rm -f $(NATIVE_STAMP)
	@$(MAKE) --no-print-directory $(NATIVE_STAMP) || echo "make: no compiled core (see above): serving on pure Python"
	@$(PY) -m rucksack devnet --port $(DEVNET_PORT) & devnet=$$!; \
	trap 'kill $$devnet 2>/dev/null' EXIT INT TERM; \
	$(PY) -m rucksack serve --data-dir $(DATA) --port $(PORT) --chain-rpc http://127.0.0.1:$(DEVNET_PORT) --native $(NATIVE)

check: setup
	$(PY) -m ruff check src tests tools
	$(PY) -m ruff format --check src tests tools
	$(PY) -m mypy src/rucksack
	$(VENV)/bin/lint-imports

# every test on the pure-Python core, then the core's tests again on the mypyc-compiled core
test: check test-pure test-native

# (after the native build when one is possible: tests/unit/exchange/test_native.py serves on it)
test-pure: setup
	@$(PY) tools/build_native.py --check $(NATIVE) 2>/dev/null || rm -f $(NATIVE_STAMP)
	@$(MAKE) --no-print-directory $(NATIVE_STAMP) || echo "make: no compiled core: test_native builds its own or skips"
	$(PY) -m pytest -n 2 --dist loadfile -q

# a newer core source rebuilds (make's dependency); so does any other mismatch of the manifest's
# digest with the sources, e.g. a core file deleted (the --check)
# test-native and bench run the whole mirror (PYTHONPATH=$(NATIVE)): --sync refreshes its
# pure-Python files, which a core-only rebuild rule would otherwise leave as they were
native: setup
	@$(PY) tools/build_native.py --check $(NATIVE) 2>/dev/null || rm -f $(NATIVE_STAMP)
	@$(MAKE) --no-print-directory $(NATIVE_STAMP)
	@$(PY) tools/build_native.py --sync $(NATIVE)

$(NATIVE_STAMP): $(STAMP) $(CORE_SRC) tools/build_native.py
	$(PY) tools/build_native.py $(NATIVE)

test-native: native
	PYTHONPATH=$(NATIVE) RUCKSACK_EXPECT_COMPILED=1 $(PY) -m pytest -n 2 -q tests/unit/exchange/core tests/property

bench: native
	PYTHONPATH=$(NATIVE) bash bench/run.sh

# the risk lab's two example scenarios on the compiled core, a report each in $(LAB_OUT)/ (docs/lab.md)
LAB_OUT ?= lab-out
lab: native
	$(PY) -m rucksack lab run gap30 flash-crash --native $(NATIVE) --out $(LAB_OUT)

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
