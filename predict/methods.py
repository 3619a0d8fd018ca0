"""The registry of prediction methods: every method listed once, with its class, label, description, parameters and defaults.

The command line's choices and ``--help``, the workflow's config schema and
the README's tables all come from :data:`METHODS`. Each method declares its
parameters once (:class:`Method.parameters`: default, meaning, allowed
values); :func:`parameter_help` and :func:`parameter_table` print them, and
:func:`effective_params` reports what a fitted model actually ran with.
Classes are imported on first use (:func:`model_class`), so naming a method
never imports torch unless a neural network is asked for.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from breedhub.predict.base import GenomicModel
from breedhub.predict.exceptions import InputError


def _p(default: Any, what: str, allowed: str) -> dict[str, Any]:
    return {"default": default, "what": what, "allowed": allowed}


_CHAIN = {
    "n_iter": _p(5000, "Gibbs iterations in all", "integer >= 1"),
    "burn_in": _p(1000, "first iterations discarded", "integer >= 0, below n_iter"),
    "thin": _p(5, "keep every thin-th iteration after the burn-in", "integer >= 1"),
    "seed": _p(0, "seed of the sampler: the same seed gives the same chain", "integer in [0, 2**32)"),
}  # fmt: skip
_R2 = {"r2": _p(0.5, "prior share of the phenotypic variance explained by the markers; sets the "
                "default priors (BGLR's rule)", "number in (0, 1)")}  # fmt: skip
_RESIDUAL = {
    "df_e": _p(5.0, "degrees of freedom of the residual variance's scaled-inverse-chi2 prior", "number > 0"),
    "scale_e": _p(None, "scale of that prior; null: (1 - r2) var(y) (df_e + 2)", "null or number > 0"),
}  # fmt: skip
_SPIKE = {
    "pi": _p(None, "share of markers without effect; null: estimated with a Beta(pi_prior) "
             "prior, as BGLR (the posterior mean is reported)", "null or number in (0, 1)"),
    "pi_prior": _p((6.0, 6.0), "(a, b) of the Beta prior on pi; (6, 6) is BGLR's probIn=0.5, "
                   "counts=10", "two numbers > 0"),
    "df_b": _p(5.0, "degrees of freedom of the marker variances' prior", "number > 0"),
    "scale_b": _p(None, "scale of that prior; null: r2 var(y) / (sum of marker variances (1 - pi)) "
                  "(df_b + 2)", "null or number > 0"),
}  # fmt: skip
_NET = {
    "dropout": _p(0.3, "share of hidden units (channels) dropped in training", "number in [0, 1)"),
    "lr": _p(1e-3, "AdamW learning rate", "number > 0"),
    "weight_decay": _p(1e-2, "AdamW decoupled weight decay (ridge-like shrinkage)", "number >= 0"),
    "batch_size": _p(32, "samples per mini-batch", "integer >= 1"),
    "max_epochs": _p(None, "epochs at most; null: sized to the data (about 30,000 gradient steps, "
                     "20 to 300 epochs)", "null or integer >= 1"),
    "patience": _p(15, "epochs without a better validation loss before training stops",
                   "integer >= 1"),
    "val_fraction": _p(0.1, "share of the samples held out for early stopping (0: none)",
                       "number in [0, 0.5)"),
    "seed": _p(0, "seeds the split, the weights, the batch order and dropout", "integer >= 0"),
    "device": _p("auto", "auto (CUDA when available), cpu, cuda or cuda:N", "string"),
    "dtype": _p("float32", "floating-point type of the net", "float32 or float64"),
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
    parameters
        Every option of the class: name -> ``{"default", "what", "allowed"}``
        (its default, what it means, the values allowed), in the class's order.
    defaults
        Its options and their default values, as the class takes them
        (derived from ``parameters``).
    slow_on_cpu
        True where a fit takes more than about 10 times GBLUP's on a CPU
        (the nets): model choice (``auto``) leaves it out unless a GPU is
        present or it is asked for.
    cost
        Rough time of one fit relative to GBLUP's (1.0) on a CPU, for
        ordering a search by cost (measured on wheat, 540 x 1,279).
    candidates
        Option sets worth comparing in model choice (``{}``: the defaults),
        by name, e.g. RKHS with one kernel and with kernel averaging.
    """

    name: str
    target: str
    label: str
    what: str
    reference: str
    parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    slow_on_cpu: bool = False
    cost: float = 1.0
    candidates: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: {"default": {}})

    def __post_init__(self) -> None:
        params = {k: dict(v) for k, v in self.parameters.items()}
        object.__setattr__(self, "parameters", params)
        defaults = dict(self.defaults) or {k: v["default"] for k, v in params.items()}
        object.__setattr__(self, "defaults", MappingProxyType(defaults))
        object.__setattr__(self, "candidates", MappingProxyType(dict(self.candidates)))


