# The worker image: runtime dependencies only (no TensorFlow), the default model bundle inside.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY stream ./stream
COPY model ./model
COPY schemas ./schemas
COPY training ./training
COPY data/demo ./data/demo
RUN pip install --no-cache-dir .
ENV BADBUZZ_DATA_DIR=/var/lib/badbuzz
EXPOSE 6066
CMD ["badbuzz", "worker"]
