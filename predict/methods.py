"""The registry of prediction methods: every method listed once, with its class, label, description and defaults.

The command line's choices, the workflow's config schema and the README's
table all come from :data:`METHODS`. Classes are imported on first use
(:func:`model_class`), so naming a method never imports torch unless a neural
network is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from breedhub.predict.base import GenomicModel
from breedhub.predict.exceptions import InputError

_BAYES = {"n_iter": 5000, "burn_in": 1000, "thin": 5, "seed": 0, "r2": 0.5, "df_e": 5.0, "scale_e": None}  # fmt: skip
_NET = {
    "lr": 1e-3, "weight_decay": 1e-2, "max_epochs": 300, "patience": 20, "val_fraction": 0.1,
    "seed": 0, "device": "auto", "dtype": "float32",
}  # fmt: skip


@dataclass(frozen=True)
class Method:
    """One prediction method.

    Attributes
    ----------
    name
        What the command line, the workflow config and saved models call it.
    target
        ``module:Class`` of its :class:`GenomicModel`, imported on first use.
    label
        A short human name (``"BayesB"``).
    what
        What it does, one line (the README table's middle column).
    reference
        Where it comes from (the README table's last column).
    defaults
        Its options and their default values, as the class takes them.
    """

    name: str
    target: str
    label: str
    what: str
    reference: str
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))


_LINEAR = (
    "VanRaden's G for any ploidy, REML from one eigendecomposition, GEBVs with reliabilities, "
    "marker effects by back-solving"
)
_GIBBS = "Gibbs samplers (numba) with Geweke and ESS diagnostics"
_GIBBS_REF = "Meuwissen 2001; Habier 2011; Park & Casella 2008"
_NETS = "PyTorch nets with early stopping, CPU or GPU"

#: Every method, once, in the order the command line and the README show them.
METHODS: tuple[Method, ...] = (
    Method("gblup", "breedhub.predict.gblup:GBLUP", "GBLUP", _LINEAR, "VanRaden 2008; Kang et al. 2008"),
    Method("rrblup", "breedhub.predict.gblup:RRBLUP", "rrBLUP", _LINEAR, "VanRaden 2008; Kang et al. 2008"),
    Method(
        "rkhs", "breedhub.predict.rkhs:RKHS", "RKHS",
        "Gaussian kernels at three bandwidths, averaged with REML-chosen weights",
        "de los Campos et al. 2010",
        {"bandwidths": (0.05, 0.25, 1.25), "weights": "reml", "grid_step": 0.25},
    ),
    Method(
        "bayesb", "breedhub.predict.bayes:BayesB", "BayesB", _GIBBS, _GIBBS_REF,
        {**_BAYES, "pi": 0.95, "df_b": 5.0, "scale_b": None},
    ),
    Method(
        "bayescpi", "breedhub.predict.bayes:BayesCPi", "BayesCπ", _GIBBS, _GIBBS_REF,
        {**_BAYES, "pi": 0.5, "pi_prior": (1.0, 1.0), "df_b": 5.0, "scale_b": None},
    ),
    Method(
        "bl", "breedhub.predict.bayes:BayesianLasso", "Bayesian Lasso", _GIBBS, _GIBBS_REF,
        {**_BAYES, "lambda2": None, "lambda_shape": 1.1, "lambda_rate": None},
    ),
    Method(
        "mlp", "breedhub.predict.nn:MLP", "MLP", _NETS, "Wang et al. 2023 (DNNGP)",
        {"hidden": (256, 64), "dropout": 0.3, "batch_size": 32, **_NET},
    ),
    Method(
        "cnn", "breedhub.predict.nn:CNN1D", "1-D CNN", _NETS, "Wang et al. 2023 (DNNGP)",
        {"channels": (16,), "kernel_size": 3, "pool": 2, "hidden": (32,), "dropout": 0.2,
         "batch_size": 64, **_NET},
    ),
)  # fmt: skip

BY_NAME: Mapping[str, Method] = MappingProxyType({m.name: m for m in METHODS})


def method_names() -> list[str]:
    """The methods' names, in registry order (CLI choices, the config schema's enum).

    Examples
    --------
    >>> method_names()
    ['gblup', 'rrblup', 'rkhs', 'bayesb', 'bayescpi', 'bl', 'mlp', 'cnn']
    """
    return [m.name for m in METHODS]


def get_method(method: str) -> Method:
    """The registry entry of a method name.

    Raises
    ------
    InputError
        For an unknown name, listing the known ones.
    """
    try:
        return BY_NAME[method]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown method {method!r}; choose from {', '.join(method_names())}"
        ) from None


def model_class(method: str) -> type[GenomicModel]:
    """The class of a method name, imported now.

    Examples
    --------
    >>> model_class("gblup").__name__
    'GBLUP'
    """
    module, name = get_method(method).target.split(":")
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, GenomicModel)):
        raise TypeError(f"{get_method(method).target} is not a GenomicModel")
    return cls


def make_model(method: str, **params: Any) -> GenomicModel:
    """A new, unfitted model of a method, with its options (the others take their defaults).

    Raises
    ------
    InputError
        For an unknown method or option.
    """
    cls = model_class(method)
    try:
        return cls(**params)
    except TypeError as exc:
        raise InputError(f"{method}: {exc}") from None


def method_table() -> str:
    """The README's Markdown table of methods; methods sharing a description share a row.

    Examples
    --------
    >>> print(method_table().splitlines()[2])
    | `gblup`, `rrblup` | VanRaden's G for any ploidy, REML from one eigendecomposition, GEBVs with reliabilities, marker effects by back-solving | VanRaden 2008; Kang et al. 2008 |
    """
    rows: list[tuple[list[str], str, str]] = []
    for m in METHODS:
        if rows and rows[-1][1:] == (m.what, m.reference):
            rows[-1][0].append(m.name)
        else:
            rows.append(([m.name], m.what, m.reference))
    lines = ["| method | what | reference |", "| --- | --- | --- |"]
    lines += [
        f"| {', '.join(f'`{n}`' for n in names)} | {what} | {ref} |" for names, what, ref in rows
    ]
    return "\n".join(lines)
