"""The tests mirror the package layout, and every module has a direct test.

tests/unit/<package>/[<subpackage>/] holds the tests of suite/<package>/[<subpackage>/]; the
modules at the root of suite/ (and the `suite` facade) are tested in tests/unit itself. A module
counts as tested when a test file in its own folder imports it by name (`import suite.a.b`,
`from suite.a.b import x`, `from suite.a import b`), anywhere in the file: a module reached only
through a package's re-exports, or only from another package's tests, is not. `__main__.py` and
`__init__.py` files that hold nothing but a docstring need no test. The imports are read with
`ast`; nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "suite"
UNIT = REPO / "tests" / "unit"


def suite_modules(suite: Path = SUITE) -> dict[str, Path]:
    """Dotted name -> file of every module that needs a test."""
    out = {}
    for path in sorted(suite.rglob("*.py")):
        if path.name == "__main__.py" or (path.name == "__init__.py" and _holds_nothing(path)):
            continue
        parts = list(path.relative_to(suite.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _holds_nothing(path: Path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return all((isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
               or (isinstance(n, ast.ImportFrom) and n.module == "__future__") for n in body)


def mirrored_folder(module: str, path: Path, unit: Path = UNIT) -> Path:
    """tests/unit/<the module's package path below suite>."""
    parts = module.split(".")[1:]
    package = parts if path.name == "__init__.py" else parts[:-1]
    return unit.joinpath(*package)


def direct_imports(test_file: Path, known: set[str]) -> set[str]:
    """The suite modules `test_file` imports by name."""
    found = set()
    for node in ast.walk(ast.parse(test_file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                      for a in node.names}
    return found & known


def untested(suite: Path = SUITE, unit: Path = UNIT) -> list[str]:
    modules = suite_modules(suite)
    every = {".".join(p.relative_to(suite.parent).with_suffix("").parts).removesuffix(".__init__")
             for p in suite.rglob("*.py")}  # also the packages that need no test: `from suite.pkg import mod`
    imported: dict[Path, set[str]] = {}
    for test_file in unit.rglob("test_*.py"):
        imported.setdefault(test_file.parent, set()).update(direct_imports(test_file, every))
    return [f"{m} (no test file in {mirrored_folder(m, p, unit).relative_to(unit.parent.parent)} imports it)"
            for m, p in modules.items() if m not in imported.get(mirrored_folder(m, p, unit), set())]


def test_every_module_has_a_direct_test_in_its_mirrored_folder():
    missing = untested()
    assert not missing, "modules without a direct test:\n" + "\n".join("  " + m for m in missing)


def test_the_test_folders_are_the_packages():
    """Each folder under tests/unit is a package of suite/ (no stray folder a module's tests could
    hide in), and no test file name repeats anywhere under tests/: without __init__.py files,
    pytest imports test modules by their base name."""
    packages = {p.relative_to(SUITE) for p in SUITE.rglob("__init__.py")}
    folders = {p.relative_to(UNIT) for p in UNIT.rglob("*") if p.is_dir() and p.name != "__pycache__"}
    stray = sorted(str(f) for f in folders if f / "__init__.py" not in packages)
    assert not stray, f"folders in tests/unit that are no package of suite/: {stray}"
    names = [p.name for p in (REPO / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


def test_the_checker_sees_a_module_tested_only_elsewhere(tmp_path):
    suite, unit = tmp_path / "suite", tmp_path / "tests" / "unit"
    for folder in (suite / "low" / "deep", unit / "low" / "deep", unit / "high"):
        folder.mkdir(parents=True)
    (suite / "__init__.py").write_text('"""the facade, with nothing in it"""\n')
    (suite / "low" / "__init__.py").write_text("from suite.low.a import f\n")
    (suite / "low" / "deep" / "__init__.py").write_text("")
    for name in ("low/a.py", "low/b.py", "low/c.py", "low/deep/d.py", "errors.py", "__main__.py"):
        (suite / name).write_text("def f():\n    pass\n")
    (unit / "low" / "test_a.py").write_text("def test():\n    from suite.low import a, b\n    import suite.low\n")
    (unit / "low" / "deep" / "test_d.py").write_text("import suite.low.deep.d as d\n")
    (unit / "high" / "test_c.py").write_text("from suite.low.c import f\n")  # another package's folder
    (unit / "test_root.py").write_text("from suite.low import f\n")  # through the re-export: not direct
    assert sorted(m.split(" ")[0] for m in untested(suite, unit)) == ["suite.errors", "suite.low.c"]
