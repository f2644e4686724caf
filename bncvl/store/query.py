"""Read the store back as the frames the dashboard uses (:class:`bncvl.track.results.ResultsSet` and the steps).

Plain functions, no Streamlit. Every filter (machines, environments,
benchmarks, the layer parameters, commits) goes into the SQL, so a page
asks only for the values it shows; the wide ``points`` rows travel as ids
and numbers and get their names from the small tables here, in numpy.

``order`` numbers every commit of the store by date, then hash, oldest
first, as :func:`bncvl.track.results.load_results` numbers the commits it
reads; so a chart's positions do not depend on the selection.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence

from bncvl._extras import needs_extra
from bncvl.store import schema as t

with needs_extra("store", "bncvl.store.query"):
    import numpy as np
    import pandas as pd
    import sqlalchemy as sa

    from bncvl.track.results import PARAM_COLUMNS, ResultsSet

__all__ = [
    "load_benchmarks",
    "load_broken",
    "load_catalogue",
    "load_changes",
    "load_commits",
    "load_coverage",
    "load_health",
    "load_machines",
    "load_points",
    "load_problems",
    "load_store",
    "store_state",
]

_STATUSES = sorted(t.STATUS_CODES, key=t.STATUS_CODES.__getitem__)
MAX_LISTED_IDS = 25_000
"""The most ids :func:`load_points` lists as bound parameters (SQLite takes at most 32,766 in a statement)."""
_STATS = ("q_25", "q_75", "ci_99_a", "ci_99_b")
Bind = sa.Engine | sa.Connection


@contextlib.contextmanager
def _connected(bind: Bind) -> Iterator[sa.Connection]:
    if isinstance(bind, sa.Connection):
        yield bind
    else:
        with bind.connect() as connection:
            yield connection


def _commit_table(connection: sa.Connection, newest: int | None = None, messages: bool = True) -> pd.DataFrame:
    """The commits, oldest first: ``id``, ``commit_hash``, ``date`` (ms), ``subject`` and ``message`` (with
    ``messages``) and ``order`` (the position among all of the store's commits); all, or the ``newest`` only."""
    c = t.commits.c
    columns = [c.id, c.hash, c.date, *((c.subject, c.message) if messages else ())]
    names = ["id", "commit_hash", "date", *(("subject", "message") if messages else ())]
    if newest is None:
        table = pd.DataFrame(connection.execute(sa.select(*columns)).all(), columns=names)
        table = table.sort_values(["date", "commit_hash"], ignore_index=True)
        table["order"] = np.arange(len(table), dtype="int64")
        return table
    total = connection.execute(sa.select(sa.func.count()).select_from(t.commits)).scalar_one()
    statement = sa.select(*columns).order_by(c.date.desc(), c.hash.desc()).limit(max(newest, 0))
    table = pd.DataFrame(connection.execute(statement).all()[::-1], columns=names)
    table["order"] = np.arange(total - len(table), total, dtype="int64")
    return table


def _as_list(values: str | Iterable[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [values] if isinstance(values, str) else list(values)


def _result_conditions(
    connection: sa.Connection,
    machines: list[str] | None,
    env_names: list[str] | None,
    commit_ids: list[int] | None,
    machine_ids: list[int] | None,
    env_ids: list[int] | None,
) -> list:
    r = t.results.c
    conditions = []
    if machines is not None:
        conditions.append(r.machine_id.in_(sa.select(t.machines.c.id).where(t.machines.c.name.in_(machines))))
    if machine_ids is not None:
        conditions.append(r.machine_id.in_(machine_ids))
    if env_names is not None:
        conditions.append(r.env_id.in_(sa.select(t.environments.c.id).where(t.environments.c.name.in_(env_names))))
    if env_ids is not None:
        conditions.append(r.env_id.in_(env_ids))
    if commit_ids is not None:
        conditions.append(r.commit_id.in_(commit_ids))
    return conditions


def _series_conditions(benchmarks: list[str] | None, params: Mapping[str, Iterable[str]], series_ids) -> list:
    s = t.series.c
    conditions = []
    if benchmarks is not None:
        conditions.append(s.benchmark_id.in_(sa.select(t.benchmarks.c.id).where(t.benchmarks.c.name.in_(benchmarks))))
    for name, allowed in params.items():
        if name in PARAM_COLUMNS:
            conditions.append(s[name].in_(_as_list(allowed)))
    if series_ids is not None:
        conditions.append(s.id.in_(series_ids))
    return conditions


def _categorical(labels: Sequence, index: np.ndarray) -> pd.Categorical:
    """``labels[index]`` as a categorical, built from the (few) labels rather than the (many) rows."""
    categories = pd.Categorical(list(labels))
    return pd.Categorical.from_codes(categories.codes[index], categories.categories)


def _empty_points(param_names: Iterable[str] = PARAM_COLUMNS) -> pd.DataFrame:
    columns = ["machine", "env_name", "commit_hash", "date", "benchmark", "params", "value", "status", *_STATS]
    columns += ["samples", "weight", *dict.fromkeys((*PARAM_COLUMNS, *param_names)), "unit", "order"]
    return pd.DataFrame({name: [] for name in columns})


def load_points(
    bind: Bind,
    *,
    machines: str | Iterable[str] | None = None,
    env_names: str | Iterable[str] | None = None,
    benchmarks: str | Iterable[str] | None = None,
    params: Mapping[str, str | Iterable[str]] | None = None,
    commits: str | Iterable[str] | None = None,
    last: int | None = None,
    machine_ids: Iterable[int] | None = None,
    env_ids: Iterable[int] | None = None,
    series_ids: Iterable[int] | None = None,
    commit_ids: Iterable[int] | None = None,
    statuses: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """The values the filters select, as :attr:`ResultsSet.points` (the same columns, dtypes and meanings).

    Args:
        bind: the store's engine (or a connection in a transaction).
        machines, env_names, benchmarks: names to keep (None: all).
        params: parameter name -> the values to keep, e.g. ``{"preset": ["medium"], "device": ["cpu"]}``; the
            layer parameters (``variant``, ``preset``, ``device``, ``dtype``) are filtered in SQL, others after.
        commits: commit hashes to keep; ``last``: only the newest ``last`` commits of the store.
        machine_ids, env_ids, series_ids, commit_ids: the store's ids (for :mod:`bncvl.store.steps`).
        statuses: only values of these statuses (e.g. ``["ok"]``: what a chart draws).

    Returns:
        One row per value, ordered by machine, commit order, environment and series.
    """
    params = {name: _as_list(v) for name, v in (params or {}).items()}
    with _connected(bind) as connection:
        # the newest commits alone when that is the only commit filter: a store has 10,000 of them
        only_last = last is not None and commits is None and commit_ids is None
        commit_table = _commit_table(connection, last if only_last else None, messages=False)
        chosen = commit_table
        if only_last:
            commit_ids = commit_table["id"].tolist()
        if commits is not None:
            chosen = chosen[chosen["commit_hash"].isin(_as_list(commits))]
        if last is not None and not only_last:
            chosen = chosen.tail(max(last, 0))
        if commit_ids is not None:
            chosen = chosen[chosen["id"].isin(list(commit_ids))]
        commit_ids = None if chosen is commit_table else chosen["id"].tolist()
        result_where = _result_conditions(
            connection,
            _as_list(machines),
            _as_list(env_names),
            commit_ids,
            None if machine_ids is None else list(machine_ids),
            None if env_ids is None else list(env_ids),
        )
        series_where = _series_conditions(
            _as_list(benchmarks), params, None if series_ids is None else sorted(series_ids)
        )
        p, r, s = t.points.c, t.results.c, t.series.c
        # The chosen series and result files as lists of ids, not joins: both engines then probe points' primary
        # key (series, result) for them. As joins, SQLite without ANALYZE scanned every point; as IN subqueries,
        # PostgreSQL scanned each series' every result (2.2 s for Trends at 1.9e7 values, 0.3 s with lists:
        # measurements/2026-12-04-store-scale.md). A very long list is left to a subquery.
        chosen_points = []
        for column, table, where in ((p.result_id, t.results, result_where), (p.series_id, t.series, series_where)):
            if not where:
                continue
            ids = connection.execute(sa.select(table.c.id).where(*where).limit(MAX_LISTED_IDS + 1)).scalars().all()
            if not ids:
                return _empty_points()
            listed = len(ids) <= MAX_LISTED_IDS
            chosen_points.append(column.in_(ids if listed else sa.select(table.c.id).where(*where)))
        if statuses is not None:
            chosen_points.append(p.status.in_([t.STATUS_CODES[name] for name in _as_list(statuses)]))
        statement = sa.select(
            p.series_id, p.result_id, p.status, p.value, p.q_25, p.q_75, p.ci_99_a, p.ci_99_b, p.samples
        ).where(*chosen_points)
        rows = connection.execute(statement).all()
        if not rows:
            return _empty_points()
        result_rows = connection.execute(
            sa.select(r.id, t.machines.c.name.label("machine"), t.environments.c.name.label("env_name"), r.commit_id)
            .join_from(t.results, t.machines, t.machines.c.id == r.machine_id)
            .join(t.environments, t.environments.c.id == r.env_id)
            .where(*result_where)
            .order_by(r.id)
        ).all()
        series_rows = connection.execute(
            sa.select(s.id, t.benchmarks.c.name, t.benchmarks.c.unit, s.params, s.param_values)
            .join_from(t.series, t.benchmarks, t.benchmarks.c.id == s.benchmark_id)
            .where(*series_where)
            .order_by(s.id)
        ).all()
    return _points_frame(rows, result_rows, series_rows, commit_table, params)


def _points_frame(rows, result_rows, series_rows, commit_table: pd.DataFrame, params) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True))
    result_ids = np.asarray([row.id for row in result_rows], dtype="int64")
    series_ids = np.asarray([row.id for row in series_rows], dtype="int64")
    at_result = np.searchsorted(result_ids, np.asarray(columns[1], dtype="int64"))
    at_series = np.searchsorted(series_ids, np.asarray(columns[0], dtype="int64"))
    commits = commit_table.set_index("id")
    result_commit = commits.loc[[row.commit_id for row in result_rows]]
    point_commit = result_commit.iloc[at_result]
    table: dict[str, object] = {
        "machine": _categorical([row.machine for row in result_rows], at_result),
        "env_name": _categorical([row.env_name for row in result_rows], at_result),
        "commit_hash": _categorical(result_commit["commit_hash"].tolist(), at_result),
        "date": pd.to_datetime(point_commit["date"].to_numpy(dtype="int64"), unit="ms", utc=True),
        "benchmark": _categorical([row.name for row in series_rows], at_series),
        "params": _categorical([row.params for row in series_rows], at_series),
        "value": np.array(columns[3], dtype=float),
        "status": pd.Categorical.from_codes(np.asarray(columns[2], dtype="int8"), _STATUSES),
    }
    for i, key in enumerate(_STATS, start=4):
        table[key] = np.array(columns[i], dtype=float)
    table["samples"] = pd.Series(
        [None if b is None else tuple(np.frombuffer(b, dtype="<f8").tolist()) for b in columns[8]], dtype=object
    ).to_numpy()
    low, high = table["ci_99_a"], table["ci_99_b"]
    with np.errstate(divide="ignore", invalid="ignore"):
        # asv._stats.get_weight, as bncvl.track.results computes it: 2 / CI width; none for an infinite interval
        usable = np.isfinite(low) & np.isfinite(high) & (high != low)
        table["weight"] = np.where(usable, 2.0 / np.abs(high - low), np.nan)
    per_series = [json.loads(row.param_values) for row in series_rows]
    names = dict.fromkeys((*PARAM_COLUMNS, *(k for values in per_series for k in values)))
    for key in names:
        table[key] = _categorical([values.get(key) for values in per_series], at_series)
    table["unit"] = _categorical([row.unit for row in series_rows], at_series)
    table["order"] = point_commit["order"].to_numpy(dtype="int64")
    table["_series"] = series_ids[at_series]
    frame = pd.DataFrame(table)
    for name, allowed in params.items():
        if name not in PARAM_COLUMNS and name in frame:
            frame = frame[frame[name].astype(object).isin(allowed)]
    # categories are sorted, so this is by machine name, commit order, environment name, series
    frame = frame.sort_values(["machine", "order", "env_name", "_series"], ignore_index=True)
    return frame.drop(columns="_series")


def load_machines(bind: Bind) -> pd.DataFrame:
    """:attr:`ResultsSet.machines`: one row per machine, its record's facts, ``files`` and ``commits`` counts."""
    m, r = t.machines.c, t.results.c
    statement = (
        sa.select(m.name, m.facts, sa.func.count(r.id), sa.func.count(sa.distinct(r.commit_id)))
        .join_from(t.machines, t.results, r.machine_id == m.id, isouter=True)
        .group_by(m.id, m.name, m.facts)
        .order_by(m.name)
    )
    with _connected(bind) as connection:
        rows = connection.execute(statement).all()
    if not rows:
        return pd.DataFrame(columns=["machine", "commits"])
    return pd.DataFrame([{**json.loads(facts), "files": files, "commits": count} for _, facts, files, count in rows])


def load_health(bind: Bind) -> pd.DataFrame:
    """Per machine: result ``files``, ``values``, and how many are ``ok``, ``skipped``, ``failed`` and ``invalid``,
    from the counts each file's row keeps (no scan of the values)."""
    m, r = t.machines.c, t.results.c
    statement = (
        sa.select(
            m.name.label("machine"),
            sa.func.count(r.id).label("files"),
            sa.func.coalesce(sa.func.sum(r.value_count), 0).label("values"),
            sa.func.coalesce(sa.func.sum(r.skipped_count), 0).label("skipped"),
            sa.func.coalesce(sa.func.sum(r.failed_count), 0).label("failed"),
            sa.func.coalesce(sa.func.sum(r.invalid_count), 0).label("invalid"),
        )
        .join_from(t.machines, t.results, r.machine_id == m.id, isouter=True)
        .group_by(m.name)
        .order_by(m.name)
    )
    with _connected(bind) as connection:
        result = connection.execute(statement)
        table = pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))
    table.insert(3, "ok", table["values"] - table["skipped"] - table["failed"] - table["invalid"])
    return table.astype({key: "int64" for key in ("files", "values", "ok", "skipped", "failed", "invalid")})


