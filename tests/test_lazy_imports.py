"""The command line and the dashboard never import torch; the package's public names still resolve on first use."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import bncvl

ROOT = Path(__file__).resolve().parent.parent


def modules_after(code: str) -> set[str]:
    """The top-level packages in ``sys.modules`` after running ``code`` in a fresh interpreter at the checkout."""
    script = f"{code}\nimport sys\nprint(' '.join(sorted({{name.split('.')[0] for name in sys.modules}})))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return set(result.stdout.split())


@pytest.mark.parametrize(
    "module",
    [
        "bncvl",
        "bncvl.cli",
        "dashboard.data",
        "dashboard.figures",
        "dashboard.widgets",
        "bncvl.track.results",
        "bncvl.track.changes",
        "bncvl.track.comparisons",
        "bncvl.track.tables",
        "bncvl.analysis.rundir",
        "bncvl.analysis.runtables",
        "bncvl.track.asv",
        "bncvl.testing.results",
        "bncvl.testing.runs",
        "bncvl.commands.dashboard",
    ],
)
def test_importing_the_cli_and_the_dashboard_data_layer_does_not_import_torch(module: str) -> None:
    loaded = modules_after(f"import {module}")
    assert module.split(".")[0] in loaded, "the probe must see what it imported"
    assert "torch" not in loaded


def test_bncvl_help_and_every_subcommand_parser_skip_torch_where_the_command_does_not_need_it() -> None:
    code = (
        "import contextlib, io\n"
        "from bncvl import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    cli.main(['--help'])\n"
        "for name in ('machine', 'dashboard', 'check', 'history', 'pipeline'):\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        cli.main([name, '--help'])\n"
    )
    assert "torch" not in modules_after(code)


def test_every_dashboard_page_runs_without_importing_torch(tmp_path: Path) -> None:
    pytest.importorskip("streamlit", reason="needs the dashboard extra")
    code = (
        "import os\n"
        "from bncvl.testing.results import write_results_set\n"
        "from bncvl.testing.runs import write_run\n"
        f"root = {str(tmp_path)!r}\n"
        "write_results_set(root + '/results', commits=3)\n"
        "write_run(root + '/runs', 'r0')\n"
        "os.environ['BNCVL_RESULTS_DIR'] = root + '/results'\n"
        "os.environ['BNCVL_RUNS_DIR'] = root + '/runs'\n"
        "from streamlit.testing.v1 import AppTest\n"
        "app = AppTest.from_file('dashboard/app.py', default_timeout=120)\n"
        "app.run()\n"
        "for page in ('overview', 'regressions', 'trends', 'devices', 'memory_gpu', 'quantization'):\n"
        "    app.switch_page(f'views/{page}.py').run()\n"
        "    assert not app.exception, (page, [e.value for e in app.exception])\n"
        "    assert app.title[0].value, page\n"
    )
    loaded = modules_after(code)
    assert {"streamlit", "plotly", "asv"} <= loaded
    assert "torch" not in loaded


def test_public_names_resolve_lazily_to_their_modules_objects() -> None:
    for name, module in bncvl._MODULES.items():
        assert getattr(bncvl, name) is getattr(importlib.import_module(module), name)
    assert set(bncvl._MODULES) == set(bncvl.__all__)
    assert dir(bncvl) == sorted(bncvl.__all__)
    namespace: dict[str, object] = {}
    exec("from bncvl import *", namespace)
    assert set(bncvl.__all__) <= set(namespace)


def test_an_unknown_name_raises_attribute_error_listing_the_public_names() -> None:
    expected = r"module 'bncvl' has no attribute 'BNVCL'; public names: BASELINES, BNCVL, "
    with pytest.raises(AttributeError, match=expected):
        _ = bncvl.BNVCL  # type: ignore[attr-defined]
