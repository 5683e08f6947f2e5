"""Scoring never reads self-identification: nothing under nlu/, employers/ or screening/
imports fairness.self_id or touches its tables, and importing them all does not load it.

The one thing screening/ knows about self-identification is the offer's text and button
(screening/commands.py SELF_ID_OFFER), which the interview shows after a real application.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGES = ("nlu", "employers", "screening")
FORBIDDEN_MODULES = ("fairness.self_id",)
# The models and table names only fairness.self_id may use.
FORBIDDEN_NAMES = ("SelfIdentification", "SelfIdKey", "self_identifications", "self_id_keys")


def _sources() -> list[Path]:
    files = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
    assert len(files) > 10, "the packages were not found"
    return files


def _imports(tree: ast.AST) -> set[str]:
    """Every module an AST imports, also `from fairness import self_id` and imports inside
    functions, and module names passed to importlib as string literals."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("fairness")
        ):
            found.add(node.value)
    return found


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_scoring_module_imports_self_identification(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imported = _imports(tree)
    for name in FORBIDDEN_MODULES:
        assert not any(m == name or m.startswith(name + ".") for m in imported), (
            f"{path.relative_to(ROOT)} imports {name}"
        )
    identifiers = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    identifiers |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    identifiers |= {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    assert not identifiers & set(FORBIDDEN_NAMES), path.relative_to(ROOT)


def test_the_check_itself_sees_every_import_form() -> None:
    """The AST check above would catch each way of importing the module."""
    for source in (
        "import fairness.self_id",
        "from fairness import self_id",
        "from fairness.self_id import read",
        "def f():\n    from fairness import self_id as x\n",
        "import importlib\nimportlib.import_module('fairness.self_id')",
    ):
        imported = _imports(ast.parse(source))
        assert any(m.startswith("fairness.self_id") for m in imported), source
    assert not any(
        m.startswith("fairness.self_id") for m in _imports(ast.parse("from fairness import impact"))
    )


def test_importing_scoring_and_employer_code_does_not_load_it() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "for pkg in ('nlu', 'employers', 'screening'):\n"
        "    module = importlib.import_module(pkg)\n"
        "    for info in pkgutil.walk_packages(module.__path__, pkg + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('fairness.self_id'))\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LOADED []" in result.stdout, result.stdout[-2000:]


def test_the_offer_is_text_only() -> None:
    """screening/ holds the offer's words and button, nothing that reads answers."""
    from screening.commands import SELF_ID_BUTTON, SELF_ID_OFFER

    assert "optional" in SELF_ID_OFFER and "never used to score you" in SELF_ID_OFFER
    assert SELF_ID_BUTTON == ("Answer 2 optional questions", "/privacy_self_id")
