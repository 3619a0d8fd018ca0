"""The wheel users install: one top-level name, and the data files the code reads."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (path,) = out.glob("breedhub-*.whl")
    return path


@pytest.mark.slow
def test_wheel__only_top_level_name_is_breedhub(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"breedhub"}
    for package in ("germplasm", "genomics", "predict", "pipelines", "web", "base", "cli"):
        assert f"breedhub/{package}/__init__.py" in names


@pytest.mark.slow
def test_wheel__carries_the_data_the_code_reads(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "breedhub/py.typed",
        "breedhub/germplasm/data/species.yaml",
        "breedhub/germplasm/data/traits.yaml",
        "breedhub/germplasm/migrations/env.py",
        "breedhub/pipelines/workflow/Snakefile",
        "breedhub/web/templates/base.html",
    ):
        assert needed in names, needed
    assert any(n.startswith("breedhub/germplasm/migrations/versions/") for n in names)
    assert any(n.startswith("breedhub/pipelines/schemas/") for n in names)
    assert not any(n.startswith(("tests/", "bench/")) or "/tests/" in n for n in names)
