"""The benchmark scripts, by kind (docs/benchmarks.md); run from the repository root as
``python -m benchmarks.<kind>.<name>``."""
