"""Public names imported on first use (PEP 562), as ``lazy_loader.attach`` does for scientific Python packages."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["attach"]


def attach(package: str, modules: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` whose public names live in ``modules``.

    Args:
        package: the package's ``__name__``.
        modules: public name -> the module that defines it.

    Returns:
        ``(__getattr__, __dir__)``: the first imports a name's module on first
        access and keeps the name in the package; an unknown name raises
        ``AttributeError`` listing the public ones.
    """
    names = sorted(modules)

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}; public names: {', '.join(names)}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__
