"""Synthetic asv results and analysis runs for tests and the dashboard's benchmarks."""
