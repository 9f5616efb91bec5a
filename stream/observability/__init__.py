"""What operators see: Prometheus metrics, JSON logs, model drift."""
