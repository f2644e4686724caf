"""The examples in ``bncvl``'s docstrings run as written (the doctest of every module but the migrations)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import bncvl

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(bncvl.__path__, "bncvl.")
    if not info.name.startswith("bncvl.store.migrations")  # Alembic's scripts run only under Alembic
)


@pytest.mark.parametrize("name", MODULES)
def test_the_docstring_examples_of_a_module_hold(name: str) -> None:
    module = importlib.import_module(name)
    failed, _attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failed == 0, f"{failed} docstring example(s) of {name} fail; run: python -m pytest --doctest-modules {name}"
