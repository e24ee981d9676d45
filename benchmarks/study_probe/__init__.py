"""Helpers of ``benchmarks/study.py`` (the linear probe on a cache)."""
