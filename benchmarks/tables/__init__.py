"""Tables: print the README and docs tables from committed results (docs/benchmarks.md)."""
