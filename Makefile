# Everything a fresh machine needs goes through these targets (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KAFKA_PORT ?= 9092

.PHONY: install tools test demo lint kafka-up kafka-down bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[train,test]"
	touch $@

lint: install
	$(BIN)/ruff check .

# promtool, for the alert-rule tests in tests/test_deploy.py: Debian's `prometheus` package,
# unpacked into the venv rather than installed (installing it would also start a Prometheus
# server on :9090 where systemd runs). Chromium and its driver, for the status-page test in
# tests/integration/test_status_page.py. Needs root and a Debian/Ubuntu mirror the first time.
tools: install
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { \
	  echo "installing chromium and chromium-driver from Debian"; \
	  apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }
	@command -v promtool >/dev/null 2>&1 || test -x $(BIN)/promtool || { \
	  echo "installing promtool into $(BIN) from Debian's prometheus package"; \
	  tmp=$$(mktemp -d) && chmod 755 $$tmp && { chown _apt $$tmp 2>/dev/null || true; } && \
	  apt-get update -qq && (cd $$tmp && apt-get download -qq prometheus) && \
	  dpkg-deb -x $$tmp/prometheus_*.deb $$tmp/root && \
	  install -m 0755 $$tmp/root/usr/bin/promtool $(BIN)/promtool && \
	  rm -rf $$tmp && $(BIN)/promtool --version | head -1; }

test: lint tools
	$(BIN)/python -m pytest

demo: install
	$(BIN)/badbuzz demo

kafka-up: install
	$(BIN)/badbuzz kafka up --port $(KAFKA_PORT)

kafka-down: install
	$(BIN)/badbuzz kafka down
