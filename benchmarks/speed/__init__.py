"""Speed benchmarks: timings (docs/benchmarks.md)."""
