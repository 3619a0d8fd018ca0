"""The habits that keep the house livable (the structure issue), checked on every run.

The package floors themselves are an import-linter contract (``pyproject.toml``,
run by ``scripts/check.sh``); these are the rules it cannot express.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("breedhub", "germplasm", "genomics", "predict", "pipelines", "web")
MAX_LINES = 700


def _modules(*packages: str) -> list[Path]:
    return sorted(
        p
        for pkg in packages
        for p in (ROOT / pkg).rglob("*.py")
        if "migrations" not in p.parts and "__pycache__" not in p.parts
    )


def test_modules__none_over_700_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules(*PACKAGES)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these along their seams (at most {MAX_LINES} lines): {long}"


def test_modules__first_docstring_line_says_what_it_owns() -> None:
    missing = [
        str(p.relative_to(ROOT))
        for p in _modules(*PACKAGES)
        if not (ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) or "").strip()
    ]
    assert not missing, f"modules without a docstring: {missing}"


QUERY_BUILDERS = {"select", "insert", "update", "delete", "func", "text", "and_", "or_"}
SESSION_QUERIES = {"query", "execute", "scalars", "scalar"}


def _query_building(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [
                f"line {node.lineno}: imports sqlalchemy.{a.name}"
                for a in node.names
                if a.name in QUERY_BUILDERS
            ]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_QUERIES
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"s", "session", "sess", "db", "conn", "connection"}
        ):
            found.append(f"line {node.lineno}: {node.func.value.id}.{node.func.attr}(...)")
    return found


@pytest.mark.parametrize("package", ["web", "pipelines"])
def test_germplasm_owns_its_queries__none_built_above_it(package: str) -> None:
    built = {
        str(p.relative_to(ROOT)): found for p in _modules(package) if (found := _query_building(p))
    }
    assert not built, f"ask breedhub.germplasm for these instead: {built}"


def test_predict__no_diploid_default() -> None:
    offenders = []
    for p in _modules("predict", "genomics"):
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if (
                "ploidy or 2" in code
                or "ploidy: int = 2" in code
                or "ploidy=2)" in code.replace(" ", "")
                and "def " in code
            ):
                offenders.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, f"ploidy is required, never a silent 2: {offenders}"
