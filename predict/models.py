"""The methods the command line and the pipelines know, by name.

Classes are imported on first use, so that naming a method never imports
torch unless a neural network is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from predict.base import GenomicModel
from predict.exceptions import InputError

METHODS: dict[str, str] = {
    "gblup": "predict.gblup:GBLUP",
    "rrblup": "predict.gblup:RRBLUP",
    "rkhs": "predict.rkhs:RKHS",
    "bayesb": "predict.bayes:BayesB",
    "bayescpi": "predict.bayes:BayesCPi",
    "bl": "predict.bayes:BayesianLasso",
    "mlp": "predict.nn:MLP",
    "cnn": "predict.nn:CNN1D",
}


def model_class(method: str) -> type[GenomicModel]:
    """The class of a method name (``gblup``, ``bayesb``, ...).

    Examples
    --------
    >>> model_class("gblup").__name__
    'GBLUP'
    """
    try:
        module, name = METHODS[method].split(":")
    except KeyError:
        raise InputError(f"unknown method {method!r}; choose from {', '.join(METHODS)}") from None
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, GenomicModel)
    return cls


def make_model(method: str, **params: Any) -> GenomicModel:
    """A new, unfitted model of a method with its options."""
    try:
        return model_class(method)(**params)
    except TypeError as exc:
        raise InputError(f"{method}: {exc}") from None
