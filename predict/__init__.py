"""predict: genomic prediction for breeding, arrays in and arrays out, ploidy required.

Relationship matrices (genomic, pedigree, single-step), GBLUP with REML,
Bayesian regressions, RKHS and neural networks behind one interface
(:class:`GenomicModel`: ``fit`` / ``predict``), listed once in
:mod:`predict.methods` (:func:`make_model`) and saved with their provenance by
:mod:`predict.persist`; cross-validation, selection indices and cross
prediction. No database and no files required: usable from a notebook or on a
compute node; files are read by ``genomics`` and ``pipelines``. Importing
``predict`` does not import torch; the neural networks live in :mod:`predict.nn`.
"""

from breedhub.predict.base import (
    GenomicModel,
    check_fixed,
    check_genotypes,
    check_phenotypes,
)
from breedhub.predict.exceptions import ConvergenceError, InputError, ModelFileError, PredictError
from breedhub.predict.methods import METHODS, Method, make_model, method_names, model_class
from breedhub.predict.persist import data_checksum, load_model, save_model

__all__ = [
    "METHODS",
    "ConvergenceError",
    "GenomicModel",
    "InputError",
    "Method",
    "ModelFileError",
    "PredictError",
    "check_fixed",
    "check_genotypes",
    "check_phenotypes",
    "data_checksum",
    "load_model",
    "make_model",
    "method_names",
    "model_class",
    "save_model",
]
