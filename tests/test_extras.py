"""A missing optional dependency is named with the extra that brings it (bncvl._extras.needs_extra)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bncvl._extras import needs_extra

MESSAGE = r"^bncvl\.x needs the dashboard extra \(no_such_module_bncvl is missing\): pip install 'bncvl\[dashboard\]'$"


def test_a_missing_module_names_the_extra_to_install() -> None:
    with pytest.raises(ImportError, match=MESSAGE), needs_extra("dashboard", "bncvl.x"):
        import no_such_module_bncvl  # noqa: F401


def test_a_command_reports_it_as_a_runtime_error_caused_by_the_import() -> None:
    expected = r"pip install 'bncvl\[analysis\]'$"
    with pytest.raises(RuntimeError, match=expected) as error, needs_extra("analysis", "bncvl analyze", RuntimeError):
        import no_such_module_bncvl  # noqa: F401
    assert isinstance(error.value.__cause__, ImportError)


def test_imports_that_succeed_pass_through() -> None:
    with needs_extra("dashboard", "bncvl.x"):
        import json
    assert json.dumps([]) == "[]"


def test_bncvl_check_without_asv_is_an_error_naming_the_extra_not_a_traceback() -> None:
    # A fresh interpreter, where `import asv` fails as where it is not installed.
    code = "import sys; sys.modules['asv'] = None; from bncvl.cli import main; sys.exit(main(['check', 'HEAD']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("bncvl check: error: bncvl check needs the bench extra ("), result.stderr
    assert "Traceback" not in result.stderr
