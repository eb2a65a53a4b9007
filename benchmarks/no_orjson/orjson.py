"""Put first on PYTHONPATH to make the project's optional orjson look absent (benchmark only)."""

raise ImportError("orjson is hidden by benchmarks/no_orjson to measure the stdlib fallback")
