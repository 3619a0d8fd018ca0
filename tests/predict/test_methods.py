"""The method registry: every method once, its class, defaults and the README's table."""

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from breedhub.predict import InputError, make_model
from breedhub.predict.methods import (
    BY_NAME,
    METHODS,
    get_method,
    method_names,
    method_table,
    model_class,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_method_names__each_once_in_order():
    names = method_names()
    assert names == ["gblup", "rrblup", "rkhs", "bayesb", "bayescpi", "bl", "mlp", "cnn"]
    assert len(set(names)) == len(names) == len(METHODS) == len(BY_NAME)


@pytest.mark.parametrize("name", [m.name for m in METHODS])
def test_registry__class_name_and_defaults_match_the_class(name):
    if name in ("mlp", "cnn"):
        pytest.importorskip("torch")
    entry = get_method(name)
    cls = model_class(name)
    assert cls.method == name and entry.target.endswith(f":{cls.__name__}")
    signature = {
        k: p.default
        for k, p in inspect.signature(cls.__init__).parameters.items()
        if p.kind is p.KEYWORD_ONLY
    }
    assert dict(entry.defaults) == signature
    assert entry.label and entry.what and entry.reference


def test_make_model__unknown_method_or_option():
    with pytest.raises(InputError, match="unknown method 'blup'; choose from gblup, rrblup"):
        make_model("blup")
    with pytest.raises(InputError, match="rkhs: .*nonsense"):
        make_model("rkhs", nonsense=1)
    assert make_model("rkhs", weights="equal").params["weights"] == "equal"


def test_method_table__is_the_readme_table():
    table = method_table()
    assert table.splitlines()[0] == "| method | what | reference |"
    assert "| `bayesb`, `bayescpi`, `bl` |" in table
    assert table in README.read_text(encoding="utf-8")


def test_import_predict__imports_neither_torch_nor_the_models():
    code = (
        "import sys, breedhub.predict, breedhub.predict.methods as m; m.method_names(); "
        "bad = [k for k in ('torch', 'breedhub.predict.nn', 'breedhub.predict.bayes') if k in sys.modules]; "
        "sys.exit(', '.join(bad) or None)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
