"""Studies: measurements of the science, real-model and explanation runs (docs/benchmarks.md)."""
