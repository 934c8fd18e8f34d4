"""Benchmark specs (YAML) and performance scripts (``python -m benchmarks.perf``)."""
