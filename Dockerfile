# The worker image: runtime dependencies only (no TensorFlow), the default model bundle inside.
# `docker build .` builds it (the last stage); `--target train` adds the train extra for the
# retraining job (docker-compose.yml's `retrain` service).
# Base pinned by tag and digest, x86-64 only (docs/security.md: where the digest comes from,
# how to check and bump it).
FROM python:3.11.11-slim-bookworm@sha256:081075da77b2b55c23c088251026fb69a7b2bf92471e491ff5fd75c192fd38e5 AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Every file pip installs is checked against the lock's hashes, and only wheels: no package's
# build script runs here. badbuzz itself is then built with the locked setuptools, offline.
COPY requirements/runtime.lock requirements/runtime.lock
RUN pip install --require-hashes --only-binary=:all: -r requirements/runtime.lock
COPY pyproject.toml README.md ./
COPY stream ./stream
COPY model ./model
COPY schemas ./schemas
COPY training ./training
COPY data/demo ./data/demo
RUN pip install --no-deps --no-build-isolation --no-index . && rm -rf build *.egg-info
# An unprivileged user that owns only its data dir: /app and the installed packages stay
# root's and read-only to the worker.
RUN groupadd --system --gid 10001 badbuzz \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/badbuzz \
        --shell /usr/sbin/nologin badbuzz \
    && install -d -m 0750 -o badbuzz -g badbuzz /var/lib/badbuzz
ENV BADBUZZ_DATA_DIR=/var/lib/badbuzz HOME=/var/lib/badbuzz
USER 10001:10001
EXPOSE 6066
CMD ["badbuzz", "worker"]

# The retraining job: the same image plus TensorFlow, scikit-learn and MLflow, from a lock with
# hashes of its own (the runtime's packages at the same versions); run by the same user.
FROM runtime AS train
USER root
COPY requirements/train.lock requirements/train.lock
RUN pip install --require-hashes --only-binary=:all: -r requirements/train.lock
USER 10001:10001
CMD ["badbuzz", "train", "retrain", "--shadow"]

# The worker, last, so that a plain `docker build .` gives it.
FROM runtime AS worker