def load_benchmarks(bind: Bind) -> dict[str, dict]:
    """:attr:`ResultsSet.benchmarks`: each benchmark's ``benchmarks.json`` entry, as last published."""
    b = t.benchmarks.c
    with _connected(bind) as connection:
        rows = connection.execute(sa.select(b.name, b.meta).order_by(b.name)).all()
    return {name: json.loads(meta) for name, meta in rows if meta != "{}"}


def load_commits(bind: Bind) -> pd.DataFrame:
    """Every commit with results, oldest first: ``commit_hash``, ``date``, ``order``, ``machines`` (count), and the
    ``subject`` and ``message`` git gave (None where the publisher's git did not know the commit)."""
    r = t.results.c
    with _connected(bind) as connection:
        table = _commit_table(connection)
        counts = dict(
            connection.execute(
                sa.select(r.commit_id, sa.func.count(sa.distinct(r.machine_id))).group_by(r.commit_id)
            ).all()
        )
    table["machines"] = table["id"].map(counts).fillna(0).astype("int64")
    table = table[table["machines"] > 0]
    table["date"] = pd.to_datetime(table["date"], unit="ms", utc=True)
    columns = ["commit_hash", "date", "order", "machines", "subject", "message"]
    return table[columns].reset_index(drop=True)


def load_coverage(bind: Bind) -> dict:
    """The commits with results: how many (``commits``), the ``first`` and ``newest`` one's date (UTC) and the
    ``newest_hash``; without reading every commit (the Overview's line)."""
    c, r = t.commits.c, t.results.c
    with_results = sa.exists().where(r.commit_id == c.id)
    with _connected(bind) as connection:
        count = connection.execute(sa.select(sa.func.count(sa.distinct(r.commit_id)))).scalar_one()
        first = connection.execute(sa.select(c.date).where(with_results).order_by(c.date, c.hash).limit(1)).first()
        newest = connection.execute(
            sa.select(c.date, c.hash).where(with_results).order_by(c.date.desc(), c.hash.desc()).limit(1)
        ).first()
    if not count:
        return {"commits": 0, "first": None, "newest": None, "newest_hash": None}
    return {
        "commits": int(count),
        "first": pd.Timestamp(first.date, unit="ms", tz="UTC"),
        "newest": pd.Timestamp(newest.date, unit="ms", tz="UTC"),
        "newest_hash": newest.hash,
    }


