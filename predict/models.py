"""The methods the command line and the pipelines know, by name.

Classes are imported on first use, so that naming a method never imports
torch unless a neural network is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from breedhub.predict.base import GenomicModel
from breedhub.predict.exceptions import InputError

METHODS: dict[str, str] = {
    "gblup": "breedhub.predict.gblup:GBLUP",
    "rrblup": "breedhub.predict.gblup:RRBLUP",
    "rkhs": "breedhub.predict.rkhs:RKHS",
    "bayesb": "breedhub.predict.bayes:BayesB",
    "bayescpi": "breedhub.predict.bayes:BayesCPi",
    "bl": "breedhub.predict.bayes:BayesianLasso",
    "mlp": "breedhub.predict.nn:MLP",
    "cnn": "breedhub.predict.nn:CNN1D",
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
