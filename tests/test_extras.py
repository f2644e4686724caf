"""A missing optional dependency is named with the extra that brings it (bncvl._extras.needs_extra)."""

from __future__ import annotations

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


def test_bncvl_check_without_asv_is_an_error_naming_the_extra_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bncvl.cli import main

    for name in [name for name in sys.modules if name == "asv" or name.startswith(("asv.", "bncvl.track."))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "asv", None)  # import asv raises ImportError, as where it is not installed
    assert main(["check", "HEAD~1", "HEAD"]) == 2
    assert "bncvl check: error: bncvl check needs the bench extra (" in capsys.readouterr().err
