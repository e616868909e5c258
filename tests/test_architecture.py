"""Dependencies point one way: every import under lib/custseg (at the top of a module, inside a
function or under TYPE_CHECKING) against one table of which package may import which.

``MAY_IMPORT`` runs from the bottom to the top, and a package may import only packages above its
own row, so the table itself has no cycles; ``docs/architecture.md`` shows the same table.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import PROJECT

LIB = PROJECT / "lib" / "custseg"
PAGE = PROJECT / "docs" / "architecture.md"

# Package (a top-level module or subpackage of custseg) -> the packages it may import.
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "custseg": (),
    "errors": (),
    "iso8601": (),
    "textnorm": (),
    "columns": (),
    "reference": (),
    "files": (),
    "tables": (),
    "memory": (),
    "jvm_archive": (),
    "config": ("errors", "memory", "tables"),
    "session": ("config", "errors", "jvm_archive", "memory"),
    "delta": ("config", "errors", "session", "tables"),
    "catalog": ("config", "errors", "tables"),
    "quality": ("config",),
    "runtime": ("custseg", "catalog", "config", "delta", "errors", "files", "memory", "quality", "tables"),
    "clean": ("columns", "config", "iso8601", "textnorm"),
    "ingest": ("config", "errors", "files", "iso8601"),
    "features": ("config",),
    "audit": ("config",),
    "ml": ("columns",),
    "resolve": ("clean", "columns", "config", "errors", "reference", "runtime", "tables", "textnorm"),
    "segment": ("columns", "config", "ml", "resolve"),
    "act": ("config", "errors", "features", "files", "memory", "runtime", "tables"),
    "report": ("errors", "runtime", "segment"),
    "governance": ("catalog", "config", "delta", "errors", "resolve", "runtime", "tables"),
    "stream": ("catalog", "config", "delta", "errors", "runtime"),
    "explore": ("catalog", "config", "delta", "errors", "runtime", "segment", "session"),
    "generate": ("columns", "config", "files", "reference", "textnorm"),
    "inventory": ("catalog", "config"),
    "docs": ("config",),
    "summary": ("catalog", "config", "runtime"),
    "jobs": ("act", "audit", "clean", "config", "errors", "features", "files", "generate", "governance", "ingest",
             "memory", "ml", "quality", "report", "resolve", "runtime", "segment", "stream", "tables"),
    "tools": ("catalog", "config", "delta", "errors", "files", "governance", "jobs", "resolve", "runtime", "segment"),
    "bench": ("custseg", "catalog", "config", "errors", "files", "generate", "jobs", "memory", "resolve", "runtime",
              "segment", "session", "stream"),
    "cli": ("bench", "config", "delta", "docs", "errors", "inventory", "jobs", "jvm_archive", "memory", "session",
            "stream", "summary", "tools"),
    "__main__": ("cli",),
}
# Beyond the package rule: the generator is test data, which no stage may depend on.
GENERATE_USERS = ("custseg.generate", "custseg.jobs.generate", "custseg.bench")


def module_names(lib: Path = LIB) -> dict[str, Path]:
    """Dotted name -> file of every module under ``lib``."""
    names = {}
    for path in sorted(lib.rglob("*.py")):
        parts = path.relative_to(lib.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imports(module: str, source: str, is_package: bool, known: set[str]) -> Iterator[tuple[str, int]]:
    """(imported custseg module, line) for every import in ``source``, wherever it stands.

    ``from a import b`` counts as importing ``a.b`` when that is a module. ``__import__`` and
    ``importlib.import_module`` calls count when their module name is a literal.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[:len(package) - node.level + 1], *([base] if base else [])])
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and ast.unparse(node.func) in ("__import__", "importlib.import_module")):
            names = [str(node.args[0].value)]
        else:
            continue
        yield from ((name, node.lineno) for name in names if name.split(".")[0] == "custseg")


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def all_imports(lib: Path = LIB) -> list[tuple[str, str, int]]:
    """(importing module, imported module, line) across ``lib``."""
    names = module_names(lib)
    known = set(names)
    found = []
    for module, path in names.items():
        source = path.read_text(encoding="utf-8")
        found += [(module, target, line) for target, line in imports(module, source, path.name == "__init__.py", known)]
    return found


