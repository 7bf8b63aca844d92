"""``make bench``: the benchmark harness; it writes ``docs/benchmarks.md``."""

__all__: list[str] = []
