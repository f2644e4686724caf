"""No import cycle among the project's modules (issue 13), read from the source with ``ast``, nothing imported.

An import counts wherever it stands: at the top of a module or inside a
function (a deferred import still ties the two modules together), but not
under ``if TYPE_CHECKING:``. ``from package import name`` counts as an
import of the package and, where ``name`` is a module, of that module.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bncvl", "dashboard", "benchmarks")


def module_files() -> dict[str, Path]:
    """Every module of :data:`PACKAGES`, by dotted name (a package by its own name)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_names(module: str, path: Path) -> set[str]:
    """The dotted names ``module`` imports (absolute; relative imports resolved), outside ``TYPE_CHECKING`` blocks."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    pending: list[ast.AST] = [ast.parse(path.read_text(), str(path))]
    while pending:
        node = pending.pop()
        if _type_checking(node):
            pending.extend(node.orelse)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        else:
            pending.extend(ast.iter_child_nodes(node))
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports."""
    modules = module_files()
    return {
        module: {name for name in imported_names(module, path) if name in modules and name != module}
        for module, path in modules.items()
    }


def test_the_graph_sees_top_level_and_deferred_imports() -> None:
    graph = import_graph()
    assert "bncvl.track.results" in graph["bncvl.track.changes"]  # at the top
    assert "bncvl.track.verdict" in graph["bncvl.commands.check"]  # inside main()
    assert "bncvl.commands.common_args" in graph["bncvl.commands.analyze"]  # from package import module
    assert "bncvl.layers.reference" not in graph["bncvl"]  # under TYPE_CHECKING only


def test_no_module_imports_itself_through_others() -> None:
    try:
        tuple(TopologicalSorter(import_graph()).static_order())
    except CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")
