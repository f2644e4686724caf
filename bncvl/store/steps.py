"""Find the steps of the series a publish touched, over a window of recent commits, and keep them in ``steps``.

A step's kind depends on more than its own series: :func:`bncvl.track.changes.confirm_changes`
confirms a step with the instruction counts and relative timings of the
same machine, environment and layer parameters. So when a publish writes
values of a series, the steps of every series that shares its machine,
environment and layer parameters (its *confirmation group*) are found again,
and replace the ones stored. Series that no publish touched keep their
steps; the dashboard reads them instead of running step detection on every
page load.

Steps are found over a *window*: the machine's commits from ``window``
commits before the oldest commit the publish wrote up to its newest. Only
the steps that begin inside the window (their last commit before the step
is in it) are replaced; an older one stays as an earlier publish found it
while the window's newest level still shows it (asv reports a step only
while it holds at the newest commit), and is dropped once it is reverted.
So publishing one new commit costs the same at 100 commits as at 10,000
(asv's fit takes milliseconds per series and grows with its length), and a
step is found from the window's history: one that needs more than
``window`` earlier commits to stand out from the noise is not found. The
first publish of a machine's history, or ``window`` 0, searches it all.

One machine's steps are written by one transaction at a time: it locks the
machine's row (PostgreSQL; SQLite serialises every writer anyway) before it
reads the values, so two publishers of one machine cannot leave steps found
in a history that misses the other's values.
"""

from __future__ import annotations

from collections.abc import Mapping

from bncvl._extras import needs_extra
from bncvl.store import DEFAULT_STEPS_WINDOW
from bncvl.store import schema as t
from bncvl.store.publish import Touched, transaction
from bncvl.store.query import load_points
from bncvl.track.results import PARAM_COLUMNS

with needs_extra("store", "bncvl.store.steps"):
    import pandas as pd
    import sqlalchemy as sa

    from bncvl.track.changes import DEFAULT_THRESHOLD, find_changes, fit_steps

__all__ = ["check_window", "confirmation_group", "redetect", "window_commits"]


def confirmation_group(connection: sa.Connection, series_ids: set[int]) -> list[int]:
    """Every series that shares its layer parameters (:data:`PARAM_COLUMNS`) with one of ``series_ids``."""
    s = t.series.c
    rows = connection.execute(sa.select(s.id, *(s[key] for key in PARAM_COLUMNS))).all()
    layer = {row[0]: tuple(row[1:]) for row in rows}
    wanted = {layer[i] for i in series_ids if i in layer}
    return sorted(i for i, key in layer.items() if key in wanted)


def window_commits(
    connection: sa.Connection, machine_id: int, env_id: int, written: set[int], window: int
) -> list[int] | None:
    """The ids of the machine's commits (in this environment) that step detection searches, oldest first: from
    ``window`` commits before the oldest of ``written`` on; None for all of them."""
    r, c = t.results.c, t.commits.c
    rows = connection.execute(
        sa.select(r.commit_id)
        .join_from(t.results, t.commits, c.id == r.commit_id)
        .where(r.machine_id == machine_id, r.env_id == env_id)
        .order_by(c.date, c.hash)
    ).all()
    ordered = [row.commit_id for row in rows]
    positions = [i for i, commit in enumerate(ordered) if commit in written]
    if window <= 0 or not positions or positions[0] <= window:
        return None
    return ordered[positions[0] - window :]


def _replace_steps(
    connection: sa.Connection, machine_id: int, env_id: int, touched: Touched, window: int
) -> tuple[int, int]:
    connection.execute(sa.select(t.machines.c.id).where(t.machines.c.id == machine_id).with_for_update())
    group = confirmation_group(connection, touched.series)
    commits = window_commits(connection, machine_id, env_id, touched.commits, window)
    points = load_points(connection, machine_ids=[machine_id], env_ids=[env_id], series_ids=group, commit_ids=commits)
    changes = find_changes(points) if not points.empty else pd.DataFrame()
    st = t.steps.c
    replaced = [st.machine_id == machine_id, st.env_id == env_id, st.series_id.in_(group)]
    s, b = t.series.c, t.benchmarks.c
    by_name = {
        (name, label): series_id
        for series_id, name, label in connection.execute(
            sa.select(s.id, b.name, s.params)
            .join_from(t.series, t.benchmarks, b.id == s.benchmark_id)
            .where(s.id.in_(group))
        )
    }
    if commits is not None:
        _drop_reverted(connection, [*replaced, st.commit_before_id.not_in(commits)], points, by_name)
        replaced.append(st.commit_before_id.in_(commits))
    connection.execute(sa.delete(t.steps).where(*replaced))
    if changes.empty:
        return len(group), 0
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


def _drop_reverted(
    connection: sa.Connection, older: list, points: pd.DataFrame, by_name: dict[tuple[str, str], int]
) -> None:
    """Delete the steps before the window (``older``) that the window's newest level no longer shows: asv reports
    a step only while it holds at the newest commit (``detect_regressions``), as the dashboard's reader of the
    files does over the whole history. A step holds while the newest level stays beyond its level before by
    :data:`DEFAULT_THRESHOLD`, the way it went."""
    st = t.steps.c
    stored = connection.execute(sa.select(st.id, st.series_id, st.value_before, st.value_after).where(*older)).all()
    if not stored:
        return
    stepped = {row.series_id for row in stored}
    measured = points[points["status"] == "ok"].sort_values("order")
    newest = {}
    for (name, label), rows in measured.groupby(["benchmark", "params"], observed=True):
        series_id = by_name[(str(name), str(label))]
        if series_id in stepped:  # asv's fit costs milliseconds: only for the series with a step to check
            fit = fit_steps(rows["value"], rows["weight"])
            if fit:
                newest[series_id] = fit[-1].value
    reverted = []
    for row in stored:
        level = newest.get(row.series_id)
        if level is None:
            continue
        up = row.value_after > row.value_before
        holds = (
            level > row.value_before * (1 + DEFAULT_THRESHOLD)
            if up
            else level * (1 + DEFAULT_THRESHOLD) < row.value_before
        )
        if not holds:
            reverted.append(row.id)
    if reverted:
        connection.execute(sa.delete(t.steps).where(st.id.in_(reverted)))


def check_window(window: int) -> None:
    """Raise ``ValueError`` naming ``--steps-window`` unless ``window`` is a number of commits >= 0."""
    if window < 0:
        raise ValueError(f"--steps-window must be a number of commits >= 0 (0: the whole history); got {window}")


def redetect(
    engine: sa.Engine, touched: Mapping[tuple[int, int], Touched], window: int = DEFAULT_STEPS_WINDOW
) -> tuple[int, int]:
    """Find again the steps of the confirmation groups of ``touched`` ((machine id, environment id) -> what a
    publish wrote), over ``window`` commits before the oldest written (0: the whole history).

    Returns:
        How many series were searched, and how many steps were found in them.

    Raises:
        ValueError: ``window`` is negative.
    """
    check_window(window)
    searched = found = 0
    for (machine_id, env_id), written in sorted(touched.items()):
        groups, steps = transaction(
            engine, lambda c, m=machine_id, e=env_id, w=written: _replace_steps(c, m, e, w, window)
        )
        searched += groups
        found += steps
    return searched, found
