"""The layers hold: the import-linter contracts in pyproject.toml pass, would fail on a violation,
and no project import hides inside a function (the usual way to dodge an import cycle)."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT = Path(sys.executable).parent / "lint-imports"
# The app factory and the CLI build the app and its commands on demand; nothing else may defer
# an import of the project's own modules.
DEFERRING_ALLOWED = {"webapp/__init__.py", "webapp/cli.py"}


def function_level_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                names = [inner.module or ""] if isinstance(inner, ast.ImportFrom) else \
                    [alias.name for alias in inner.names] if isinstance(inner, ast.Import) else []
                found += [f"{path.relative_to(ROOT)}:{inner.lineno} {name}" for name in names
                          if name.split(".")[0] in ("webapp", "jobs")]
    return found


def test_no_project_import_inside_a_function():
    paths = [p for p in sorted((ROOT / "webapp").rglob("*.py")) + sorted((ROOT / "jobs").rglob("*.py"))
             if str(p.relative_to(ROOT)) not in DEFERRING_ALLOWED]
    assert [hit for path in paths for hit in function_level_imports(path)] == []


def lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120,
                          env={"PATH": str(LINT.parent), "PYTHONPATH": str(tree)})


@pytest.fixture(scope="module")
def copy_of_tree(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("layers")
    for name in ("webapp", "jobs"):
        shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_contracts_hold():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module,line,contract", [
    ("webapp/dispatch/outbox.py", "from flask import current_app", "takes no Flask"),
    ("webapp/notifications/rules.py", "import sqlalchemy", "Decision modules are pure"),
    ("webapp/channels/circuit.py", "from webapp.views import require", "Layers"),
    ("webapp/orders/models.py", "from webapp.pipeline import ingest", "Layers"),
])
def test_a_violation_breaks_a_contract(copy_of_tree, module, line, contract):
    path = copy_of_tree / module
    original = path.read_text()
    path.write_text(original + f"\n{line}  # noqa\n")
    try:
        result = lint(copy_of_tree)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert contract in result.stdout and "BROKEN" in result.stdout