def violations(found: list[tuple[str, str, int]], may_import: dict[str, tuple[str, ...]]) -> list[str]:
    problems = []
    for module, target, line in found:
        source, imported = package_of(module), package_of(target)
        if source != imported and imported not in may_import.get(source, ()):
            problems.append(f"{module}:{line} imports {target} ({source} may import: "
                            f"{', '.join(may_import.get(source, ())) or 'nothing of custseg'})")
        if imported == "generate" and not _within(module, GENERATE_USERS):
            problems.append(f"{module}:{line} imports {target} (only {', '.join(GENERATE_USERS)} may)")
    return problems


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in packages)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Cycles of the graph ``edges``, each as the path that closes it (at least one if there is any)."""
    found, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                found.append([*path[path.index(nxt):], nxt])
            elif nxt not in done:
                visit(nxt, [*path, nxt])
        done.add(node)

    for start in sorted(edges):
        if start not in done:
            visit(start, [start])
    return found


def package_edges(found: list[tuple[str, str, int]]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, target, _ in found:
        if package_of(module) != package_of(target):
            edges.setdefault(package_of(module), set()).add(package_of(target))
    return edges


def test_every_package_has_a_row_in_the_table() -> None:
    assert {package_of(m) for m in module_names()} == set(MAY_IMPORT)


def test_each_package_may_import_only_packages_below_it() -> None:
    order = list(MAY_IMPORT)
    above = {name: [dep for dep in deps if dep not in order[:order.index(name)]] for name, deps in MAY_IMPORT.items()}
    assert {name: deps for name, deps in above.items() if deps} == {}


def test_every_import_is_allowed_by_the_table() -> None:
    found = all_imports()
    assert len(found) > 500  # the walk reached the whole package
    assert violations(found, MAY_IMPORT) == []


def test_packages_import_each_other_in_no_cycle() -> None:
    assert cycles(package_edges(all_imports())) == []


def test_only_the_generator_its_job_and_the_bench_import_the_generator() -> None:
    importers = {module for module, target, _ in all_imports()
                 if package_of(target) == "generate" and package_of(module) != "generate"}
    assert "custseg.jobs.generate" in importers
    assert [m for m in sorted(importers) if not _within(m, GENERATE_USERS)] == []


def test_imports_inside_functions_and_under_type_checking_count(tmp_path: Path) -> None:
    lib = tmp_path / "custseg"
    for name in ("errors", "config/__init__", "config/loader", "jobs/__init__", "jobs/resolve", "generate/__init__"):
        (lib / f"{name}.py").parent.mkdir(parents=True, exist_ok=True)
        (lib / f"{name}.py").write_text("", encoding="utf-8")
    (lib / "__init__.py").write_text("", encoding="utf-8")
    (lib / "config" / "loader.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from custseg import errors\n"
        "from . import loader\n"
        "if TYPE_CHECKING:\n    from custseg.jobs import resolve\n"
        "def late():\n    import custseg.generate\n"
        "    return __import__('custseg.jobs', fromlist=['x'])\n", encoding="utf-8")
    found = all_imports(lib)
    assert sorted(found) == [
        ("custseg.config.loader", "custseg.config.loader", 3), ("custseg.config.loader", "custseg.errors", 2),
        ("custseg.config.loader", "custseg.generate", 7), ("custseg.config.loader", "custseg.jobs", 8),
        ("custseg.config.loader", "custseg.jobs.resolve", 5),
    ]
    assert violations(found, {"config": ("errors",)}) == [
        "custseg.config.loader:5 imports custseg.jobs.resolve (config may import: errors)",
        "custseg.config.loader:7 imports custseg.generate (config may import: errors)",
        "custseg.config.loader:7 imports custseg.generate (only custseg.generate, custseg.jobs.generate, "
        "custseg.bench may)",
        "custseg.config.loader:8 imports custseg.jobs (config may import: errors)",
    ]
    assert cycles({"config": {"errors", "jobs"}, "jobs": {"config"}, "errors": set()}) == [["config", "jobs", "config"]]


def _page_table() -> dict[str, tuple[str, ...]]:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("\n## Packages\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = tuple(re.findall(r"`([\w]+)`", cells[2]))
    return rows


def test_the_architecture_page_shows_the_same_table() -> None:
    shown = _page_table()
    assert list(shown) == list(MAY_IMPORT)
    assert {name: set(deps) for name, deps in shown.items()} == {name: set(deps) for name, deps in MAY_IMPORT.items()}
