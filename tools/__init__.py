"""Tools of the project that are neither part of bncvl nor tests: ``python -m tools.NAME``."""