def load_changes(
    bind: Bind,
    *,
    machines: str | Iterable[str] | None = None,
    benchmarks: str | Iterable[str] | None = None,
    kinds: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """The steps stored at publish time, as :func:`bncvl.track.changes.find_changes` returns them (newest first)."""
    st, s = t.steps.c, t.series.c
    before, after = t.commits.alias("before"), t.commits.alias("after")
    statement = (
        sa.select(
            t.machines.c.name.label("machine"),
            t.environments.c.name.label("env_name"),
            t.benchmarks.c.name.label("benchmark"),
            s.params,
            *(s[key] for key in PARAM_COLUMNS),
            t.benchmarks.c.unit,
            st.direction,
            st.kind,
            before.c.hash.label("commit_before"),
            after.c.hash.label("commit_after"),
            after.c.date,
            st.value_before,
            st.value_after,
            st.factor,
            st.evidence,
        )
        .join_from(t.steps, t.machines, t.machines.c.id == st.machine_id)
        .join(t.environments, t.environments.c.id == st.env_id)
        .join(t.series, s.id == st.series_id)
        .join(t.benchmarks, t.benchmarks.c.id == s.benchmark_id)
        .join(before, before.c.id == st.commit_before_id)
        .join(after, after.c.id == st.commit_after_id)
    )
    if machines is not None:
        statement = statement.where(t.machines.c.name.in_(_as_list(machines)))
    if benchmarks is not None:
        statement = statement.where(t.benchmarks.c.name.in_(_as_list(benchmarks)))
    if kinds is not None:
        statement = statement.where(st.kind.in_(_as_list(kinds)))
    with _connected(bind) as connection:
        result = connection.execute(statement)
        # plain tuples: pandas would read a Row's "dtype" column as the row's dtype
        table = pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))
    table["date"] = pd.to_datetime(table["date"].astype("int64"), unit="ms", utc=True)
    return table.sort_values(["date", "factor"], ascending=[False, False], ignore_index=True)


