"""No import cycles among the suite's modules.

A cycle works until someone reorders two lines, then fails with "cannot import name" from a
partially initialised module, and it forces the lazy imports that hide what depends on what.
The graph is read with `ast` (nothing is imported): an edge for every `import` / `from ...
import` that runs when a module is imported, i.e. at module level (also inside module-level
`if`/`try`/`with` and class bodies), but not inside functions and not under `if TYPE_CHECKING:`.
`from pkg import name` is an edge to the module pkg.name when that is a module, else to pkg.
Importing a.b.c also runs a/__init__ and a/b/__init__ first; those implicit edges are left out
(a package re-exporting its modules would otherwise form a cycle with each of them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[2] / "suite"


def module_names(root: Path = SUITE) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_imports(body: list[ast.stmt]):
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _module_level_imports(node.body)
            yield from _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            yield from _module_level_imports(node.body)
            for handler in node.handlers:
                yield from _module_level_imports(handler.body)
            yield from _module_level_imports(node.orelse)
            yield from _module_level_imports(node.finalbody)
        elif isinstance(node, (ast.With, ast.For, ast.While, ast.ClassDef)):
            yield from _module_level_imports(node.body)
            yield from _module_level_imports(getattr(node, "orelse", []))


def import_graph(root: Path = SUITE, imports=None) -> dict[str, set[str]]:
    imports = imports or _module_level_imports
    modules = module_names(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in imports(tree.body):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    package = name.split(".") if is_package else name.split(".")[:-1]
                    package = package[: len(package) - (node.level - 1)]
                    base = ".".join(package + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                # `import a.b.c` names the module a.b.c; keep the longest prefix that is a suite module
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one (Tarjan, then a path around it)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # recursion depth is bounded by the number of modules
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_in(graph, set(comp)) for comp in components]


def _cycle_in(graph: dict[str, set[str]], comp: set[str]) -> list[str]:
    start = min(comp)
    # breadth-first from start back to start inside the component: the shortest cycle through it
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & comp):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError("a strongly connected component without a cycle")


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles among suite modules (module-level imports):\n" + "\n".join(
        "  " + " -> ".join(c) for c in cycles)


def _all_imports(body: list[ast.stmt]):
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def test_no_cycle_through_the_models_or_the_suite_package_even_lazily():
    """Two loops that function-level imports used to hide: registry -> zoo/sources -> registry,
    and suite/__init__ -> runner -> suite (for __version__). Counting every import, also those
    inside functions, neither may come back."""
    cycles = [c for c in find_cycles(import_graph(imports=_all_imports)) if any(m == "suite" or m.startswith("suite.models") for m in c)]
    assert not cycles, "import cycles (counting imports inside functions):\n" + "\n".join(
        "  " + " -> ".join(c) for c in cycles)


def test_version_matches_the_package_metadata():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from suite import __version__
    from suite.version import __version__ as version

    project = tomllib.loads((SUITE.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert __version__ == version == project["version"]


def test_the_checker_sees_a_cycle(tmp_path):
    pkg = tmp_path / "suite"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from suite.sub.b import thing\n")
    (pkg / "a.py").write_text("import os\nfrom suite.sub import b\n\ndef f():\n    from suite import c\n")
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from suite import a\n"
                                      "try:\n    from .. import c\nexcept ImportError:\n    pass\n")
    (pkg / "c.py").write_text("import suite.a\n")
    graph = import_graph(pkg)
    assert graph["suite.a"] == {"suite.sub.b"}  # the function-level import does not count
    assert graph["suite.sub.b"] == {"suite.c"}  # TYPE_CHECKING does not count; relative imports resolve
    assert graph["suite.sub"] == {"suite.sub.b"}
    assert find_cycles(graph) == [["suite.a", "suite.sub.b", "suite.c", "suite.a"]]
    lazy = import_graph(pkg, imports=_all_imports)
    assert lazy["suite.a"] == {"suite.sub.b", "suite.c"} and lazy["suite.sub.b"] == {"suite.a", "suite.c"}


@pytest.mark.parametrize("module", ["suite.version", "suite.models.entry", "suite.machine.host", "suite.energy.meters"])
def test_leaf_modules_stay_leaves(module):
    """Modules meant to be importable from anywhere import nothing that could lead back."""
    graph = import_graph()
    assert module in graph
    allowed = {"suite.errors"}
    assert graph[module] <= allowed, f"{module} imports {sorted(graph[module] - allowed)}"


# ----------------------------------------------------------------------------- the package order

ARCHITECTURE = SUITE.parent / "docs" / "architecture.md"
ROOT_MODULES = {"errors", "version", "worker", "stats"}  # leaves any package may import
FACADE = {"suite", "suite.__main__"}  # the public API and `python -m suite`: above everything


def package_order() -> list[str]:
    """The order written in docs/architecture.md (the line after "Package order"), lowest first."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("Package order"))
    return [name.strip("` .") for name in line.split(":", 1)[1].split("<")]


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else module


