"""Benchmark runs, pass@k, and reports."""
