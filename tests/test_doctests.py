"""The examples in every public docstring run, as users would paste them.

pytest's ``--doctest-modules`` names a module by its path, which would import
``germplasm/`` as a second top-level ``germplasm`` beside the installed
``breedhub.germplasm``; so the doctests are collected here from the installed
names instead.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = (
    "breedhub",
    "breedhub.base",
    "breedhub.germplasm",
    "breedhub.genomics",
    "breedhub.predict",
    "breedhub.pipelines",
    "breedhub.web",
)


def _modules() -> list[str]:
    names: set[str] = set()
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        names.add(package)
        for info in pkgutil.iter_modules(pkg.__path__, package + "."):
            if not info.ispkg:
                names.add(info.name)
    return sorted(names)


def _with_examples(names: list[str]) -> list[str]:
    finder = doctest.DocTestFinder()
    found = []
    for name in names:
        module = importlib.import_module(name)
        if any(t.examples for t in finder.find(module, name)):
            found.append(name)
    return found


@pytest.mark.parametrize("module_name", _with_examples(_modules()))
def test_docstring_examples(module_name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, module_name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, (
        f"{result.failed} of {result.attempted} examples failed in {module_name}"
    )