def load_store(bind: Bind, **filters) -> ResultsSet:
    """A :class:`ResultsSet` of the values that ``filters`` (those of :func:`load_points`) select, with every
    machine and benchmark of the store. ``results_dirs`` is empty: the values come from the store."""
    return ResultsSet((), load_points(bind, **filters), load_machines(bind), load_benchmarks(bind), ())


def load_catalogue(bind: Bind) -> pd.DataFrame:
    """Every series of the store, by benchmark name then ``params``: ``benchmark``, ``unit``, ``params`` and the
    layer parameters (None where a benchmark lacks one). What the pages offer to pick from, without any value."""
    s, b = t.series.c, t.benchmarks.c
    statement = sa.select(b.name.label("benchmark"), b.unit, s.params, *(s[key] for key in PARAM_COLUMNS)).join_from(
        t.series, t.benchmarks, b.id == s.benchmark_id
    )
    with _connected(bind) as connection:
        result = connection.execute(statement)
        table = pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))
    return table.sort_values(["benchmark", "params"], ignore_index=True)


def load_broken(bind: Bind) -> pd.DataFrame:
    """Every failed or invalid value's ``machine``, ``benchmark``, ``params``, ``status``, ``commit_hash`` and the
    result file's ``path`` (its key in the store, ``<machine folder>/<file>``). Read through the partial index of
    such values, so it costs what there is to list, not a scan of every value."""
    p, r = t.points.c, t.results.c
    # the literal is the partial index's own condition (schema.BROKEN), so both SQLite and PostgreSQL use it
    broken = p.status >= sa.literal_column(str(t.BROKEN))
    statement = (
        sa.select(
            t.machines.c.name.label("machine"),
            t.benchmarks.c.name.label("benchmark"),
            t.series.c.params,
            p.status,
            t.commits.c.hash.label("commit_hash"),
            r.path,
        )
        .select_from(t.points)
        .join(t.results, r.id == p.result_id)
        .join(t.machines, t.machines.c.id == r.machine_id)
        .join(t.commits, t.commits.c.id == r.commit_id)
        .join(t.series, t.series.c.id == p.series_id)
        .join(t.benchmarks, t.benchmarks.c.id == t.series.c.benchmark_id)
        .where(broken)
    )
    with _connected(bind) as connection:
        rows = [tuple(row) for row in connection.execute(statement)]
    table = pd.DataFrame(rows, columns=["machine", "benchmark", "params", "status", "commit_hash", "path"])
    table["status"] = pd.Categorical.from_codes(table["status"].to_numpy(dtype="int8"), _STATUSES)
    return table.sort_values(["machine", "benchmark", "params", "commit_hash"], ignore_index=True)


