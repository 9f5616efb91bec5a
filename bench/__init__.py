"""End-to-end throughput/latency benchmark of the worker against a raw scorer and two peers.

Run `python -m bench.run`; see the "Benchmark" section of the README.
"""
