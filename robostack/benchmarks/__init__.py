"""Benchmarks: each measures a ratio within one run (stack vs raw simulator, new vs old)."""