def load_problems(bind: Bind) -> list[str]:
    """What the reader warned about when the store's files were published, one line each, naming the file."""
    c = t.problems.c
    with _connected(bind) as connection:
        return [line for (line,) in connection.execute(sa.select(c.line).order_by(c.source, c.id))]


def store_state(bind: Bind) -> tuple:
    """A value that changes whenever a publish changes what the store holds: a cache key for its readers.

    Every publish that writes a file sets its ``published_at``; steps and problem lines are replaced (new ids,
    or fewer rows); the benchmarks' descriptions (a few dozen rows) are compared whole.
    """
    r, st, pr, b = t.results.c, t.steps.c, t.problems.c, t.benchmarks.c
    statement = sa.select(
        sa.select(sa.func.count()).select_from(t.results).scalar_subquery(),
        sa.select(sa.func.max(r.published_at)).scalar_subquery(),
        sa.select(sa.func.max(st.id)).scalar_subquery(),
        sa.select(sa.func.max(pr.id)).scalar_subquery(),
        sa.select(sa.func.count()).select_from(t.problems).scalar_subquery(),
        sa.select(sa.func.max(t.machines.c.published_at)).scalar_subquery(),
    )
    with _connected(bind) as connection:
        counters = tuple(connection.execute(statement).one())
        described = connection.execute(sa.select(b.name, b.unit, b.version, b.meta).order_by(b.name)).all()
    return (*counters, hashlib.sha256(repr([tuple(row) for row in described]).encode()).hexdigest())
