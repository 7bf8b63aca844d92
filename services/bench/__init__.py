"""``make bench``: the benchmark harness; it writes ``docs/benchmarks.md``."""
