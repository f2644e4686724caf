"""The report of ``bncvl check``: a :class:`bncvl.track.verdict.Comparison` as Markdown, fit for a pull request.

The verdict itself (which benchmarks got worse, by which test) is
:mod:`bncvl.track.verdict`'s; this module only renders it. Every string that
comes from outside (commit subjects, benchmark names and parameters,
``--factor-for`` patterns, machine facts) goes through :func:`_text` or
:func:`_code`, so GitHub shows it as literal text: no HTML, link, image,
emphasis, code span or table cell of its own, on one line.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence

from bncvl._extras import needs_extra
from bncvl.track.decision import INSTRUCTION_FACTOR, P_THRESHOLD, RELATIVE_ALPHA, RELATIVE_FACTOR
from bncvl.track.directions import Direction
from bncvl.track.verdict import Change, Comparison, Outcome, Status

with needs_extra("bench", "bncvl check"):
    from asv.util import human_value

__all__ = ["render_markdown"]


def _value(outcome: Outcome, unit: str | None) -> str:
    if outcome.failed:
        return "failed"
    if outcome.skipped:
        return "skipped"
    if not (isinstance(outcome.value, int | float) and math.isfinite(outcome.value)):
        return _text(f"{outcome.value!r:.40}")  # not a measurement (Status.INVALID): shown as recorded
    err = None
    if outcome.stats and "q_25" in outcome.stats and "q_75" in outcome.stats:
        err = (outcome.stats["q_75"] - outcome.stats["q_25"]) / 2
    return human_value(outcome.value, unit or "unit", err=err)


_MARKDOWN_PUNCTUATION = re.compile(r"[\\`*\[\]|~$]|(?<![^\W_])_|_(?![^\W_])")
"""What would start Markdown (code, emphasis, links and images, table cells, strikethrough, math), backslash-escaped
by :func:`_text`; an underscore inside a word starts nothing, and stays as it is (``time_eval_forward``)."""


_REFERENCE = re.compile(r"[@#](?=\w)")
"""An ``@`` or ``#`` before a word character: a mention (``@user``, ``@org/team``) or issue reference (``#12``) on
GitHub, which notifies or links from every pull request the report is posted to."""


def _one_line(value: str) -> str:
    return " ".join(value.splitlines())


def _text(value: str) -> str:
    """``value`` as literal Markdown text, on one line, fit for a table cell: ``&``, ``<`` and ``>`` as entities,
    and a zero-width space after an ``@`` or ``#`` that GitHub would read as a mention or an issue reference.

    Example:
        >>> _text("<b>fix</b> a | b [x](y) @me #1")
        '&lt;b&gt;fix&lt;/b&gt; a \\\\| b \\\\[x\\\\](y) @&#8203;me #&#8203;1'
    """
    escaped = _MARKDOWN_PUNCTUATION.sub(lambda match: "\\" + match.group(), html.escape(_one_line(value), quote=False))
    return _REFERENCE.sub(lambda match: match.group() + "&#8203;", escaped)


def _code(value: str, in_table: bool = True) -> str:
    """``value`` as one inline code span, shown literally: fenced by more backticks than it holds in a row.

    In a table a ``|`` is written ``\\|`` (GitHub splits cells before it reads code spans, and drops the backslash).
    """
    value = _one_line(value)
    fence = "`" * (max((len(run) for run in re.findall("`+", value)), default=0) + 1)
    padded = value.startswith("`") or value.endswith("`") or (value.startswith(" ") and value.endswith(" "))
    pad = " " if padded else ""  # CommonMark strips one space at each end of such a span
    if in_table:
        value = value.replace("|", "\\|")
    return f"{fence}{pad}{value}{pad}{fence}"


def _table(changes: Sequence[Change]) -> list[str]:
    lines = [
        "| Benchmark | Before | After | Ratio | Significance | Factor |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for change in sorted(changes, key=lambda c: -(c.ratio or 0.0)):
        ratio = f"{change.ratio:.3f}" if change.ratio is not None else "n/a"
        if change.direction is Direction.HIGHER_IS_BETTER:
            ratio += " (higher is better)"
        lines.append(
            f"| {_code(change.name)} | {_value(change.before, change.unit)} | {_value(change.after, change.unit)} "
            f"| {ratio} | {_text(change.significance)} | {change.factor:g} |"
        )
    return lines


def _headline(comparison: Comparison) -> str:
    if comparison.newly_failing and comparison.worsened:
        return "❌ regression: benchmarks got significantly worse and some started failing"
    if comparison.newly_failing:
        return "❌ regression: benchmarks started failing"
    if comparison.worsened:
        return "❌ regression: benchmarks got significantly worse"
    if comparison.missing:
        return "⚠️ not measured: no " + " and no ".join(kind.value for kind in comparison.missing) + " at both commits"
    if comparison.with_status(Status.FAILING):
        return "⚠️ not measured: benchmarks failed at both commits"
    if comparison.with_status(Status.UNDECIDED):
        return "⚠️ undecided: relative timings with too few processes"
    if comparison.with_status(Status.INVALID):
        return "⚠️ undecided: benchmarks recorded values that are not measurements"
    if not comparison.changes:
        return "⚠️ nothing measured: no benchmark ran at either commit"
    if comparison.improved:
        return "✅ no regression; some benchmarks improved"
    return "✅ no significant change"


def render_markdown(comparison: Comparison) -> str:
    """The report as Markdown, fit for a pull-request comment."""

    def commit(sha: str, label: str) -> str:
        return _code(sha[:8], in_table=False) + (f" ({_text(label)})" if label else "")

    counts = {status: len(comparison.with_status(status)) for status in Status}
    overrides = ", ".join(
        f"{_code(rule.pattern.pattern, in_table=False)} x{rule.factor:.2f}" for rule in comparison.factor_rules
    )
    lines = [
        f"## bncvl check: {_headline(comparison)}",
        "",
        f"Base {commit(comparison.base, comparison.base_label)} → head "
        f"{commit(comparison.head, comparison.head_label)}, both benchmarked on the same machine, interleaved.",
        f"A benchmark is worse when it changed by more than its factor (default {comparison.factor:.2f}; "
        f"instruction counts {INSTRUCTION_FACTOR:.3f}; relative timings {RELATIVE_FACTOR:.2f}"
        + (f"; overrides {overrides}" if overrides else "")
        + ") in its worse direction and the change is significant: relative timings by a one-sided "
        f"Mann-Whitney U test on per-process values (p < {RELATIVE_ALPHA}), instruction counts and other single values "
        f"by the factor alone, other timings by asv's test (Mann-Whitney U, p < {P_THRESHOLD}).",
        "",
        f"{len(comparison.changes)} benchmarks: "
        + ", ".join(f"{counts[status]} {status.value}" for status in Status if counts[status]),
        "",
    ]
    sections = (
        ("Worsened", comparison.worsened),
        ("Newly failing", comparison.newly_failing),
        ("Failing at both commits", comparison.with_status(Status.FAILING)),
        ("Undecided: too few processes", comparison.with_status(Status.UNDECIDED)),
        ("Invalid values", comparison.with_status(Status.INVALID)),
        ("Improved", comparison.improved),
    )
    for title, changes in sections:
        lines.append(f"### {title} ({len(changes)})")
        lines.append("")
        lines.extend(_table(changes) if changes else ["None."])
        lines.append("")
    compared = [
        c
        for c in comparison.changes
        if c.status not in (Status.SKIPPED, Status.NOT_COMPARABLE, Status.FAILING, Status.UNDECIDED, Status.INVALID)
    ]
    if compared:
        lines += ["<details><summary>Every benchmark compared</summary>", "", *_table(compared), "", "</details>", ""]
    not_comparable = comparison.with_status(Status.NOT_COMPARABLE)
    if not_comparable:
        names = ", ".join(_code(c.name, in_table=False) for c in not_comparable)
        lines.append(f"Not comparable (the benchmark's code changed): {names}")
        lines.append("")
    lines.extend(_machine_section(comparison.machine))
    return "\n".join(lines).rstrip() + "\n"


def _machine_section(machine: Mapping[str, object]) -> list[str]:
    if not machine:
        return ["### Machine", "", "No machine record found.", ""]
    name = _code(str(machine.get("machine", "?")), in_table=False)
    lines = [f"### Machine {name}", "", "| Fact | Value |", "|---|---|"]
    for key, value in machine.items():
        if key in ("machine", "version"):
            continue
        lines.append(f"| {_text(str(key))} | {_text(str(value))} |")
    lines.append("")
    return lines
