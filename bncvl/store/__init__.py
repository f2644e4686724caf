"""The results store: the asv results and analysis-run summaries of many machines in one database.

One store, two deployments, one code path (SQLAlchemy Core): an embedded
SQLite file in asv's results directory, nothing to start, and PostgreSQL
for a team, chosen by a URL (``--store``, or ``BNCVL_STORE``). asv's files
stay the source of truth: ``bncvl publish`` copies them in.

- :mod:`bncvl.store.engine`: the URL, the connection, the schema version and its migrations;
- :mod:`bncvl.store.schema`: the tables;
- :mod:`bncvl.store.ingest` and :mod:`bncvl.store.publish`: reading asv's files and writing them, a file per
  transaction;
- :mod:`bncvl.store.steps`: the steps of the series a publish touched;
- :mod:`bncvl.store.query`: the dashboard's frames, filtered in SQL.
"""

DEFAULT_STEPS_WINDOW = 20
"""Commits of history before the oldest newly published one that a publish's step detection searches
(:mod:`bncvl.store.steps`, ``bncvl publish --steps-window``). At 20, step detection after one new commit of a GPU
host (about 2,400 series) takes about 2 s on a 2-core machine (docs/measurements/2026-12-04-store-scale.md)."""