_LINEAR = (
    "VanRaden's G for any ploidy, REML from one eigendecomposition, GEBVs with reliabilities, "
    "marker effects by back-solving"
)
_GIBBS = "Gibbs samplers (numba) with Geweke and ESS diagnostics; π estimated as in BGLR"
_GIBBS_REF = "Meuwissen 2001; Habier 2011; Park & Casella 2008"
_NETS = "PyTorch nets sized to the data, early stopping on a validation split, CPU or GPU"
_RKHS_WHAT = (
    "Gaussian kernels at bandwidths scaled to the data's distances, averaged with one "
    "variance component each (sampled as BGLR), or one kernel"
)

#: Every method, once, in the order the command line and the README show them.
METHODS: tuple[Method, ...] = (
    Method("gblup", "breedhub.predict.gblup:GBLUP", "GBLUP", _LINEAR, "VanRaden 2008; Kang et al. 2008"),
    Method("rrblup", "breedhub.predict.gblup:RRBLUP", "rrBLUP", _LINEAR, "VanRaden 2008; Kang et al. 2008"),
    Method(
        "rkhs", "breedhub.predict.rkhs:RKHS", "RKHS", _RKHS_WHAT,
        "de los Campos et al. 2010",
        {
            "bandwidths": _p((0.2, 1.0, 5.0), "h of each kernel exp(-h D / scale), D the squared "
                             "distances between genotypes", "numbers > 0"),
            "scale": _p("median", "what D is divided by: its median or mean over the training "
                        "pairs (so markers rescaled or recoded give the same kernels)", "median or mean"),
            "weights": _p("bayes", "bayes: a variance component per kernel, sampled as BGLR's "
                          "kernel averaging; reml: kernel weights on a grid by REML; equal: the "
                          "average kernel", "bayes, reml or equal"),
            "kernels": _p(None, "null: average every bandwidth's kernel; 1: the one bandwidth "
                          "whose kernel has the highest REML likelihood", "null or 1..len(bandwidths)"),
            "grid_step": _p(0.25, "step of the REML weight grid (weights=reml)", "1/k for an integer k"),
            "n_iter": _p(3000, "Gibbs iterations (weights=bayes)", "integer >= 2"),
            "burn_in": _p(500, "first iterations discarded (weights=bayes)", "integer, below n_iter"),
            "seed": _p(0, "seed of the sampler (weights=bayes)", "integer >= 0"),
        },
        cost=12.0,
        candidates={"default": {}, "one kernel": {"kernels": 1}},
    ),
    Method(
        "bayesb", "breedhub.predict.bayes:BayesB", "BayesB", _GIBBS, _GIBBS_REF,
        {
            **_CHAIN, "pi": _SPIKE["pi"], "pi_prior": _SPIKE["pi_prior"], **_R2,
            "df_b": _SPIKE["df_b"], "scale_b": _SPIKE["scale_b"],
            "estimate_scale": _p(True, "sample the marker variances' scale (Gamma prior, shape "
                                 "1.1, mode scale_b, as BGLR); false: fixed at scale_b", "true or false"),
            **_RESIDUAL,
        },
        cost=20.0,
    ),
    Method(
        "bayescpi", "breedhub.predict.bayes:BayesCPi", "BayesCπ", _GIBBS, _GIBBS_REF,
        {**_CHAIN, "pi": _SPIKE["pi"], "pi_prior": _SPIKE["pi_prior"], **_R2,
         "df_b": _SPIKE["df_b"], "scale_b": _SPIKE["scale_b"], **_RESIDUAL},
        cost=12.0,
    ),
    Method(
        "bl", "breedhub.predict.bayes:BayesianLasso", "Bayesian Lasso", _GIBBS, _GIBBS_REF,
        {
            **_CHAIN, **_R2,
            "lambda2": _p(None, "start (and prior mode) of lambda^2; null: 2 (sum of marker "
                          "variances) (1 - r2) / r2", "null or number > 0"),
            "lambda_shape": _p(1.1, "shape of the Gamma prior on lambda^2", "number > 0"),
            "lambda_rate": _p(None, "rate of that prior; null: (shape - 1) / lambda2", "null or number > 0"),
            **_RESIDUAL,
        },
        cost=16.0,
    ),
    Method(
        "mlp", "breedhub.predict.nn:MLP", "MLP", _NETS, "Wang et al. 2023 (DNNGP)",
        {
            "hidden": _p(None, "sizes of the hidden layers; null: sized to the data (about n/4 "
                         "units, fewer for many markers, then a quarter of that)", "null or integers >= 1"),
            **_NET,
        },
        slow_on_cpu=True, cost=10.0,
    ),
    Method(
        "cnn", "breedhub.predict.nn:CNN1D", "1-D CNN", _NETS, "Wang et al. 2023 (DNNGP)",
        {
            "channels": _p((16,), "output channels of each convolutional block", "integers >= 1"),
            "kernel_size": _p(3, "width of the convolution windows, in markers", "integer >= 1"),
            "pool": _p(2, "max-pooling width after each block (1: none)", "integer >= 1"),
            "hidden": _p((32,), "sizes of the dense layers after the convolutions", "integers >= 1"),
            **_NET, "dropout": _p(0.2, _NET["dropout"]["what"], "number in [0, 1)"),
            "batch_size": _p(64, "samples per mini-batch", "integer >= 1"),
        },
        slow_on_cpu=True, cost=100.0,
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


def _json(value: Any) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def parameter_help(method: str) -> list[str]:
    """One line per option of a method: ``name=default: meaning [allowed]`` (for ``--help``).

    Examples
    --------
    >>> parameter_help("bayesb")[4]
    'pi=null: share of markers without effect; null: estimated with a Beta(pi_prior) prior, as BGLR (the posterior mean is reported) [null or number in (0, 1)]'
    >>> parameter_help("gblup")
    []
    """
    return [
        f"{k}={_json(v['default'])}: {v['what']} [{v['allowed']}]"
        for k, v in get_method(method).parameters.items()
    ]


def parameter_table() -> str:
    """The README's Markdown table of every method's options, defaults and meaning.

    Examples
    --------
    >>> print(parameter_table().splitlines()[2])
    | `rkhs` | `bandwidths` | `[0.2, 1.0, 5.0]` | h of each kernel exp(-h D / scale), D the squared distances between genotypes (numbers > 0) |
    """
    lines = ["| method | option | default | meaning (allowed) |", "| --- | --- | --- | --- |"]
    for m in METHODS:
        for k, v in m.parameters.items():
            lines.append(
                f"| `{m.name}` | `{k}` | `{_json(v['default'])}` | {v['what']} ({v['allowed']}) |"
            )
    return "\n".join(lines)


def effective_params(model: GenomicModel) -> dict[str, Any]:
    """What a model ran with: its options, then what its fit chose or estimated.

    The options (every one, defaults included) come from ``model.params``;
    a fitted model's ``info_["effective_params"]`` overrides and adds: the
    Gibbs samplers' iterations, burn-in, seed, resolved priors and π (the
    posterior mean when estimated); RKHS's bandwidths kept, kernel weights
    and distance scale; the nets' layer sizes, epochs run and device.
    Tuples become lists (JSON-ready).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 3, size=(40, 30)); y = rng.normal(size=40)
    >>> eff = effective_params(make_model("rkhs", weights="equal").fit(X, y, ploidy=2))
    >>> eff["kernel_weights"], eff["bandwidths"]
    ([0.333333, 0.333333, 0.333333], [0.2, 1.0, 5.0])
    """
    out: dict[str, Any] = dict(model.params)
    out.update(model.info_.get("effective_params", {}))
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


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
