"""Checks: one-off verifications, bad input, same-output checks (docs/benchmarks.md)."""
