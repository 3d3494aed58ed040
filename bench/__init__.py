"""Benchmarks and the soak, each rerunnable: `make bench-up`, `make bench-steps`, `make soak`."""
