"""Find the steps of the series a publish touched, and keep them in the store's ``steps`` table.

A step's kind depends on more than its own series: :func:`bncvl.track.changes.confirm_changes`
confirms a step with the instruction counts and relative timings of the
same machine, environment and layer parameters. So when a publish writes
values of a series, the steps of every series that shares its machine,
environment and layer parameters (its *confirmation group*) are found again
over their whole history in the store, and replace the ones stored. Series
that no publish touched keep their steps; the dashboard reads them instead
of running step detection on every page load.

One machine's steps are written by one transaction at a time: it locks the
machine's row (PostgreSQL; SQLite serialises every writer anyway) before it
reads the values, so two publishers of one machine cannot leave steps found
in a history that misses the other's values.
"""

from __future__ import annotations

from collections.abc import Mapping

from bncvl._extras import needs_extra
from bncvl.store import schema as t
from bncvl.store.publish import transaction
from bncvl.store.query import load_points
from bncvl.track.results import PARAM_COLUMNS

with needs_extra("store", "bncvl.store.steps"):
    import pandas as pd
    import sqlalchemy as sa

    from bncvl.track.changes import find_changes

__all__ = ["confirmation_group", "redetect"]


def confirmation_group(connection: sa.Connection, series_ids: set[int]) -> list[int]:
    """Every series that shares its layer parameters (:data:`PARAM_COLUMNS`) with one of ``series_ids``."""
    s = t.series.c
    rows = connection.execute(sa.select(s.id, *(s[key] for key in PARAM_COLUMNS))).all()
    layer = {row[0]: tuple(row[1:]) for row in rows}
    wanted = {layer[i] for i in series_ids if i in layer}
    return sorted(i for i, key in layer.items() if key in wanted)


def _replace_steps(connection: sa.Connection, machine_id: int, env_id: int, series_ids: set[int]) -> tuple[int, int]:
    connection.execute(sa.select(t.machines.c.id).where(t.machines.c.id == machine_id).with_for_update())
    group = confirmation_group(connection, series_ids)
    points = load_points(connection, machine_ids=[machine_id], env_ids=[env_id], series_ids=group)
    changes = find_changes(points) if not points.empty else pd.DataFrame()
    st = t.steps.c
    connection.execute(
        sa.delete(t.steps).where(st.machine_id == machine_id, st.env_id == env_id, st.series_id.in_(group))
    )
    if changes.empty:
        return len(group), 0
    s, b = t.series.c, t.benchmarks.c
    by_name = {
        (name, label): series_id
        for series_id, name, label in connection.execute(
            sa.select(s.id, b.name, s.params)
            .join_from(t.series, t.benchmarks, b.id == s.benchmark_id)
            .where(s.id.in_(group))
        )
    }
    hashes = sorted(set(changes["commit_before"]) | set(changes["commit_after"]))
    commit_ids = dict(
        connection.execute(sa.select(t.commits.c.hash, t.commits.c.id).where(t.commits.c.hash.in_(hashes))).all()
    )
    rows = [
        {
            "machine_id": machine_id,
            "env_id": env_id,
            "series_id": by_name[(str(step.benchmark), str(step.params))],
            "direction": step.direction,
            "kind": step.kind,
            "commit_before_id": commit_ids[step.commit_before],
            "commit_after_id": commit_ids[step.commit_after],
            "value_before": float(step.value_before),
            "value_after": float(step.value_after),
            "factor": float(step.factor),
            "evidence": step.evidence,
        }
        for step in changes.itertuples(index=False)
    ]
    connection.execute(sa.insert(t.steps), rows)
    return len(group), len(rows)


def redetect(engine: sa.Engine, touched: Mapping[tuple[int, int], set[int]]) -> tuple[int, int]:
    """Find again the steps of the confirmation groups of ``touched`` ((machine id, environment id) -> series ids).

    Returns:
        How many series were searched, and how many steps were found in them.
    """
    searched = found = 0
    for (machine_id, env_id), series_ids in sorted(touched.items()):
        groups, steps = transaction(engine, lambda c, m=machine_id, e=env_id, s=series_ids: _replace_steps(c, m, e, s))
        searched += groups
        found += steps
    return searched, found
