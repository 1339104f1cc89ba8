"""Re-export of :mod:`digest` under its old name, only for benchmarks/search_bench.py and
benchmarks/scale.py, whose owner switches them to ``from digest import ...``; then delete it."""

from digest import build_digest, render

__all__ = ["build_digest", "render"]
