"""Tracking performance across commits: git, asv, results, step detection, the regression decision and report."""
