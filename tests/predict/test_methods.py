"""The method registry: every method once, its class, defaults and the README's table."""

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from breedhub.predict import InputError, make_model
from breedhub.predict.methods import (
    BY_NAME,
    METHODS,
    effective_params,
    get_method,
    method_names,
    method_table,
    model_class,
    parameter_help,
    parameter_table,
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


@pytest.mark.parametrize("name", [m.name for m in METHODS])
def test_registry__every_parameter_declared_with_default_meaning_and_range(name):
    if name in ("mlp", "cnn"):
        pytest.importorskip("torch")
    cls = model_class(name)
    keyword = [
        k for k, p in inspect.signature(cls.__init__).parameters.items() if p.kind is p.KEYWORD_ONLY
    ]
    declared = get_method(name).parameters
    assert list(declared) == keyword  # every option, in the class's order
    for key, spec in declared.items():
        assert set(spec) == {"default", "what", "allowed"}
        assert spec["default"] == get_method(name).defaults[key]
        assert len(spec["what"]) > 10 and spec["allowed"]
    # make_model with every default spelled out builds the same model
    assert make_model(name, **dict(get_method(name).defaults)).params == make_model(name).params


def test_parameter_help__one_line_per_option():
    lines = parameter_help("bayesb")
    assert len(lines) == len(get_method("bayesb").parameters)
    assert lines[0].startswith("n_iter=5000: Gibbs iterations")
    assert "pi_prior=[6.0, 6.0]: " in "\n".join(lines)
    assert parameter_help("gblup") == []
    with pytest.raises(InputError, match="unknown method"):
        parameter_help("svm")


def test_parameter_table__lists_every_option_of_every_method():
    rows = parameter_table().splitlines()[2:]
    assert len(rows) == sum(len(m.parameters) for m in METHODS)
    assert "| `rkhs` | `kernels` | `null` |" in parameter_table()


def test_registry__nets_flagged_slow_on_cpu_and_rkhs_candidates():
    assert [m.name for m in METHODS if m.slow_on_cpu] == ["mlp", "cnn"]
    assert get_method("gblup").cost == 1.0
    assert all(m.cost >= 1.0 for m in METHODS)
    assert dict(get_method("rkhs").candidates) == {"default": {}, "one kernel": {"kernels": 1}}
    make_model("rkhs", **get_method("rkhs").candidates["one kernel"])


def test_effective_params__options_then_what_the_fit_chose():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(60, 40))
    y = X[:, 0] + rng.normal(size=60)
    gblup = effective_params(make_model("gblup").fit(X, y, ploidy=2))
    assert gblup == {}
    unfitted = effective_params(make_model("bayesb", n_iter=50, burn_in=10))
    assert unfitted["pi"] is None and unfitted["pi_prior"] == [6.0, 6.0]
    fitted = effective_params(
        make_model("bayesb", n_iter=50, burn_in=10, thin=1).fit(X, y, ploidy=2)
    )
    assert 0 < fitted["pi"] < 1 and fitted["pi_estimated"] is True
    assert (fitted["n_iter"], fitted["burn_in"], fitted["seed"]) == (50, 10, 0)
    rkhs = effective_params(make_model("rkhs", weights="equal").fit(X, y, ploidy=2))
    assert rkhs["kernel_weights"] == [0.333333] * 3 and rkhs["distance_scale"] > 0


def test_make_model__unknown_method_or_option():
    with pytest.raises(InputError, match="unknown method 'blup'; choose from gblup, rrblup"):
        make_model("blup")
    with pytest.raises(InputError, match="rkhs: .*nonsense"):
        make_model("rkhs", nonsense=1)
    assert make_model("rkhs", weights="equal").params["weights"] == "equal"


def test_method_table__rows_are_the_readmes():
    # The README's table lists the same methods, grouped the same, with the same
    # references (its descriptions are copied from method_table() by hand).
    table = method_table()
    assert table.splitlines()[0] == "| method | what | reference |"
    assert "| `bayesb`, `bayescpi`, `bl` |" in table
    readme = README.read_text(encoding="utf-8")
    for row in table.splitlines()[2:]:
        cells = row.split(" | ")
        assert cells[0] + " | " in readme
        assert " | " + cells[-1] in readme


def test_import_predict__imports_neither_torch_nor_the_models():
    code = (
        "import sys, breedhub.predict, breedhub.predict.methods as m; m.method_names(); "
        "bad = [k for k in ('torch', 'breedhub.predict.nn', 'breedhub.predict.bayes') if k in sys.modules]; "
        "sys.exit(', '.join(bad) or None)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
