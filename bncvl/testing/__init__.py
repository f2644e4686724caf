"""Test data of bncvl: synthetic asv results and analysis runs (tests and the dashboard's benchmarks), and real
git repositories of this project with planted regressions (``bncvl check``'s tests and calibration)."""