def upward_imports(graph: dict[str, set[str]], order: list[str]) -> list[str]:
    rank = {p: i for i, p in enumerate(order)}
    out = []
    for module, targets in sorted(graph.items()):
        if module in FACADE:
            continue
        mine = package_of(module)
        for target in sorted(targets):
            theirs = package_of(target)
            if mine in ROOT_MODULES:
                if theirs != "errors":
                    out.append(f"{module} -> {target} (a root module imports suite.errors only)")
                continue
            if theirs in ROOT_MODULES or theirs == mine:
                continue
            if target in FACADE or theirs not in rank or mine not in rank:
                out.append(f"{module} -> {target} (not in the package order)")
            elif rank[theirs] > rank[mine]:
                out.append(f"{module} -> {target} ({mine} is below {theirs})")
    return out


def test_every_import_goes_down_the_package_order():
    """Counting every import, inside functions and under TYPE_CHECKING too: a package imports only
    itself, the root leaves and the packages below it in docs/architecture.md's order."""
    order = package_order()
    assert set(order) == {p.name for p in SUITE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    wrong = upward_imports(import_graph(imports=_all_imports), order)
    assert not wrong, "imports that run up the package order:\n" + "\n".join("  " + w for w in wrong)


def test_the_order_checker_sees_an_upward_import(tmp_path):
    pkg = tmp_path / "suite"
    for sub in ("low", "high"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "low" / "a.py").write_text("from suite import errors\n\ndef f():\n    from suite.high import b\n")
    (pkg / "high" / "b.py").write_text("from suite.low import a\n")
    wrong = upward_imports(import_graph(pkg, imports=_all_imports), ["low", "high"])
    assert wrong == ["suite.low.a -> suite.high.b (low is below high)"]


def test_the_report_reads_results_statistics_and_itself_only():
    """The report never measures and needs no backend, meter or plugin installed to draw a file."""
    allowed = {"report", "results", "stats", "errors", "version"}
    graph = import_graph(imports=_all_imports)
    wrong = sorted(f"{m} -> {t}" for m, ts in graph.items() if package_of(m) == "report"
                   for t in ts if package_of(t) not in allowed)
    assert not wrong, wrong


def test_the_library_imports_its_own_modules_at_module_level():
    """Only the CLI (so that `bench --help` stays instant: the whole library is ~0.4 s of imports)
    and the `suite` facade import suite modules inside functions; everywhere else a dependency is
    a module-level import the graph above sees."""
    hidden = []
    for name, path in module_names().items():
        if name in FACADE or package_of(name) == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                hidden += [f"{name}:{sub.lineno}" for sub in ast.walk(node)
                           if isinstance(sub, ast.ImportFrom) and (sub.module or "").startswith("suite")]
    assert not hidden, hidden


def test_the_tree_reads_as_the_flow():
    """Few modules loose at the root, no two files of one name with different jobs, no module so
    long it holds two jobs (issue 20's targets)."""
    modules = sorted(SUITE.rglob("*.py"))
    loose = sorted(p.name for p in SUITE.glob("*.py"))
    assert len(loose) <= 6, loose
    names = [p.name for p in modules if p.name != "__init__.py"]
    assert len(names) == len(set(names)), sorted(n for n in set(names) if names.count(n) > 1)
    long = {str(p.relative_to(SUITE)): n for p in modules if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert not long, long


def test_few_signatures_take_or_return_any():
    """`Any` only where a third-party object is untyped (each such place says so in a comment):
    at most 50 function signatures in suite/ mention it (issue 20; 9 when it was set)."""
    found = []
    for name, path in module_names().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                anns = [x.annotation for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
                        if x is not None and x.annotation is not None] + ([node.returns] if node.returns else [])
                if any("Any" in ast.unparse(t) for t in anns):
                    found.append(f"{name}.{node.name}")
    assert len(found) <= 50, found
