"""Helpers of ``benchmarks/study.py``."""
